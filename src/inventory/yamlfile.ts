// YAML/JSON reading with Ansible's scalar semantics and positions for every node.
//
// Ansible loads data files with PyYAML (YAML 1.1 resolvers), after trying JSON first. The `yaml`
// package's own 1.1 schema differs in details (it reads `y`, `n` as booleans and `1e3` as a float;
// PyYAML keeps both as strings), so the implicit scalar tags below copy PyYAML's resolver regexes.
// Timestamps stay strings (Ansible would make date objects; its JSON prints a plain date the same).

import fs from 'node:fs';
import {
  Alias,
  Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Node,
  type Scalar,
  type ScalarTag,
  type Tags,
} from 'yaml';
import { InputError, type SourcePos } from '../errors.js';
import { markValue, type ValueMark } from './pyjson.js';

const Y = 'tag:yaml.org,2002:';

const PY_NULL = /^(?:~|null|Null|NULL|)$/;
const PY_BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const PY_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/** Base-60 digits "1:20:30" -> 4830 (YAML 1.1 sexagesimal). */
function sexagesimal(s: string, parse: (x: string) => number): number {
  let value = 0;
  for (const part of s.split(':')) value = value * 60 + parse(part);
  return value;
}

function resolvePyInt(src: string): number {
  let s = src.replace(/_/g, '');
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s.startsWith('0b')) return sign * parseInt(s.slice(2), 2);
  if (s.startsWith('0x')) return sign * parseInt(s.slice(2), 16);
  if (s[0] === '0') return sign * parseInt(s, 8);
  if (s.includes(':')) return sign * sexagesimal(s, (p) => parseInt(p, 10));
  return sign * parseInt(s, 10);
}

function resolvePyFloat(src: string): number {
  let s = src.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '.inf') return sign * Infinity;
  if (s === '.nan') return NaN;
  if (s.includes(':')) return sign * sexagesimal(s, (p) => parseFloat(p));
  return sign * parseFloat(s);
}

const pyTags: ScalarTag[] = [
  { tag: `${Y}null`, default: true, test: PY_NULL, resolve: () => null },
  { tag: `${Y}bool`, default: true, test: PY_BOOL_TRUE, resolve: () => true },
  { tag: `${Y}bool`, default: true, test: PY_BOOL_FALSE, resolve: () => false },
  { tag: `${Y}int`, default: true, test: PY_INT, resolve: resolvePyInt },
  { tag: `${Y}float`, default: true, test: PY_FLOAT, resolve: resolvePyFloat },
  // Ansible's own tags: !unsafe marks a string that must not be templated; we keep it a string.
  { tag: '!unsafe', resolve: (s: string) => s },
  {
    tag: '!vault',
    resolve: (s: string, onError: (msg: string) => void) => {
      onError('Ansible Vault values (!vault) are not supported');
      return s;
    },
  },
];

const REPLACED = new Set([`${Y}null`, `${Y}bool`, `${Y}int`, `${Y}float`, `${Y}timestamp`]);

function ansibleTags(tags: Tags): Tags {
  const kept = tags.filter((t) => typeof t === 'string' || !REPLACED.has(t.tag));
  return [...pyTags, ...kept];
}

/** A parsed data file: its root node plus what is needed to name positions in it. */
export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  /** Parsed as JSON (Ansible tries JSON first): numbers follow JSON, not YAML 1.1. */
  json: boolean;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Parse `text` (the content of `file`); throws InputError naming file:line:col. */
export function parseYamlText(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const json = isJson(text);
  const doc = json
    ? parseDocument(text, { lineCounter: lines, schema: 'json', prettyErrors: false, uniqueKeys: false })
    : parseDocument(text, {
        lineCounter: lines,
        version: '1.1',
        schema: 'yaml-1.1',
        customTags: ansibleTags,
        merge: true,
        prettyErrors: false,
        uniqueKeys: false,
      });
  const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')];
  if (problems.length) {
    const err = problems[0];
    // yaml notices a bad line at the end of the line before it: point at the bad line instead.
    let off = err.pos[0];
    const rest = /^[ \t]*\r?\n[ \t]*/.exec(text.slice(off));
    if (rest && off + rest[0].length < text.length) off += rest[0].length;
    const lp = lines.linePos(off);
    let hint = 'fix the YAML syntax at that place (indentation, a missing ":" or closing bracket/quote)';
    if (/vault/i.test(err.message)) hint = 'put the secret in a 0600 vars file or pass it with -e @file instead';
    else if (err.code === 'TAG_RESOLVE_FAILED') hint = 'remove the tag; only standard YAML tags and !unsafe are understood';
    throw new InputError(err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), { file, line: lp.line, col: lp.col }, hint);
  }
  const dup = duplicateKey(doc);
  if (dup) {
    const first = lines.linePos(dup.first.range![0]);
    const lp = lines.linePos(dup.again.range![0]);
    throw new InputError(
      `duplicate key '${String(dup.again.value)}' (first at line ${first.line})`,
      { file, line: lp.line, col: lp.col },
      'each key may appear once in a mapping: remove or merge the duplicate',
    );
  }
  return { file, doc, lines, json };
}

