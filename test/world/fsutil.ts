// File-system helpers that are careful about mounts: the world never deletes through a mount point.

import fs from 'node:fs';
import path from 'node:path';
import { run, runOk } from './proc.js';

/** Mount points (as this process sees them) at or below `dir`, deepest first. */
export function mountsUnder(dir: string, mountinfo = '/proc/self/mountinfo'): string[] {
  const root = path.resolve(dir);
  const out: string[] = [];
  for (const line of fs.readFileSync(mountinfo, 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mp = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === root || mp.startsWith(root + '/')) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmount whatever is mounted below `dir` (lazily), then delete it without crossing file systems. */
export async function removeTree(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  for (const mp of mountsUnder(dir)) await run('umount', ['-l', mp]);
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`refusing to delete ${dir}: still mounted: ${left.join(', ')}`);
  await runOk('rm', ['-rf', '--one-file-system', '--', dir]);
}

/** Write a file atomically (temp file + rename) with the given mode. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
