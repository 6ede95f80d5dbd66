// Writing files into a host's overlay upper dir before it boots.
// Paths are resolved through the layers as the booted host will see them: a symlink in a lower
// layer (e.g. /lib -> usr/lib) is followed, never shadowed by a new directory, and directories
// created in the upper dir get the owner and mode they have in the layer below.

import fs from 'node:fs';
import path from 'node:path';

/** Helpers given to seed hooks, bound to one host's upper dir and layers. */
export interface SeedHelpers {
  /** The host's overlay lower dirs, topmost first (what the upper dir is laid over). */
  lowerDirs: string[];
  /** Write a file at an absolute in-host path (parents created like the layers have them). */
  writeFile(hostPath: string, data: string | Buffer, opts?: { mode?: number; uid?: number; gid?: number }): void;
  /** Create a directory at an absolute in-host path. */
  mkdir(hostPath: string, opts?: { mode?: number; uid?: number; gid?: number }): void;
  /** The real path in the upper dir that `hostPath` maps to (after following layer symlinks). */
  upperPath(hostPath: string): string;
}

/**
 * A hook that adds files to a host before boot (CA certificate, a service stand-in, ...).
 * `upperDir` is the host's overlay upper dir; `helpers` handle symlinks and ownership correctly.
 */
export type SeedFiles = (upperDir: string, hostIndex: number, helpers: SeedHelpers) => Promise<void>;

function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** The topmost entry for `rel` among [upper, ...lowers]: its stats and where it is, or null. */
function topEntry(layers: string[], rel: string): { st: fs.Stats; layer: string } | null {
  for (const layer of layers) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(layer, rel));
    } catch {
      continue;
    }
    return isWhiteout(st) ? null : { st, layer };
  }
  return null;
}

/**
 * Resolve the directory part of an in-host path through the layers, following symlinks the way
 * the merged view would. Returns the in-host path of the real directory.
 */
export function resolveDir(layers: string[], hostDir: string): string {
  let todo = hostDir.split('/').filter(Boolean);
  let done: string[] = [];
  for (let hops = 0; todo.length;) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const rel = [...done, part].join('/');
    const e = topEntry(layers, rel);
    if (e?.st.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`too many symlinks resolving ${hostDir}`);
      const target = fs.readlinkSync(path.join(e.layer, rel));
      todo = [...target.split('/').filter(Boolean), ...todo];
      if (target.startsWith('/')) done = [];
      continue;
    }
    done.push(part);
  }
  return '/' + done.join('/');
}

export function seedHelpers(upperDir: string, lowers: string[]): SeedHelpers {
  const layers = [upperDir, ...lowers];

  const mkdirResolved = (hostDir: string, mode?: number, uid?: number, gid?: number) => {
    const parts = hostDir.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const up = path.join(upperDir, rel);
      const last = i === parts.length;
      if (fs.existsSync(up)) {
        if (last && mode !== undefined) fs.chmodSync(up, mode);
        if (last && uid !== undefined) fs.chownSync(up, uid, gid ?? uid);
        continue;
      }
      const below = topEntry(lowers, rel);
      fs.mkdirSync(up);
      const m = last && mode !== undefined ? mode : below ? below.st.mode & 0o7777 : 0o755;
      fs.chmodSync(up, m);
      fs.chownSync(up, last && uid !== undefined ? uid : (below?.st.uid ?? 0), last && gid !== undefined ? gid : (below?.st.gid ?? 0));
    }
  };

  const upperPath = (hostPath: string) => {
    const dir = resolveDir(layers, path.posix.dirname(hostPath));
    return path.join(upperDir, dir, path.posix.basename(hostPath));
  };

  return {
    lowerDirs: [...lowers],
    upperPath,
    mkdir(hostPath, opts = {}) {
      mkdirResolved(resolveDir(layers, hostPath), opts.mode, opts.uid, opts.gid);
    },
    writeFile(hostPath, data, opts = {}) {
      const dir = resolveDir(layers, path.posix.dirname(hostPath));
      mkdirResolved(dir);
      const file = path.join(upperDir, dir, path.posix.basename(hostPath));
      fs.rmSync(file, { force: true }); // a symlink or whiteout here is replaced, not followed
      fs.writeFileSync(file, data, { mode: opts.mode ?? 0o644 });
      fs.chmodSync(file, opts.mode ?? 0o644);
      fs.chownSync(file, opts.uid ?? 0, opts.gid ?? opts.uid ?? 0);
    },
  };
}
