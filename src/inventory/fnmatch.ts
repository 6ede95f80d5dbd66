// Shell-style globs as Python's fnmatch.translate reads them (what Ansible matches host patterns with):
// `*` any run, `?` one character, `[seq]` / `[!seq]` a character class; case-sensitive, whole name.
// Python turns a lone `[` into a literal; host and group names cannot contain brackets, so here an
// unbalanced bracket is a mistake and throws.

const SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

export class GlobSyntaxError extends Error {}

export function globToRegExp(pattern: string): RegExp {
  let out = '';
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i++];
    if (c === '*') {
      if (!out.endsWith('.*')) out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      let j = i;
      if (j < n && pattern[j] === '!') j++;
      if (j < n && pattern[j] === ']') j++;
      while (j < n && pattern[j] !== ']') j++;
      if (j >= n) throw new GlobSyntaxError(`unbalanced '[' in pattern '${pattern}'`);
      let body = pattern.slice(i, j);
      i = j + 1;
      const negate = body[0] === '!';
      if (negate) body = body.slice(1);
      // Inside a JS class only \ ] ^ (at the start) and - are special; keep '-' for ranges.
      body = body.replace(/[\\\]]/g, '\\$&');
      if (!negate && body[0] === '^') body = '\\' + body;
      out += `[${negate ? '^' : ''}${body}]`;
    } else if (c === ']') {
      throw new GlobSyntaxError(`unbalanced ']' in pattern '${pattern}'`);
    } else {
      out += c.replace(SPECIAL, '\\$&');
    }
  }
  try {
    return new RegExp(`^(?:${out})$`, 's');
  } catch (e) {
    throw new GlobSyntaxError(`invalid character class in pattern '${pattern}': ${(e as Error).message}`);
  }
}
