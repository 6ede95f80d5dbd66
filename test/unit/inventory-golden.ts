// Cases compared with real Ansible: the golden files under test/fixtures/inventory hold what
// ansible-inventory --host / ansible --list-hosts (ansible-core 2.14) printed for them.
// inventory.test.ts / patterns.test.ts compare our output with the golden files (no Ansible needed);
// inventory-ansible.test.ts re-runs Ansible to prove the golden files are still what it prints
// (RECORD_GOLDEN=1 rewrites them).

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Inventory } from '../../src/inventory/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** test/fixtures/inventory (from dist/test/unit or test/unit). */
export const FIXTURES = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../test/fixtures/inventory' : '../fixtures/inventory');

export function fixture(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

export interface HostCase {
  fixture: string;
  label: string;
  extra: string[];
}

export const HOST_CASES: HostCase[] = [
  { fixture: 'basic', label: 'plain', extra: [] },
  {
    fixture: 'basic',
    label: 'extra',
    extra: ['role=cli ntp_server="ntp from cli" esc=tab\\there', '{"http_port": 9090, "ratio": 2.0, "list": [1, 2.5]}', '@extra.yml', 'role=last'],
  },
  { fixture: 'precedence', label: 'plain', extra: [] },
  { fixture: 'toplevel', label: 'plain', extra: [] },
];

export interface PatternCase {
  pattern: string;
  limit?: string;
}

export const PATTERN_CASES: PatternCase[] = [
  ...[
    'all',
    '*',
    'ungrouped',
    'webservers',
    'web*',
    '*.example.com',
    'web?.example.com',
    'web[12].example.com',
    'web[!12].example.com',
    'webservers[0]',
    'webservers[-1]',
    'webservers[1:2]',
    'webservers[1:]',
    'webservers[0:0]',
    'europe',
    'europe[2:4]',
    'europe[-2]',
    'germany',
    'webservers:dbservers',
    'webservers,dbservers',
    'dbservers:webservers',
    'webservers:&staging',
    'webservers:!staging',
    '!staging:webservers',
    '&staging:webservers',
    '!webservers',
    '&staging',
    'webservers:dbservers:&staging:!web3.example.com',
    '~web[0-9]\\.example',
    '~(web|db)1',
    '~.*1$',
    '192.0.2.50',
    '192.0.2.*',
    'edge_empty',
    'e*',
    'a*',
    'staging:!stage-*',
    '*1*',
    'webservers[0]:dbservers[-1]',
    'stage-[ab]',
    'solo:paris1',
    'web1.example.com',
    'berlin',
    'germany:!berlin',
    'europe:&germany:!munich1',
    'nosuchgroup',
    'webservers:nosuch',
    '!nosuch',
    'web9*',
    '~^zz',
  ].map((pattern) => ({ pattern })),
  { pattern: 'all', limit: 'webservers' },
  { pattern: 'all', limit: 'europe:!germany' },
  { pattern: 'webservers', limit: '~web[12]' },
  { pattern: 'europe', limit: 'paris1,berlin1' },
  { pattern: 'europe', limit: 'webservers' },
  { pattern: 'webservers:europe', limit: '@limit.retry' },
  { pattern: 'all', limit: 'nosuch' },
];

export function caseKey(c: PatternCase): string {
  return c.limit === undefined ? c.pattern : `${c.pattern} --limit ${c.limit}`;
}

/** Golden result of a pattern: Ansible's host list, or `unmatched` when it warned "Could not match". */
export interface PatternGolden {
  pattern: string;
  limit?: string;
  hosts: string[];
  unmatched: boolean;
}

export const HOSTS_GOLDEN = (fx: string) => fixture(fx, 'golden-hosts.json');
export const PATTERNS_GOLDEN = fixture('patterns', 'golden-patterns.json');

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function hasAnsible(): boolean {
  try {
    execFileSync('ansible-inventory', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ANSIBLE_NOCOLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

/** Run jobs with at most `n` at a time (Ansible takes about a second of CPU to start). */
export async function pool<T>(jobs: Array<() => Promise<T>>, n = Math.max(2, os.cpus().length)): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

/** What `ansible-inventory -i <inventory> --host <host> -e ...` prints (run from the fixture directory). */
export async function ansibleHostJson(fx: string, host: string, extra: string[]): Promise<string> {
  const args = ['-i', fixture(fx, 'inventory.yml'), '--host', host];
  for (const e of extra) args.push('-e', e);
  const r = await run('ansible-inventory', args, fixture(fx));
  if (r.code !== 0) throw new Error(`ansible-inventory --host ${host} failed: ${r.stderr}`);
  return r.stdout.trimEnd();
}

/** What `ansible <pattern> --list-hosts [--limit ...]` selects, and whether it warned about no match. */
export async function ansibleListHosts(c: PatternCase): Promise<PatternGolden> {
  const args = ['-i', fixture('patterns', 'inventory.yml'), c.pattern, '--list-hosts'];
  if (c.limit !== undefined) args.push('--limit', c.limit);
  const r = await run('ansible', args, fixture('patterns'));
  const stdout = r.stdout;
  const all = stdout + r.stderr;
  const hosts = stdout
    .split('\n')
    .filter((l) => l.startsWith('    '))
    .map((l) => l.trim());
  return { ...c, hosts, unmatched: /Could not match supplied host pattern/.test(all.replace(/\s+/g, ' ')) };
}

/**
 * Ansible orders a group's hosts by walking child groups breadth first, but it keeps each level in a
 * Python set, so when two groups of one level both have children the order below them changes from
 * run to run. Such results are compared as sets.
 */
export function orderIsStable(inv: Inventory, group: string): boolean {
  const seen = new Set([group]);
  let level = [group];
  let depth = 0;
  while (level.length) {
    const next: string[] = [];
    let parents = 0;
    for (const g of level) {
      const kids = inv.groups.get(g)!.children.filter((c) => !seen.has(c));
      if (kids.length) parents++;
      for (const k of kids) {
        seen.add(k);
        next.push(k);
      }
    }
    if (depth > 0 && parents > 1) return false;
    level = next;
    depth++;
  }
  return true;
}

/** Whether every group a pattern can touch has a stable host order (see orderIsStable). */
export function patternOrderIsStable(inv: Inventory, c: PatternCase): boolean {
  const texts = [c.pattern, c.limit ?? ''].join(':');
  const touchesAll = /(^|[:,])(all|\*|a\*|al\*)([:,]|$)/.test(texts) || c.pattern.split(/[:,]/).every((p) => /^[!&]/.test(p));
  if (touchesAll && !orderIsStable(inv, 'all')) return false;
  return [...inv.groups.keys()].every((g) => g === 'all' || !texts.includes(g) || orderIsStable(inv, g));
}
