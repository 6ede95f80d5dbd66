// Where nunjucks and Jinja2 (as Ansible runs it) render the same template differently, we follow
// Jinja2: admins bring templates written for Ansible, and a file rendered by us and by Ansible from
// one template must be byte-identical (else each tool reports the other's file as drift).
// Checked against the real ansible template module by test/unit/template-ansible.test.ts.
//
// The differences handled here:
// - Jinja2 (keep_trailing_newline=False) drops one trailing newline of every template source, an
//   included one too; Ansible then pads the top-level result with newlines up to the count the
//   source ends with. nunjucks keeps the source as it is, so an `{% include %}` adds a newline.
// - trim_blocks and lstrip_blocks apply to `{# comments #}` in Jinja2, to blocks only in nunjucks.
// - Jinja2's indent(width, first, blank) leaves blank lines alone unless blank=true; nunjucks'
//   indent(width, indentfirst) pads them (so a trailing newline becomes a line of spaces).

import nunjucks from 'nunjucks';
import lexer from 'nunjucks/src/lexer.js';

/** One trailing newline removed, as Jinja2's lexer does. */
export function dropTrailingNewline(src: string): string {
  return src.replace(/(\r\n|\r|\n)$/, '');
}

const trailingNewlines = (s: string) => s.length - s.replace(/\n+$/, '').length;

/** Ansible's do_template: the result ends with at least as many newlines as the source did. */
export function padTrailingNewlines(src: string, out: string): string {
  const missing = trailingNewlines(src) - trailingNewlines(out);
  return missing > 0 ? out + '\n'.repeat(missing) : out;
}

/**
 * A FileSystemLoader whose sources (top level and includes) lose one trailing newline. It keeps
 * each source as read, by name, for padTrailingNewlines on the top-level result.
 */
export class JinjaFileLoader extends nunjucks.FileSystemLoader {
  readonly sources = new Map<string, string>();

  override getSource(name: string): nunjucks.LoaderSource {
    const s = super.getSource(name);
    if (s) {
      this.sources.set(name, s.src);
      s.src = dropTrailingNewline(s.src);
    }
    return s;
  }
}

interface Token {
  type: string;
  value: string;
}
interface Tokenizer {
  trimBlocks: boolean;
  lstripBlocks: boolean;
  colno: number;
  tags: { COMMENT_START: string };
  nextToken(): Token | null;
  current(): string;
  forward(): void;
  _matches(s: string): boolean;
}

// nunjucks exports no Tokenizer class; its prototype is reached through a lexer instance. Patched
// once per process, like the runtime hooks in template.ts.
{
  const proto = Object.getPrototypeOf(lexer.lex('', {})) as Tokenizer;
  const next = proto.nextToken;
  proto.nextToken = function (this: Tokenizer): Token | null {
    const tok = next.call(this);
    if (!tok) return tok;
    if (tok.type === lexer.TOKEN_COMMENT && this.trimBlocks) {
      // trim_blocks: the first newline after the comment goes, as after a block tag.
      if (this.current() === '\r') this.forward();
      if (this.current() === '\n') this.forward();
    } else if (tok.type === lexer.TOKEN_DATA && this.lstripBlocks && this._matches(this.tags.COMMENT_START)) {
      // lstrip_blocks: spaces and tabs between the line start and the comment go.
      const col = this.colno;
      if (col > 0 && col <= tok.value.length && /^[ \t]+$/.test(tok.value.slice(-col))) {
        tok.value = tok.value.slice(0, -col);
        if (!tok.value.length) return this.nextToken();
      }
    }
    return tok;
  };
}

interface Keywords {
  __keywords?: boolean;
  width?: unknown;
  first?: unknown;
  indentfirst?: unknown;
  blank?: unknown;
}

/** Jinja2's indent(s, width=4, first=False, blank=False); `indentfirst` is its old name for first. */
export function jinjaIndent(s: unknown, ...args: unknown[]): string {
  const last = args.at(-1) as Keywords | undefined;
  const kw: Keywords = last && typeof last === 'object' && last.__keywords ? (args.pop() as Keywords) : {};
  const width = kw.width ?? args[0] ?? 4;
  const first = Boolean(kw.first ?? kw.indentfirst ?? args[1] ?? false);
  const blank = Boolean(kw.blank ?? args[2] ?? false);
  const pad = typeof width === 'string' ? width : ' '.repeat(Number(width));
  // As Jinja2 does: one newline added, then split into lines (so a final newline survives).
  const lines = `${String(s)}\n`.split(/\r\n|\r|\n/);
  lines.pop();
  let out = blank ? lines.join(`\n${pad}`) : [lines[0], ...lines.slice(1).map((l) => (l ? pad + l : l))].join('\n');
  if (first) out = pad + out;
  return out;
}
