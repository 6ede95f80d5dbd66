// The world's cgroup2 directories: one per host (root of the host's cgroup namespace, where its
// systemd builds its own tree) and one for the network services. Named with the world's prefix.

import fs from 'node:fs';
import path from 'node:path';
import { WORLD } from './config.js';
import { sleep } from './proc.js';

/** Where cgroup2 is mounted: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid). */
export function cgroup2Root(): string | null {
  for (const d of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (fs.existsSync(path.join(d, 'cgroup.controllers'))) return d;
  }
  return null;
}

export function worldCgroup(name: string): string {
  const root = cgroup2Root();
  if (!root) throw new Error('no cgroup2 hierarchy mounted');
  return path.join(root, `${WORLD.netnsPrefix}${name}`);
}

/** All world cgroups that exist now (also those of a crashed earlier run). */
export function listWorldCgroups(): string[] {
  const root = cgroup2Root();
  if (!root) return [];
  return fs
    .readdirSync(root)
    .filter((f) => f.startsWith(WORLD.netnsPrefix))
    .map((f) => path.join(root, f))
    .filter((d) => fs.statSync(d).isDirectory());
}

export function ensureCgroup(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
}

/** PIDs of every process in the cgroup subtree. */
export function procsIn(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) out.push(Number(p));
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return out;
}

export function isPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(fs.readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/** Remove an (empty) cgroup subtree, deepest first; retries briefly while members finish exiting. */
export async function removeCgroup(dir: string, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!fs.existsSync(dir)) return true;
    try {
      const dirs: string[] = [];
      const walk = (d: string) => {
        dirs.push(d);
        for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      };
      walk(dir);
      for (const d of dirs.reverse()) fs.rmdirSync(d);
      return true;
    } catch {
      if (Date.now() > until) return false;
      await sleep(50);
    }
  }
}
