// Just enough of nginx's config syntax to find server blocks (comments, quotes and nesting
// respected) and to keep a marked, managed block inside one without touching any other line.

export interface ServerBlock {
  /** Offset of the `{` and of the matching `}`. */
  open: number;
  close: number;
  serverNames: string[];
  listens: string[][];
}

interface Directive {
  words: string[];
  depth: number;
}

/** Every `server { ... }` block (not the `server x;` lines of an upstream), in file order. */
export function findServerBlocks(text: string): ServerBlock[] {
  const out: ServerBlock[] = [];
  const stack: { name: string; block?: ServerBlock }[] = [];
  let words: string[] = [];
  let word = '';
  const flush = () => {
    if (word) words.push(word);
    word = '';
  };
  const directive = (d: Directive) => {
    const top = stack[stack.length - 1];
    if (!top?.block || d.depth !== stack.length) return;
    if (d.words[0] === 'server_name') top.block.serverNames.push(...d.words.slice(1));
    if (d.words[0] === 'listen') top.block.listens.push(d.words.slice(1));
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '#' && word === '') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === '\\' ? 2 : 1;
      word += text.slice(i + 1, j);
      i = j;
      continue;
    }
    if (/\s/.test(ch)) {
      flush();
      continue;
    }
    if (ch === ';') {
      flush();
      directive({ words, depth: stack.length });
      words = [];
      continue;
    }
    if (ch === '{') {
      flush();
      const name = words[0] ?? '';
      const parent = stack[stack.length - 1]?.name;
      const isServer = name === 'server' && words.length === 1 && (parent === undefined || parent === 'http');
      const block = isServer ? { open: i, close: -1, serverNames: [], listens: [] } : undefined;
      stack.push({ name, block });
      words = [];
      continue;
    }
    if (ch === '}') {
      flush();
      const top = stack.pop();
      if (top?.block) {
        top.block.close = i;
        out.push(top.block);
      }
      words = [];
      continue;
    }
    word += ch;
  }
  return out.sort((a, b) => a.open - b.open);
}

export const beginMarker = (id: string) => `# BEGIN mskplay ${id} (managed block: edits inside are replaced)`;
export const endMarker = (id: string) => `# END mskplay ${id}`;

export type BlockResult = { text: string } | { error: string };

function indentBlock(block: string, indent: string): string {
  return block
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => (l.trim() ? indent + l : ''))
    .join('\n');
}

/** Insert or replace the managed block `id` inside the server block for `serverName`. */
export function upsertServerBlock(text: string, id: string, serverName: string, block: string): BlockResult {
  const lines = text.split('\n');
  const b = lines.findIndex((l) => l.trim().startsWith(`# BEGIN mskplay ${id} `) || l.trim() === `# BEGIN mskplay ${id}`);
  if (b >= 0) {
    const e = lines.findIndex((l, i) => i > b && l.trim() === endMarker(id));
    if (e < 0) return { error: `found '${lines[b].trim()}' but no '${endMarker(id)}' line: fix the file by hand` };
    const indent = /^\s*/.exec(lines[b])![0];
    const body = [indent + beginMarker(id), indentBlock(block, indent), indent + endMarker(id)];
    return { text: [...lines.slice(0, b), ...body, ...lines.slice(e + 1)].join('\n') };
  }
  const servers = findServerBlocks(text).filter((s) => s.serverNames.includes(serverName));
  if (servers.length === 0) {
    const names = findServerBlocks(text).flatMap((s) => s.serverNames);
    return { error: `no server block with server_name ${serverName} (found: ${names.join(', ') || 'none'})` };
  }
  const tls = servers.filter((s) => s.listens.some((l) => l.includes('ssl') || l.some((w) => /(^|:)443$/.test(w))));
  const target = (tls.length ? tls : servers)[0];
  const lineStart = text.lastIndexOf('\n', target.close - 1) + 1;
  const before = text.slice(lineStart, target.close);
  const braceOwnLine = before.trim() === '';
  const indent = (braceOwnLine ? before : /^\s*/.exec(text.slice(lineStart))![0]) + '    ';
  const inserted = `${indent}${beginMarker(id)}\n${indentBlock(block, indent)}\n${indent}${endMarker(id)}\n`;
  return braceOwnLine
    ? { text: text.slice(0, lineStart) + inserted + text.slice(lineStart) }
    : { text: text.slice(0, target.close) + '\n' + inserted + text.slice(target.close) };
}

export function hasManagedBlock(text: string, id: string): boolean {
  return text.split('\n').some((l) => l.trim().startsWith(`# BEGIN mskplay ${id}`));
}

/** The first-line mark of the layout A vhost (templates/nginx/s3-subdomain.conf.j2): how the layout guard knows it. */
export const LAYOUT_A_MARK = '# Managed by mskplay: caching proxy ';

/** Layout C's managed block id (the Misskey vhost's `location /files/`). */
export const FILES_BLOCK_ID = 's3-files';

/**
 * `location` lines for /files (any modifier: prefix, =, ^~, ~ or ~* with a pattern that starts
 * with /files) outside mskplay's managed blocks: the admin's own, which layout C must not shadow.
 * Returns 1-based line numbers with the line's text.
 */
export function handWrittenFilesLocations(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let inManaged = false;
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (l.startsWith('# BEGIN mskplay ')) inManaged = true;
    else if (l.startsWith('# END mskplay ')) inManaged = false;
    else if (!inManaged && /^location\s+(?:(?:=|\^~|~\*?)\s*)?["']?\^?\\?\/files(?:$|[/\s{"'$\\])/.test(l.replace(/#.*$/, '')))
      out.push({ line: i + 1, text: l });
  });
  return out;
}
