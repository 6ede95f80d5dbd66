// Host patterns and --limit, with Ansible's syntax and evaluation (inventory/manager.py):
//   all, *                  every host
//   web1, webservers        a host or a group (a group means all hosts in it and its children)
//   a:b  a,b                union          a:!b  exclusion          a:&b  intersection
//   *.example.com, web?, web[12]     globs (fnmatch: [..] is a character class)
//   ~(web|db)\d+            a regex, matched from the start of the name (Python re.match)
//   g[0]  g[-1]  g[1:3]  g[2:]        a subscript of the group's hosts; the end index is included
// Parts are evaluated in Ansible's order whatever their position: the plain ones (union) first,
// then the &, then the !; with only & and ! parts, `all` is the start. Host order is Ansible's
// "inventory order": the order in which the plain parts produce hosts (a group's own hosts, then its
// children's, breadth first), without duplicates.
//
// Deliberate differences from Ansible (which only warns): a part that matches no group and no host is
// an InputError (a typo in `!prod` must not widen a run), so is a subscript like [1-2] (Ansible's
// removed [x-y] form), a reversed slice [2:1], and an unbalanced bracket. ',' and ':' may be mixed.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { InputError, type SourcePos } from '../errors.js';
import { globToRegExp } from './fnmatch.js';
import type { Inventory } from './types.js';

export interface SelectOptions {
  /** The --limit value: a pattern; `@file` parts read one pattern per line (a .retry file). */
  limit?: string;
  /** Directory that `@file` paths are relative to (default: process.cwd()). */
  cwd?: string;
  /** Where the pattern was written (e.g. the play's `hosts:` line), for error messages. */
  pos?: SourcePos;
}

interface Atom {
  text: string;
  pos: SourcePos;
}

/** Split a pattern into parts on ',' and ':' (not inside [..], not inside a regex's (..), not in IPv6 addresses). */
export function splitHostPattern(pattern: string, pos: SourcePos = { file: 'host pattern' }): string[] {
  const parts: string[] = [];
  for (const piece of pattern.split(',')) {
    const bare = piece.trim().replace(/^[!&]/, '');
    if (net.isIPv6(bare)) {
      parts.push(piece.trim());
      continue;
    }
    let cur = '';
    let brackets = 0;
    let parens = 0;
    const flush = () => {
      if (brackets > 0) throw new InputError(`unbalanced '[' in host pattern '${pattern}'`, pos, 'close the subscript or character class with ]');
      if (cur.trim()) parts.push(cur.trim());
      cur = '';
      parens = 0;
    };
    for (let i = 0; i < piece.length; i++) {
      const c = piece[i];
      const regex = /^\s*[!&]?~/.test(cur);
      if (regex && c === '\\' && i + 1 < piece.length) {
        cur += c + piece[++i];
        continue;
      }
      if (c === '[') brackets++;
      else if (c === ']') {
        if (brackets === 0) throw new InputError(`unbalanced ']' in host pattern '${pattern}'`, pos, 'remove the ] or add the [ it closes');
        brackets--;
      } else if (regex && c === '(') parens++;
      else if (regex && c === ')') parens = Math.max(0, parens - 1);
      else if (c === ':' && brackets === 0 && parens === 0) {
        flush();
        continue;
      }
      cur += c;
    }
    flush();
  }
  return parts;
}

/** Ansible's order patterns: plain parts, then &parts, then !parts; `all` when there is no plain part. */
function orderAtoms(atoms: Atom[]): Atom[] {
  const plain = atoms.filter((a) => a.text[0] !== '&' && a.text[0] !== '!');
  const and = atoms.filter((a) => a.text[0] === '&');
  const not = atoms.filter((a) => a.text[0] === '!');
  return [...(plain.length ? plain : [{ text: 'all', pos: atoms[0]?.pos ?? { file: 'host pattern' } }]), ...and, ...not];
}

