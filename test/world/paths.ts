// Where the world's own files are, independent of whether we run from test/ or dist/test/.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

export const repoRoot = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
/** Shell scripts for root plumbing (they are not compiled, so always read from the source tree). */
export const scriptsDir = path.join(repoRoot, 'test', 'world', 'scripts');
/** Compiled world modules that run as their own processes (e.g. the apt proxy). */
export const distWorldDir = path.join(repoRoot, 'dist', 'test', 'world');

export function script(name: string): string {
  return path.join(scriptsDir, name);
}
