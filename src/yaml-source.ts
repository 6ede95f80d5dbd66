// Read a YAML file keeping positions, so every later complaint can say file:line:col.

import fs from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { InputError, type SourcePos } from './errors.js';

export type YamlPath = (string | number)[];

export interface YamlSource {
  file: string;
  value: unknown;
  /** Position of the node at `path` (of its key, for a mapping entry); falls back to the nearest parent. */
  pos(path: YamlPath): SourcePos;
}

export function readYamlFile(file: string, what = 'file'): YamlSource {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read ${what}: ${code === 'ENOENT' ? 'no such file' : String(e)}`, { file });
  }
  return parseYaml(file, text);
}

export function parseYaml(file: string, text: string): YamlSource {
  const lc = new LineCounter();
  // merge: YAML's `<<: *anchor` merge keys, as Ansible's loader reads them (one list of params for two tasks).
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: true });
  const err = doc.errors[0];
  if (err) {
    const p = lc.linePos(err.pos[0]);
    const msg = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new InputError(`YAML syntax error: ${msg}`, { file, line: p.line, col: p.col }, 'fix the YAML syntax at this position (indentation, quotes, colons)');
  }
  const at = (offset: number | undefined): SourcePos => {
    if (offset === undefined) return { file };
    const p = lc.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  return {
    file,
    value: doc.toJS({ maxAliasCount: 100 }),
    pos: (path) => at(locate(doc, path)),
  };
}

function locate(doc: Document, path: YamlPath): number | undefined {
  let node: unknown = doc.contents;
  let best: number | undefined = (node as Node | null)?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(key));
      if (!pair) return best;
      const k = pair.key as Node | null;
      best = k?.range?.[0] ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      best = (node as Node | null)?.range?.[0] ?? best;
    } else {
      return best;
    }
  }
  return best;
}
