// Play variables with a spec (as the argument_specs of an Ansible role): a value that goes into a
// template rather than into a task param is still checked before any host is touched, with the
// syntax of the program that reads it (nginx's time and size values), naming where it came from.
//
//   vars_spec: vars/spec.yml        # in a play
//   proxy_cache_valid: { type: str, format: nginx_time, description: ... }   # in the file

import path from 'node:path';
import { InputError, type SourcePos } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { readYamlFile } from '../yaml-source.js';
import { keysZoneProblem } from '../nginx-sizes.js';

export interface VarSpec {
  type?: 'str' | 'bool' | 'int' | 'list' | 'dict';
  format?: keyof typeof FORMATS;
  choices?: unknown[];
  description?: string;
  /** An nginx keys zone that must be able to index the cache of this (max_size) variable. */
  keys_zone_for?: string;
  /** A host must not get two different values from two of its groups (it belongs to one). */
  one_group?: boolean;
  /** For a play's partition variable: these are the same on all hosts of a partition and differ (together) between partitions. */
  per_partition?: string[];
  /** For a play's partition variable: each partition has a host whose <variable> is one of each list. */
  partition_needs?: Record<string, unknown[][]>;
  /**
   * For a play's partition variable: <variable> names one host of the partition among those whose
   * vars match `among` (all of them, when two or more match; empty or the host itself when one does).
   */
  partition_pick?: Record<string, { among: Record<string, unknown[]> }>;
  /**
   * For a play's partition variable: at most one host of a partition has <variable> in `values`
   * while the bool variable `if` is true on it, unless the bool variable `unless` is (`why` says why).
   */
  partition_at_most_one?: Record<string, { values: unknown[]; if: string; unless?: string; why: string }>;
  /** The value must not match this (a regular expression) when the variables of `if` have one of their values. */
  must_not_match?: string;
  if?: Record<string, unknown[]>;
  pos: SourcePos;
}

// nginx's own parsers (ngx_parse_time, ngx_parse_size): a number with an optional unit; times may
// chain several ("1h 30m", "1y6M"), a time without a unit is seconds.
const FORMATS = {
  nginx_time: { re: /^\s*(?:\d+(?:ms|[smhdwMy])?\s*)+$/, example: '90d, 12h, 30m, 1h 30m (units ms s m h d w M y)' },
  nginx_size: { re: /^\d+[kKmMgG]?$/, example: '20g, 512m, 2m, 64k (units k m g)' },
} as const;

const KEYS = [
  'type',
  'format',
  'choices',
  'description',
  'keys_zone_for',
  'one_group',
  'per_partition',
  'partition_needs',
  'partition_pick',
  'partition_at_most_one',
  'must_not_match',
  'if',
];
const TYPES = ['str', 'bool', 'int', 'list', 'dict'];

export function loadVarsSpec(file: string): Map<string, VarSpec> {
  const src = readYamlFile(file, 'vars spec');
  const root = src.value;
  if (!root || typeof root !== 'object' || Array.isArray(root))
    throw new InputError('a vars spec is a mapping of variable name: { type, format, choices, description }', src.pos([]));
  const out = new Map<string, VarSpec>();
  for (const [name, raw] of Object.entries(root as Record<string, unknown>)) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`the spec of '${name}' must be a mapping`, src.pos([name]));
    const spec = raw as Record<string, unknown>;
    for (const k of Object.keys(spec))
      if (!KEYS.includes(k))
        throw new InputError(`unknown key '${k}' in the spec of '${name}'`, src.pos([name, k]), didYouMean(k, KEYS) || `keys: ${KEYS.join(', ')}`);
    if (spec.type !== undefined && !TYPES.includes(spec.type as string))
      throw new InputError(`type of '${name}' must be one of ${TYPES.join(', ')}`, src.pos([name, 'type']));
    if (spec.format !== undefined && !Object.hasOwn(FORMATS, spec.format as string))
      throw new InputError(`unknown format '${spec.format}' for '${name}'`, src.pos([name, 'format']), `formats: ${Object.keys(FORMATS).join(', ')}`);
    if (spec.choices !== undefined && !Array.isArray(spec.choices)) throw new InputError(`choices of '${name}' must be a list`, src.pos([name, 'choices']));
    out.set(name, { ...(spec as Omit<VarSpec, 'pos'>), pos: src.pos([name]) });
  }
  return out;
}

export function resolveSpecFile(playFile: string, value: unknown, pos: SourcePos): string {
  if (typeof value !== 'string') throw new InputError('vars_spec takes a file name (relative to the playbook)', pos);
  return path.resolve(path.dirname(playFile), value);
}

function typeProblem(type: VarSpec['type'], v: unknown): string | null {
  switch (type) {
    case 'str':
      return typeof v === 'string' ? null : 'a string';
    case 'bool':
      return typeof v === 'boolean' ? null : 'true or false';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? null : 'a whole number';
    case 'list':
      return Array.isArray(v) ? null : 'a list';
    case 'dict':
      return v && typeof v === 'object' && !Array.isArray(v) ? null : 'a mapping';
    default:
      return null;
  }
}

/** What is wrong with a rendered value, or null. `other` renders another variable of the play. */
export function checkVar(name: string, spec: VarSpec, v: unknown, other: (name: string) => unknown = () => undefined): string | null {
  const want = typeProblem(spec.type, v);
  if (want) return `${name} must be ${want}, got ${JSON.stringify(v)}`;
  if (spec.choices && !spec.choices.some((c) => c === v))
    return `${name} must be one of ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(v)}`;
  if (spec.format) {
    const f = FORMATS[spec.format];
    if (!f.re.test(String(v))) return `${name} is not an nginx ${spec.format === 'nginx_time' ? 'time' : 'size'}: ${JSON.stringify(v)} (e.g. ${f.example})`;
  }
  if (spec.must_not_match && new RegExp(spec.must_not_match).test(String(v))) {
    const cond = Object.entries(spec.if ?? {});
    if (cond.every(([n, values]) => values.includes(other(n))))
      return `${name} ${JSON.stringify(v)} cannot be right here (${cond.map(([n]) => `${n} ${JSON.stringify(other(n))}`).join(', ')})`;
  }
  if (spec.keys_zone_for) {
    const max = other(spec.keys_zone_for);
    if (typeof max === 'string') return keysZoneProblem(String(v), max);
  }
  return null;
}
