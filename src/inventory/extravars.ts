// Extra vars (-e / --extra-vars), read like Ansible's load_extra_vars:
//   -e 'k=v k2="a b"'   key=value pairs separated by spaces; values are strings; quotes group words
//                       and are removed; backslash escapes (\n, \t, \", \\, \uXXXX) are decoded
//   -e '{"k": 1}'       a JSON or YAML flow mapping (starts with { or [)
//   -e @vars.yml        a YAML/JSON file (path relative to cwd); errors name that file and line
// Several -e are merged in order; the last definition of a variable wins.

import fs from 'node:fs';
import path from 'node:path';
import { InputError, type SourcePos } from '../errors.js';
import { isValidVarName, VAR_NAME_HINT } from './names.js';
import type { VarLayer } from './types.js';
import { readVarsMapping, setVar } from './varlayer.js';
import { parseYamlText, type YamlSource } from './yamlfile.js';

interface Token {
  text: string;
  start: number;
}

/** Split on spaces/newlines, keeping quoted strings and {{ }}, {% %}, {# #} blocks together. */
export function splitKvArgs(s: string, pos: SourcePos): Token[] {
  const tokens: Token[] = [];
  let cur = '';
  let start = -1;
  let quote: string | null = null;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const two = s.slice(i, i + 2);
    if (quote) {
      if (c === quote && s[i - 1] !== '\\') quote = null;
    } else if ((c === '"' || c === "'") && s[i - 1] !== '\\') {
      quote = c;
    } else if (two === '{{' || two === '{%' || two === '{#') {
      depth++;
      cur += two;
      i++;
      continue;
    } else if (depth > 0 && (two === '}}' || two === '%}' || two === '#}')) {
      depth--;
      cur += two;
      i++;
      continue;
    } else if (depth === 0 && (c === ' ' || c === '\n')) {
      if (start >= 0) tokens.push({ text: cur, start });
      cur = '';
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    cur += c;
  }
  if (quote || depth)
    throw new InputError(
      `unbalanced ${quote ? `quote (${quote})` : 'template block'} in extra vars: ${s}`,
      pos,
      `quote the whole -e value for the shell, e.g. -e 'name="two words"'`,
    );
  if (start >= 0) tokens.push({ text: cur, start });
  return tokens;
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Python's unicode-escape decoding of \\U........, \\uXXXX, \\xXX and single-character escapes. */
export function decodeEscapes(s: string): string {
  return s.replace(/\\(U[0-9a-fA-F]{8}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\\'"abfnrtv])/g, (_, e: string) => {
    if (e.length === 1) return SIMPLE_ESCAPES[e];
    const cp = parseInt(e.slice(1), 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : `\\${e}`;
  });
}

function unquote(v: string): string {
  const q = v[0];
  return v.length > 1 && (q === '"' || q === "'") && v[v.length - 1] === q && v[v.length - 2] !== '\\' ? v.slice(1, -1) : v;
}

/** Parse one `k=v k2=v2` argument into the layer. */
function parseKv(arg: string, label: string, layer: VarLayer): void {
  const argPos = { file: label };
  for (const tok of splitKvArgs(arg, argPos)) {
    const pos = { file: label, line: 1, col: tok.start + 1 };
    const x = decodeEscapes(tok.text);
    let eq = -1;
    for (let i = 1; i < x.length; i++)
      if (x[i] === '=' && x[i - 1] !== '\\') {
        eq = i;
        break;
      }
    if (eq < 0) throw new InputError(`extra var '${tok.text}' is not key=value`, pos, `write -e 'name=value', -e '{"name": value}' or -e @file.yml`);
    const name = x.slice(0, eq).trim();
    const value = unquote(x.slice(eq + 1).trim());
    if (!isValidVarName(name)) throw new InputError(`invalid variable name '${name}' in extra vars`, pos, VAR_NAME_HINT);
    setVar(layer, name, { value, pos });
  }
}

function parseData(src: YamlSource, what: string, layer: VarLayer): void {
  const root = src.doc.contents;
  if (root == null) throw new InputError(`${what} is empty`, { file: src.file }, 'extra vars must be a mapping of variable names to values');
  readVarsMapping(src, root, layer, what);
}

/**
 * Parse the values of all -e flags (in order) into one layer. `cwd` resolves `@file` paths.
 * Throws InputError naming the argument (`-e #2`) or the file, with line and column.
 */
export function parseExtraVars(args: string[], cwd: string): VarLayer {
  const layer: VarLayer = new Map();
  args.forEach((raw, i) => {
    const label = `-e #${i + 1}`;
    const arg = raw.trim();
    if (!arg) return;
    if (arg.startsWith('@')) {
      const name = arg.slice(1);
      let text: string;
      try {
        text = fs.readFileSync(path.resolve(cwd, name), 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new InputError(`cannot read extra vars file (${code})`, { file: name }, code === 'ENOENT' ? `the path is relative to ${cwd}` : undefined);
      }
      parseData(parseYamlText(text, name), `extra vars file ${name}`, layer);
    } else if (arg[0] === '/' || arg[0] === '.') {
      throw new InputError(`extra vars '${arg}' look like a file name`, { file: label }, `prepend the file name with '@': -e @${arg}`);
    } else if (arg[0] === '{' || arg[0] === '[') {
      parseData(parseYamlText(raw, label), `extra vars ${label}`, layer);
    } else {
      parseKv(raw, label, layer);
    }
  });
  return layer;
}