/** The first scalar key that appears twice in one mapping (checked here to point at the second one). */
function duplicateKey(doc: Document): { first: Scalar; again: Scalar } | undefined {
  let found: { first: Scalar; again: Scalar } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Map<unknown, Scalar>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || isMergeKey(pair.key)) continue;
        const prev = seen.get(pair.key.value);
        if (prev) {
          found = { first: prev, again: pair.key };
          return visit.BREAK;
        }
        seen.set(pair.key.value, pair.key);
      }
      return undefined;
    },
  });
  return found;
}

/** Read and parse a data file; unreadable files become InputErrors too. */
export function readYamlFile(file: string, precheck?: (text: string, file: string) => void): YamlSource {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT' ? `file not found` : `cannot read file (${code ?? String(e)})`,
      { file },
      code === 'ENOENT' ? 'check the path (relative paths start from the current directory)' : undefined,
    );
  }
  precheck?.(text, file);
  return parseYamlText(text, file);
}

/** Position of a node (its first character), 1-based. */
export function posOf(src: YamlSource, node: Node | null | undefined): SourcePos {
  if (!node?.range) return { file: src.file };
  const { line, col } = src.lines.linePos(node.range[0]);
  return { file: src.file, line, col };
}

/** Plain JS value of a node; floats and !unsafe strings inside it are marked (see pyjson.ts). */
export function toValue(src: YamlSource, node: Node | null | undefined): unknown {
  if (node == null) return null;
  const value = node.toJS(src.doc, { maxAliasCount: 1000 });
  markScalars(src, node, value, new Set());
  return value;
}

/** The mark a scalar node's value needs, if any. */
export function scalarMark(src: YamlSource, node: Node | null | undefined): ValueMark | undefined {
  node = deref(src, node);
  if (!node || !isScalar(node)) return undefined;
  if (node.tag === '!unsafe' && typeof node.value === 'string') return 'unsafe';
  return isFloatScalar(src, node) ? 'float' : undefined;
}

/** True when a scalar node is a float in Ansible's eyes (JSON: has . or e; YAML 1.1: PyYAML float). */
export function isFloatScalar(src: YamlSource, node: Node): boolean {
  if (!isScalar(node) || typeof node.value !== 'number') return false;
  if (node.tag === `${Y}float`) return true;
  if (node.tag) return false;
  const text = String(node.source ?? '');
  return src.json ? /[.eE]/.test(text) : PY_FLOAT.test(text);
}

function markScalars(src: YamlSource, node: Node, value: unknown, seen: Set<Node>): void {
  if (isAlias(node)) {
    const target = (node as Alias).resolve(src.doc);
    if (!target || seen.has(target as Node)) return;
    seen.add(target as Node);
    markScalars(src, target as Node, value, seen);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key) || isMergeKey(pair.key)) continue; // merged maps: not marked
      const key = String(pair.key.value);
      const mark = scalarMark(src, pair.value as Node);
      if (mark) markValue(value as object, key, mark);
      else if (pair.value) markScalars(src, pair.value as Node, (value as Record<string, unknown>)[key], seen);
    }
  } else if (isSeq(node) && Array.isArray(value)) {
    node.items.forEach((item, i) => {
      const mark = scalarMark(src, item as Node);
      if (mark) markValue(value, i, mark);
      else markScalars(src, item as Node, value[i], seen);
    });
  }
}

/** The YAML merge key `<<` (its scalar value is a symbol in the yaml package). */
export function isMergeKey(node: unknown): boolean {
  if (!isScalar(node as Node)) return false;
  const v = (node as { value: unknown }).value;
  return v === '<<' || (typeof v === 'symbol' && v.description === '<<');
}

/** "a mapping", "a list", "a string"... for type errors. */
export function describeNode(node: Node | null | undefined): string {
  if (node == null) return 'nothing (null)';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return 'an alias';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing (null)';
    if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
    if (typeof v === 'number') return `a number (${v})`;
    if (typeof v === 'boolean') return `a boolean (${v})`;
  }
  return 'an unexpected value';
}

/** Follow an alias to its target node. */
export function deref(src: YamlSource, node: Node | null | undefined): Node | null | undefined {
  if (node && isAlias(node)) return (node as Alias).resolve(src.doc) as Node | undefined;
  return node;
}
