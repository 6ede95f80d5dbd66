// Name rules for hosts, groups and variables, and Ansible's host range expansion (`web[01:03]`).

import net from 'node:net';

/** Host aliases: letters, digits, `_`, `.`, `-` (DNS names, IPv4), or a bare IPv6 address. */
const HOST_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Group names: like hosts; nothing that has a meaning in host patterns (`: , ! & ~ [ ] * ? @`). */
const GROUP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Variable names must be usable in templates. */
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isValidHostName(name: string): boolean {
  return HOST_NAME.test(name) || net.isIPv6(name);
}

export function isValidGroupName(name: string): boolean {
  return GROUP_NAME.test(name);
}

export function isValidVarName(name: string): boolean {
  return VAR_NAME.test(name);
}

export const HOST_NAME_HINT = "host names may use letters, digits, '.', '-' and '_' (or be an IPv6 address); put the address to connect to in ansible_host";
export const GROUP_NAME_HINT =
  "group names may use letters, digits, '.', '-' and '_' (characters like ':', ',', '!', '&', '*', '[' mean something in host patterns)";
export const VAR_NAME_HINT = "variable names are letters, digits and '_', not starting with a digit (templates refer to them by name)";

/** A host entry of a YAML inventory: optional `:port`, then ranges. Returns null when it has no valid shape. */
export function splitHostPort(entry: string): { pattern: string; port?: number } {
  if (net.isIPv6(entry)) return { pattern: entry };
  const bracketed = /^\[([0-9A-Fa-f:.%\w]+)\]:(\d+)$/.exec(entry);
  if (bracketed && net.isIPv6(bracketed[1])) return { pattern: bracketed[1], port: Number(bracketed[2]) };
  // A port is ':digits' at the end, outside of any [range].
  const m = /^(.*[^:]):(\d+)$/.exec(entry);
  if (m && !/\[[^\]]*$/.test(m[1])) return { pattern: m[1], port: Number(m[2]) };
  return { pattern: entry };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Expand `[start:end(:step)]` ranges like Ansible: numeric (`[1:3]`, zero-padded `[01:10]`) or
 * alphabetic (`[a:c]`); several ranges multiply. Throws Error(message) on a malformed range.
 */
export function expandHostRange(pattern: string): string[] {
  const open = pattern.indexOf('[');
  if (open < 0) return [pattern];
  const close = pattern.indexOf(']', open);
  if (close < 0) throw new Error(`unbalanced '[' in host range '${pattern}'`);
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = pattern.slice(open + 1, close).split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new Error(`host range must be [begin:end] or [begin:end:step] in '${pattern}'`);
  const [begRaw, end, stepRaw] = bounds;
  const beg = begRaw === '' ? '0' : begRaw;
  if (end === '') throw new Error(`host range must specify an end value in '${pattern}'`);
  const step = stepRaw === undefined ? 1 : Number(stepRaw);
  if (!Number.isInteger(step) || step < 1) throw new Error(`host range step must be a positive integer in '${pattern}'`);
  let seq: string[];
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (beg.length === 1 && end.length === 1 && ib >= 0 && ie >= 0) {
    if (ib > ie) throw new Error(`host range must have begin <= end in '${pattern}'`);
    seq = [];
    for (let i = ib; i <= ie; i += step) seq.push(LETTERS[i]);
  } else {
    if (!/^\d+$/.test(beg) || !/^\d+$/.test(end)) throw new Error(`host range bounds must be numbers or single letters in '${pattern}'`);
    const width = beg.length > 1 && beg[0] === '0' ? beg.length : 0;
    if (width && end.length !== width) throw new Error(`host range must use equal-length begin and end (${beg}:${end}) in '${pattern}'`);
    const b = Number(beg);
    const e = Number(end);
    if (b > e) throw new Error(`host range must have begin <= end in '${pattern}'`);
    if ((e - b) / step > 100000) throw new Error(`host range is too large in '${pattern}'`);
    seq = [];
    for (let i = b; i <= e; i += step) seq.push(width ? String(i).padStart(width, '0') : String(i));
  }
  return seq.flatMap((part) => expandHostRange(head + part + tail));
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The closest candidate within a small edit distance, or undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
