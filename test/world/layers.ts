// Root filesystem layers of the test hosts, built once and cached in cacheDir:
//   base: Debian minbase + systemd + sshd + tools, apt lists kept, the .debs of HOST_INSTALL_PACKAGES
//         downloaded (with Recommends) but not installed;
//   pkgs: an overlay layer over base with HOST_INSTALL_PACKAGES installed.
// Both exist per Debian suite (bookworm, the default, and bullseye): a host picks its suite.
// A layer's directory name holds a hash of its inputs, so changing a package list or a build script
// builds a new one. Builds go to a temp dir that is renamed when complete, under a lock file.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { cachePath } from './config.js';
import { suiteSourceFiles } from './apt-sources.js';
import { withLock } from './lock.js';
import { removeTree } from './fsutil.js';
import { script } from './paths.js';

export type LayerName = 'base' | 'pkgs';
export const LAYER_NAMES: readonly LayerName[] = ['base', 'pkgs'];

/** Debian 12 (the default) and Debian 11, the guide's own system. */
export type Suite = 'bookworm' | 'bullseye';
export const SUITES: readonly Suite[] = ['bookworm', 'bullseye'];
export const DEFAULT_SUITE: Suite = 'bookworm';
export const BASE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'libpam-systemd',
  'openssh-server',
  'python3',
  'ca-certificates',
  'curl',
  'iproute2',
  'procps',
  'sudo',
  'openssl',
  // The Misskey stand-in uploads to S3 with a real client library (Misskey's own is aws-sdk).
  'python3-boto3',
];
/** Installed for real by tests on base hosts; pre-installed in the pkgs layer. */
export const HOST_INSTALL_PACKAGES = ['nginx', 's3cmd', 'certbot', 'python3-certbot-nginx'];

const DPKG_EXCLUDES = ['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*'];
/** The machine's mirror may be a snapshot whose Release files are past their Valid-Until. */
const APT_OPTS = ['Acquire::Check-Valid-Until "false"'];

export interface LayerInfo {
  name: LayerName;
  suite: Suite;
  key: string;
  /** The layer's directory (an overlay lowerdir); exists only when the layer is complete. */
  dir: string;
}

function sha(parts: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function layersDir(): string {
  return cachePath('layers');
}

function sourcesOf(suite: Suite): string[] {
  return suiteSourceFiles(suite, cachePath('apt-sources'));
}

function mmdebstrapArgs(suite: Suite, target: string, hook = script('base-customize.sh')): string[] {
  return [
    '--mode=root',
    '--variant=minbase',
    '--format=directory',
    `--include=${BASE_PACKAGES.join(',')}`,
    ...APT_OPTS.map((o) => `--aptopt=${o}`),
    ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
    '--skip=cleanup/apt/lists',
    '--skip=cleanup/apt/cache',
    `--customize-hook=sh ${hook} "$1" ${HOST_INSTALL_PACKAGES.join(' ')}`,
    suite,
    target,
    ...sourcesOf(suite),
  ];
}

function baseKey(suite: Suite): string {
  return sha({
    suite,
    packages: BASE_PACKAGES,
    download: HOST_INSTALL_PACKAGES,
    args: mmdebstrapArgs(suite, 'TARGET', 'HOOK'), // not the checkout's path: clones elsewhere share the cache
    script: fs.readFileSync(script('base-customize.sh'), 'utf8'),
    sources: sourcesOf(suite).map((f) => fs.readFileSync(f, 'utf8')),
  });
}

function pkgsKey(base: string): string {
  return sha({ base, packages: HOST_INSTALL_PACKAGES, script: fs.readFileSync(script('build-pkgs.sh'), 'utf8') });
}

const LAYER_FILE = /^(base|pkgs)-(bookworm|bullseye)-([0-9a-f]{16})(\.log|\.lock)?$/;

export function layerInfo(name: LayerName, suite: Suite = DEFAULT_SUITE): LayerInfo {
  const base = baseKey(suite);
  const key = name === 'base' ? base : pkgsKey(base);
  return { name, suite, key, dir: path.join(layersDir(), `${name}-${suite}-${key}`) };
}

export function layerReady(name: LayerName, suite: Suite = DEFAULT_SUITE): boolean {
  return fs.existsSync(layerInfo(name, suite).dir);
}

/** The overlay lowerdir option value of a host on `layer` (upper layers first). */
export function lowerDirs(layer: LayerName, suite: Suite = DEFAULT_SUITE): string {
  const base = layerInfo('base', suite).dir;
  return layer === 'base' ? base : `${layerInfo('pkgs', suite).dir}:${base}`;
}

/** Run a long build step with its output in a log file; on failure throw with the log's tail. */
function runLogged(cmd: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(logFile, 'w');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
      reject(new Error(`${path.basename(cmd)} failed (exit ${code}); log ${logFile}:\n${tail}`));
    });
  });
}