/** Hosts of a group the way Ansible's Group.get_hosts orders them: own hosts, then children breadth first. */
export function groupHosts(inv: Inventory, name: string): string[] {
  const order = [name];
  const seen = new Set(order);
  for (let i = 0; i < order.length; i++) {
    for (const c of inv.groups.get(order[i])!.children) {
      if (!seen.has(c)) {
        seen.add(c);
        order.push(c);
      }
    }
  }
  const hosts = new Set<string>();
  for (const g of order) for (const h of inv.groups.get(g)!.hosts) hosts.add(h);
  return [...hosts];
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/;

function knownHint(inv: Inventory): string {
  const groups = [...inv.groups.keys()].sort();
  const hosts = [...inv.hosts.keys()];
  const shown = hosts.slice(0, 15).join(', ') + (hosts.length > 15 ? `, … (${hosts.length} hosts)` : '');
  return `known groups: ${groups.join(', ')}; hosts: ${shown}`;
}

function compileMatcher(expr: string, pos: SourcePos): RegExp {
  try {
    if (expr[0] === '~') {
      // Python syntax for named groups, anchored at the start like re.match.
      const src = expr
        .slice(1)
        .replace(/\(\?P</g, '(?<')
        .replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
      return new RegExp(`^(?:${src})`);
    }
    return globToRegExp(expr);
  } catch (e) {
    throw new InputError(`invalid host list pattern '${expr}': ${(e as Error).message}`, pos, 'check the brackets and, after ~, the regular expression syntax');
  }
}

/** Hosts matched by one part (without its & or ! prefix), like Ansible's _match_one_pattern. */
function matchOne(inv: Inventory, atom: Atom): string[] {
  const pattern = atom.text.replace(/^[!&]/, '');
  if (!pattern) throw new InputError(`empty host pattern after '${atom.text}'`, atom.pos, 'write a host or group name after ! or &');
  let expr = pattern;
  let sub: { index: number } | { start: number; end?: number } | undefined;
  if (pattern[0] !== '~') {
    const m = SUBSCRIPT.exec(pattern);
    if (m) {
      expr = m[1];
      if (m[2] !== undefined) sub = { index: Number(m[2]) };
      else if (m[4] === '-')
        throw new InputError(`subscript '${pattern}' uses the removed [x-y] form`, atom.pos, `use an inclusive [x:y] subscript: ${expr}[${m[3]}:${m[5]}]`);
      else sub = { start: Number(m[3]), end: m[5] === '' ? undefined : Number(m[5]) };
    }
  }
  const re = compileMatcher(expr, atom.pos);
  const groups = [...inv.groups.keys()].filter((g) => re.test(g));
  const found = new Set<string>();
  for (const g of groups) for (const h of groupHosts(inv, g)) found.add(h);
  if (groups.length === 0 || expr[0] === '~' || /[.?*[]/.test(expr)) for (const h of inv.hosts.keys()) if (re.test(h)) found.add(h);
  if (found.size === 0 && groups.length === 0) throw new InputError(`could not match supplied host pattern '${pattern}'`, atom.pos, knownHint(inv));
  const hosts = [...found];
  if (!sub || hosts.length === 0) return hosts;
  if ('index' in sub) {
    const i = sub.index < 0 ? hosts.length + sub.index : sub.index;
    if (i < 0 || i >= hosts.length)
      throw new InputError(
        `no hosts matched the subscripted pattern '${pattern}'`,
        atom.pos,
        `'${expr}' has ${hosts.length} host(s): use an index from 0 to ${hosts.length - 1} (or -1 for the last)`,
      );
    return [hosts[i]];
  }
  const end = sub.end ?? hosts.length - 1;
  if (end < sub.start) throw new InputError(`slice '${pattern}' ends before it starts`, atom.pos, 'write [start:end] with start <= end (both included)');
  return hosts.slice(sub.start, end + 1);
}

function evaluate(inv: Inventory, atoms: Atom[]): string[] {
  let hosts: string[] = [];
  for (const atom of orderAtoms(atoms)) {
    const p = atom.text;
    if (inv.hosts.has(p)) {
      if (!hosts.includes(p)) hosts.push(p);
      continue;
    }
    const that = matchOne(inv, atom);
    if (p[0] === '!') {
      const drop = new Set(that);
      hosts = hosts.filter((h) => !drop.has(h));
    } else if (p[0] === '&') {
      const keep = new Set(that);
      hosts = hosts.filter((h) => keep.has(h));
    } else {
      const have = new Set(hosts);
      hosts.push(...that.filter((h) => !have.has(h)));
    }
  }
  return hosts;
}

function limitAtoms(limit: string, cwd: string): Atom[] {
  const pos = { file: '--limit' };
  const atoms: Atom[] = [];
  for (const part of splitHostPattern(limit, pos)) {
    if (part[0] !== '@') {
      atoms.push({ text: part, pos });
      continue;
    }
    const file = part.slice(1);
    let text: string;
    try {
      if (fs.statSync(path.resolve(cwd, file)).isDirectory())
        throw new InputError(`limit starting with '@' must be a file, not a directory`, { file }, 'give a file with one host or pattern per line');
      text = fs.readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`unable to read limit file (${(e as NodeJS.ErrnoException).code})`, { file }, `the path is relative to ${cwd}`);
    }
    text.split('\n').forEach((line, i) => {
      const linePos = { file, line: i + 1, col: 1 };
      for (const p of splitHostPattern(line.trim(), linePos)) atoms.push({ text: p, pos: linePos });
    });
  }
  return atoms;
}

/**
 * Hosts selected by `pattern` (and --limit), in Ansible's order. Throws InputError on bad syntax or a
 * part that matches nothing. An empty result (e.g. `web:&db` with no overlap) is returned as [].
 */
export function selectHosts(inv: Inventory, pattern: string, opts: SelectOptions = {}): string[] {
  const pos = opts.pos ?? { file: 'host pattern' };
  const parts = splitHostPattern(pattern, pos);
  if (parts.length === 0) throw new InputError('empty host pattern', pos, "use 'all' for every host");
  for (const p of parts) if (p.startsWith('@')) throw new InputError(`'${p}': @file is only read by --limit`, pos, `use --limit ${p}`);
  let hosts = evaluate(
    inv,
    parts.map((text) => ({ text, pos })),
  );
  if (opts.limit !== undefined) {
    const atoms = limitAtoms(opts.limit, opts.cwd ?? process.cwd());
    if (atoms.length === 0) throw new InputError('--limit is empty', { file: '--limit' }, 'give a pattern, e.g. --limit web1 or --limit @site.retry');
    const allowed = new Set(evaluate(inv, atoms));
    hosts = hosts.filter((h) => allowed.has(h));
  }
  return hosts;
}
