// group_vars/ and host_vars/ beside the inventory file, found the way Ansible's host_group_vars plugin
// finds them: for a name, the first of `<name>`, `<name>.yml`, `<name>.yaml`, `<name>.json` that exists
// is used (only that one); if it is a directory, all its files are read in sorted order, recursing into
// sub-directories without an extension, skipping hidden files, `*~` backups and other extensions.

import fs from 'node:fs';
import path from 'node:path';
import type { VarLayer } from './types.js';
import { readVarsMapping } from './varlayer.js';
import { readYamlFile } from './yamlfile.js';

const EXTENSIONS = ['.yml', '.yaml', '.json'];

function stat(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function dirFiles(dir: string): string[] {
  const found: string[] = [];
  const names = fs.readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const full = path.join(dir, name);
    const ext = path.extname(name);
    const st = stat(full);
    if (st?.isDirectory() && !ext) found.push(...dirFiles(full));
    else if (st?.isFile() && (!ext || EXTENSIONS.includes(ext))) found.push(full);
  }
  return found;
}

/** Files holding the vars of `name` under `dir` (group_vars or host_vars), in load order. */
export function findVarsFiles(dir: string, name: string): string[] {
  for (const ext of ['', ...EXTENSIONS]) {
    const p = path.join(dir, name + ext);
    const st = stat(p);
    if (!st) continue;
    return st.isDirectory() ? dirFiles(p) : [p];
  }
  return [];
}

/** Read vars files into one layer (later files win); empty files are skipped, like Ansible. */
export function loadVarsFiles(files: string[], layer: VarLayer): void {
  for (const file of files) {
    const src = readYamlFile(file);
    const root = src.doc.contents;
    readVarsMapping(src, root, layer, `vars file ${file}`);
  }
}

/**
 * The entity names that group_vars/ or host_vars/ has entries for (file names without extension,
 * directory names), to warn about entries that match no group or host.
 */
export function varsDirEntries(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const st = stat(dir);
  if (!st?.isDirectory()) return out;
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const ext = path.extname(name);
    const full = path.join(dir, name);
    if (stat(full)?.isDirectory()) out.set(name, full);
    else if (!ext || EXTENSIONS.includes(ext)) out.set(ext ? name.slice(0, -ext.length) : name, full);
  }
  return out;
}

/** group_vars (or host_vars) exists but is a file: Ansible skips it with a warning; so do we. */
export function varsDirIsFile(dir: string): boolean {
  return stat(dir)?.isFile() ?? false;
}
