// Seeds a host's upper dir with a Misskey install as the plays will find it: user `misskey`,
// a checkout in /home/misskey/misskey (package.json of the chosen line, .config/default.yml),
// the documented systemd unit (enabled) whose ExecStart runs the CONTRACT FIXTURE stand-in
// (misskey-standin/standin.py), the stand-in's config, tokens and state file.

import fs from 'node:fs';
import path from 'node:path';
import type { MetaFields } from '../../tasks/lib/misskey-api.js';
import { fileURLToPath } from 'node:url';
import { Layers, Owner, mkdirOwned, ownerOf, readMerged, statMerged, symlinkUpper, writeUpper } from './services-upper.js';

export type MisskeyLine = 'v10' | 'v11' | 'v12';

export interface MisskeyTokens {
  /** Native tokens (16 characters in real Misskey) of an admin, a moderator and a plain user. */
  admin: string;
  moderator: string;
  user: string;
}

export interface SeedMisskeyOptions {
  line: MisskeyLine;
  tokens: MisskeyTokens;
  /** The host's lower layers, topmost first (for /etc/passwd & co. and directory attributes). */
  lowerDirs: string[];
  /** Instance domain for `url:` in default.yml (e.g. hostDomain(i)). */
  domain?: string;
  /** Initial meta row (v11/v12), e.g. an object storage configured before the play runs. */
  meta?: Partial<MisskeyMeta>;
}

/** The 13 object-storage fields of Misskey's `meta` table (v11/v12), as the stand-in stores them. */
export type MisskeyMeta = MetaFields;

/** The state file the stand-in keeps (tests read it from the upper dir). */
export interface MisskeyState {
  meta: MisskeyMeta & { name: string | null };
  moderationLogs: { type: string; role: string; createdAt: string }[];
}

/** In-host paths. */
export const MISSKEY_PATHS = {
  home: '/home/misskey',
  repo: '/home/misskey/misskey',
  defaultYml: '/home/misskey/misskey/.config/default.yml',
  packageJson: '/home/misskey/misskey/package.json',
  unit: '/etc/systemd/system/misskey.service',
  standin: '/usr/local/lib/misskey-standin/standin.py',
  config: '/etc/misskey-standin/config.json',
  tokens: '/etc/misskey-standin/tokens.json',
  stateDir: '/var/lib/misskey-standin',
  stateFile: '/var/lib/misskey-standin/meta.json',
} as const;

export const MISSKEY_PORT = 3000;

/** name/version in package.json of each line (misskey.md: the tags the project supports). */
export const MISSKEY_RELEASES: Record<MisskeyLine, { name: string; version: string }> = {
  v10: { name: 'misskey', version: '10.102.586-m544' },
  v11: { name: 'areionskey', version: '1.4.0-atsuchan-b2' },
  v12: { name: 'misskey', version: '12.117.1' },
};

/** Where the stand-in's own files are (source tree; tsc does not copy them to dist). */
export function standinSourceDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const c of [path.join(here, 'misskey-standin'), path.resolve(here, '../../../test/world/misskey-standin')]) {
    if (fs.existsSync(path.join(c, 'standin.py'))) return c;
  }
  throw new Error(`misskey-standin/ not found near ${here}`);
}

export function packageJson(line: MisskeyLine): string {
  const r = MISSKEY_RELEASES[line];
  const pkg: Record<string, unknown> = { name: r.name, version: r.version, private: true };
  if (line === 'v12') {
    pkg.workspaces = ['packages/backend', 'packages/client', 'packages/sw'];
    pkg.scripts = { start: 'cd packages/backend && node ./built/index.js', migrate: 'cd packages/backend && npm run migrate' };
  } else {
    pkg.main = './index.js';
    pkg.scripts = { start: 'node ./index.js', migrate: 'npm run migrate' };
  }
  return JSON.stringify(pkg, null, '\t') + '\n';
}

export function defaultYml(line: MisskeyLine, domain = 'misskey.test'): string {
  const tpl = fs.readFileSync(path.join(standinSourceDir(), `default-${line}.yml`), 'utf8');
  return tpl.replaceAll('{{DOMAIN}}', domain);
}

const ROOT644: Owner = { mode: 0o644, uid: 0, gid: 0 };

function idsInUse(file: string | undefined): Set<number> {
  const ids = new Set<number>();
  for (const l of (file ?? '').split('\n')) {
    const f = l.split(':');
    if (f.length > 2 && /^\d+$/.test(f[2])) ids.add(Number(f[2]));
  }
  return ids;
}

function hasEntry(file: string | undefined, name: string): string | undefined {
  return (file ?? '').split('\n').find((l) => l.startsWith(`${name}:`));
}

function appendLine(file: string, line: string): string {
  return (file === '' || file.endsWith('\n') ? file : file + '\n') + line + '\n';
}

/**
 * Adds user and group `misskey` the way `adduser --disabled-password --disabled-login misskey`
 * would (first free id from 1000, home /home/misskey, mode 0700 as bookworm's adduser makes it).
 * Returns the uid/gid. Idempotent.
 */
