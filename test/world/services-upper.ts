// Writing into a host's overlay upper dir before the host boots. Reads see the merged view
// (upper first, then the lower layers top-first); new directories copy mode and owner from the
// lower layer, because in a merged directory the upper copy's attributes are the ones that show.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface Layers {
  upperDir: string;
  /** Lower layers, topmost first (as in overlayfs `lowerdir=top:...:base`). */
  lowerDirs: string[];
}

export interface Owner {
  mode: number;
  uid: number;
  gid: number;
}

const ROOT_DIR: Owner = { mode: 0o755, uid: 0, gid: 0 };

function inLayer(dir: string, rel: string): string {
  return path.join(dir, path.posix.normalize('/' + rel));
}

function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** lstat of rel in the merged view, and the layer path it came from. */
export async function statMerged(l: Layers, rel: string): Promise<{ stat: fs.Stats; file: string } | undefined> {
  for (const dir of [l.upperDir, ...l.lowerDirs]) {
    const file = inLayer(dir, rel);
    const stat = await fsp.lstat(file).catch(() => undefined);
    if (stat) return isWhiteout(stat) ? undefined : { stat, file };
  }
  return undefined;
}

/** Contents of a regular file in the merged view, or undefined. */
export async function readMerged(l: Layers, rel: string): Promise<Buffer | undefined> {
  const m = await statMerged(l, rel);
  return m && m.stat.isFile() ? fsp.readFile(m.file) : undefined;
}

/** Creates rel (and its parents) in the upper dir, copying attributes from the lower layers when they have it. */
export async function mkdirUpper(l: Layers, rel: string, fresh: Owner = ROOT_DIR): Promise<void> {
  const parts = path.posix
    .normalize('/' + rel)
    .split('/')
    .filter(Boolean);
  let cur = '';
  for (const p of parts) {
    cur += '/' + p;
    const up = inLayer(l.upperDir, cur);
    if (await fsp.lstat(up).catch(() => undefined)) continue;
    const lower = await statMerged(l, cur);
    const attrs = lower?.stat.isDirectory()
      ? { mode: lower.stat.mode & 0o7777, uid: lower.stat.uid, gid: lower.stat.gid }
      : cur === '/' + parts.join('/')
        ? fresh
        : ROOT_DIR;
    await fsp.mkdir(up);
    await fsp.chown(up, attrs.uid, attrs.gid);
    await fsp.chmod(up, attrs.mode);
  }
}

/** Writes a file into the upper dir (parents created as above); mode/owner applied before it lands. */
export async function writeUpper(l: Layers, rel: string, data: string | Buffer, o: Owner): Promise<void> {
  await mkdirUpper(l, path.posix.dirname(path.posix.normalize('/' + rel)));
  const dest = inLayer(l.upperDir, rel);
  const tmp = `${dest}.seed-tmp`;
  await fsp.writeFile(tmp, data, { mode: o.mode });
  await fsp.chown(tmp, o.uid, o.gid);
  await fsp.chmod(tmp, o.mode);
  await fsp.rename(tmp, dest);
}

/** Same owner and mode as the merged view's copy of rel (for edited copies of /etc files). */
export async function ownerOf(l: Layers, rel: string, fallback: Owner): Promise<Owner> {
  const m = await statMerged(l, rel);
  return m ? { mode: m.stat.mode & 0o7777, uid: m.stat.uid, gid: m.stat.gid } : fallback;
}

export async function symlinkUpper(l: Layers, rel: string, target: string): Promise<void> {
  await mkdirUpper(l, path.posix.dirname(path.posix.normalize('/' + rel)));
  const dest = inLayer(l.upperDir, rel);
  await fsp.rm(dest, { force: true });
  await fsp.symlink(target, dest);
}

/** Makes a directory tree in the upper dir owned by uid/gid (e.g. a user's home). */
export async function mkdirOwned(l: Layers, rel: string, o: Owner): Promise<void> {
  await mkdirUpper(l, rel, o);
  const up = inLayer(l.upperDir, rel);
  await fsp.chown(up, o.uid, o.gid);
  await fsp.chmod(up, o.mode);
}