/**
 * Both wrappers make the build safe to abandon: setpriv kills it when this process dies, and the
 * private mount namespace takes the build's mounts (proc, dev, overlay) away with it.
 */
function guarded(cmd: string, ...args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', cmd, ...args]];
}

async function buildOne(name: LayerName, suite: Suite, log: (m: string) => void): Promise<number | null> {
  const info = layerInfo(name, suite);
  const tag = `${name}-${suite}-${info.key}`;
  if (fs.existsSync(info.dir)) return null;
  fs.mkdirSync(layersDir(), { recursive: true });
  return withLock(
    path.join(layersDir(), `${tag}.lock`),
    async () => {
      if (fs.existsSync(info.dir)) return null; // another process built it while we waited
      // Leftovers of builds that died (we hold the lock, so no live build of this key exists).
      for (const f of fs.readdirSync(layersDir())) {
        if (f.startsWith(`.tmp-${tag}-`)) await removeTree(path.join(layersDir(), f));
      }
      const tmp = path.join(layersDir(), `.tmp-${tag}-${process.pid}`);
      const logFile = path.join(layersDir(), `${tag}.log`);
      const t0 = Date.now();
      log(`building layer ${name} of ${suite} (${info.key}); log: ${logFile}`);
      try {
        if (name === 'base') {
          await runLogged(...guarded('mmdebstrap', ...mmdebstrapArgs(suite, tmp)), logFile);
          fs.renameSync(tmp, info.dir);
        } else {
          const base = layerInfo('base', suite).dir;
          await runLogged(...guarded('/bin/sh', script('build-pkgs.sh'), base, tmp, ...HOST_INSTALL_PACKAGES), logFile);
          fs.renameSync(path.join(tmp, 'upper'), info.dir);
          await removeTree(tmp);
        }
      } catch (e) {
        await removeTree(tmp).catch(() => {});
        throw e;
      }
      const s = (Date.now() - t0) / 1000;
      log(`layer ${name} of ${suite} built in ${s.toFixed(1)} s`);
      return s;
    },
    { onWait: (o) => log(`waiting for PID ${o.pid}, which is building layer ${name} of ${suite}`) },
  );
}

export interface BuildTimes {
  /** Seconds a cold build took, or null when the layer came from the cache. */
  base: number | null;
  pkgs: number | null;
}

/** Make sure both layers of `suite` exist in the cache (building what is missing). */
export async function buildLayers(log: (m: string) => void = () => {}, suite: Suite = DEFAULT_SUITE): Promise<BuildTimes> {
  const base = await buildOne('base', suite, log);
  const pkgs = await buildOne('pkgs', suite, log);
  return { base, pkgs };
}

/** Layer dirs some overlay mount uses (hosts mount in private namespaces: look at every process). */
function layersInUse(): Set<string> {
  const used = new Set<string>();
  const re = new RegExp(`${layersDir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/((?:base|pkgs)-(?:bookworm|bullseye)-[0-9a-f]{16})`, 'g');
  for (const pid of fs.readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
    let info: string;
    try {
      info = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    } catch {
      continue;
    }
    for (const m of info.matchAll(re)) used.add(m[1]!);
  }
  return used;
}

/** Remove cached layers (and their logs) that no current input hash refers to and no mount uses. */
export async function pruneLayers(log: (m: string) => void = () => {}): Promise<void> {
  if (!fs.existsSync(layersDir())) return;
  const keep = new Set(SUITES.flatMap((s) => LAYER_NAMES.map((n) => path.basename(layerInfo(n, s).dir))));
  const inUse = layersInUse();
  for (const f of fs.readdirSync(layersDir())) {
    const m = LAYER_FILE.exec(f) ?? /^(base|pkgs)-()([0-9a-f]{16})(\.log|\.lock)?$/.exec(f); // second: names before suites
    if (!m) continue;
    const dir = m[2] ? `${m[1]}-${m[2]}-${m[3]}` : `${m[1]}-${m[3]}`;
    if (keep.has(dir) || m[4] === '.lock') continue;
    if (inUse.has(dir)) {
      log(`keeping old layer ${f}: a running host uses it`);
      continue;
    }
    log(`removing old layer ${f}`);
    await removeTree(path.join(layersDir(), f));
  }
}