export async function seedMisskeyUser(l: Layers): Promise<{ uid: number; gid: number }> {
  const read = async (rel: string) => (await readMerged(l, rel))?.toString();
  const passwd = (await read('/etc/passwd')) ?? '';
  const group = (await read('/etc/group')) ?? '';
  const existing = hasEntry(passwd, 'misskey');
  if (existing) {
    const f = existing.split(':');
    return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  const used = new Set([...idsInUse(passwd), ...idsInUse(group)]);
  let id = 1000;
  while (used.has(id)) id++;
  const days = Math.floor(Date.now() / 86_400_000);
  const edit = async (rel: string, line: string, fallback: Owner) => {
    const cur = (await read(rel)) ?? '';
    if (hasEntry(cur, 'misskey')) return;
    await writeUpper(l, rel, appendLine(cur, line), await ownerOf(l, rel, fallback));
  };
  await edit('/etc/passwd', `misskey:x:${id}:${id}:,,,:${MISSKEY_PATHS.home}:/bin/bash`, ROOT644);
  await edit('/etc/group', `misskey:x:${id}:`, ROOT644);
  await edit('/etc/shadow', `misskey:!:${days}:0:99999:7:::`, { mode: 0o640, uid: 0, gid: 42 });
  await edit('/etc/gshadow', 'misskey:!::', { mode: 0o640, uid: 0, gid: 42 });
  return { uid: id, gid: id };
}

/** Writes everything for a Misskey host of the given line into upperDir (see the file comment). */
export async function seedMisskey(upperDir: string, o: SeedMisskeyOptions): Promise<void> {
  const l: Layers = { upperDir, lowerDirs: o.lowerDirs };
  const { uid, gid } = await seedMisskeyUser(l);
  const mine = (mode: number): Owner => ({ mode, uid, gid });
  const src = standinSourceDir();

  // Home with the skeleton files, and the checkout.
  await mkdirOwned(l, MISSKEY_PATHS.home, mine(0o700));
  for (const f of ['.bashrc', '.profile', '.bash_logout']) {
    const skel = await readMerged(l, `/etc/skel/${f}`);
    if (skel && !(await statMerged(l, `${MISSKEY_PATHS.home}/${f}`))) await writeUpper(l, `${MISSKEY_PATHS.home}/${f}`, skel, mine(0o644));
  }
  await mkdirOwned(l, MISSKEY_PATHS.repo, mine(0o755));
  await mkdirOwned(l, `${MISSKEY_PATHS.repo}/.config`, mine(0o755));
  await mkdirOwned(l, `${MISSKEY_PATHS.repo}/files`, mine(0o755));
  await writeUpper(l, MISSKEY_PATHS.packageJson, packageJson(o.line), mine(0o644));
  const yml = defaultYml(o.line, o.domain);
  await writeUpper(l, `${MISSKEY_PATHS.repo}/.config/example.yml`, yml, mine(0o644));
  await writeUpper(l, MISSKEY_PATHS.defaultYml, yml, mine(0o644));

  // The stand-in, its config and tokens (secrets: 0600, readable by the service user only).
  await writeUpper(l, MISSKEY_PATHS.standin, fs.readFileSync(path.join(src, 'standin.py')), { mode: 0o755, uid: 0, gid: 0 });
  await writeUpper(l, path.posix.join(path.posix.dirname(MISSKEY_PATHS.standin), 'local_drive.py'), fs.readFileSync(path.join(src, 'local_drive.py')), ROOT644);
  const config = { line: o.line, repoDir: MISSKEY_PATHS.repo, stateFile: MISSKEY_PATHS.stateFile, tokensFile: MISSKEY_PATHS.tokens, listen: '127.0.0.1' };
  await writeUpper(l, MISSKEY_PATHS.config, JSON.stringify(config, null, 2) + '\n', ROOT644);
  await writeUpper(l, MISSKEY_PATHS.tokens, JSON.stringify(o.tokens) + '\n', mine(0o600));
  await mkdirOwned(l, MISSKEY_PATHS.stateDir, mine(0o755));
  if (o.meta && o.line !== 'v10') {
    const state = { meta: o.meta, moderationLogs: [] };
    await writeUpper(l, MISSKEY_PATHS.stateFile, JSON.stringify(state, null, 2) + '\n', mine(0o600));
  }

  // The unit, enabled the way `systemctl enable` does it.
  await writeUpper(l, MISSKEY_PATHS.unit, fs.readFileSync(path.join(src, 'misskey.service')), ROOT644);
  await symlinkUpper(l, '/etc/systemd/system/multi-user.target.wants/misskey.service', MISSKEY_PATHS.unit);
}

/** Reads the stand-in's state (v11/v12) from a host's upper dir; undefined before the first write. */
export function readMisskeyState(upperDir: string): MisskeyState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(upperDir, MISSKEY_PATHS.stateFile), 'utf8')) as MisskeyState;
  } catch {
    return undefined;
  }
}
