// Test hosts: an overlay clone of a layer, its own netns on the bridge, and real systemd as PID 1
// of its own pid/mount/uts/ipc/cgroup namespaces (see /work/shared/reference/systemd-hosts.md).

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { WORLD, hostDomain, hostIndex, hostIp, hostName, runPath } from './config.js';
import { ensureCgroup, isPopulated, procsIn, removeCgroup, worldCgroup } from './cgroup.js';
import { removeTree } from './fsutil.js';
import { clientPublicKey, ensureHostKey, writeKnownHosts } from './keys.js';
import { DEFAULT_SUITE, buildLayers, lowerDirs, type LayerName, type Suite } from './layers.js';
import { script } from './paths.js';
import {
  childrenOf,
  isAlive,
  isOurs,
  readCmdline,
  recordProc,
  run,
  runOk,
  signalRecorded,
  sleep,
  spawnDetached,
  waitGone,
  type ProcRecord,
  type RunResult,
} from './proc.js';
import { seedHelpers, type SeedFiles } from './seed.js';
import { raiseLimits } from './sysctl.js';
import { loadState, updateState, type HostRecord } from './state.js';

/** systemd's "poweroff" signal (SIGRTMIN+4; glibc's SIGRTMIN is 34). SIGTERM would only make it re-exec. */
const SIG_POWEROFF = 38;

export interface HostInfo {
  name: string;
  index: number;
  ip: string;
  /** `h<i>.test`, resolvable inside the world. */
  domain: string;
  layer: LayerName;
  suite: Suite;
  upperDir: string;
  /** PID (root namespace view) of the host's systemd. */
  initPid: number;
  /** `running`, or `degraded` (then `failedUnits` says why). */
  systemState: string;
  failedUnits: string[];
}

export interface StartHostsOptions {
  /** Hosts h1..h<count>, or explicit names `h<i>`. */
  count?: number;
  names?: string[];
  layer?: LayerName;
  /** Debian suite (default bookworm); its layers are built on first use. */
  suite?: Suite;
  /** Extra per-call hooks (run after the global ones registered with addSeedHook). */
  seedFiles?: SeedFiles | SeedFiles[];
  log?: (m: string) => void;
}

const globalSeeds: SeedFiles[] = [];
/** Per-host seeds and layer, remembered so a reset gives back the same pristine host. */
const hostSpecs = new Map<string, { layer: LayerName; suite: Suite; seeds: SeedFiles[] }>();
/** Deletions of old upper dirs still running in the background (awaited by stop). */
const pendingDeletes = new Set<Promise<void>>();

let closing = false;
/** Refuse to start hosts from now on (set while the world is torn down on a signal). */
export function refuseNewHosts(): void {
  closing = true;
}

/** Register a hook that seeds every host started from now on (e.g. the world CA certificate). */
export function addSeedHook(fn: SeedFiles): void {
  globalSeeds.push(fn);
}

function hostDir(name: string): string {
  return runPath('hosts', name);
}

function record(name: string): HostRecord {
  const r = loadState().hosts[name];
  if (!r) throw new Error(`host ${name} is not running`);
  return r;
}

function newRecord(name: string, layer: LayerName, suite: Suite): HostRecord {
  const index = hostIndex(name);
  const id = `${WORLD.netnsPrefix}${name}`;
  return {
    name,
    index,
    ip: hostIp(index),
    layer,
    suite,
    dir: hostDir(name),
    netns: id,
    veth: id,
    cgroup: worldCgroup(name),
  };
}

/** Files every host needs: identity, name resolution, apt proxy, the client's key. */
async function seedIdentity(rec: HostRecord, lowers: string[]): Promise<void> {
  const upper = path.join(rec.dir, 'upper');
  const h = seedHelpers(upper, lowers);
  const key = await ensureHostKey(rec.dir, rec.name);
  h.writeFile('/etc/hostname', `${rec.name}\n`);
  h.writeFile('/etc/hosts', `127.0.0.1\tlocalhost\n${rec.ip}\t${hostDomain(rec.index)} ${rec.name}\n`);
  h.writeFile('/etc/machine-id', crypto.randomBytes(16).toString('hex') + '\n', { mode: 0o444 });
  h.writeFile('/etc/resolv.conf', `nameserver ${WORLD.gatewayIp}\n`);
  const proxy = `http://${WORLD.gatewayIp}:${WORLD.aptProxyPort}/`;
  h.writeFile('/etc/apt/apt.conf.d/01mss-world-proxy', `Acquire::http::Proxy "${proxy}";\nAcquire::https::Proxy "${proxy}";\n`);
  h.writeFile('/etc/ssh/ssh_host_ed25519_key', fs.readFileSync(key.priv), { mode: 0o600 });
  h.writeFile('/etc/ssh/ssh_host_ed25519_key.pub', fs.readFileSync(key.pub), { mode: 0o644 });
  h.mkdir('/root/.ssh', { mode: 0o700 });
  h.writeFile('/root/.ssh/authorized_keys', clientPublicKey(), { mode: 0o600 });
}

async function prepareUpper(rec: HostRecord, seeds: SeedFiles[]): Promise<void> {
  const lowers = lowerDirs(rec.layer, rec.suite ?? DEFAULT_SUITE).split(':');
  for (const l of lowers) if (!fs.existsSync(l)) throw new Error(`layer dir ${l} missing: run buildLayers() first`);
  for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(rec.dir, d), { recursive: true });
  fs.chmodSync(path.join(rec.dir, 'upper'), 0o755); // the upper root's mode becomes the host's "/"
  await seedIdentity(rec, lowers);
  const upper = path.join(rec.dir, 'upper');
  for (const seed of seeds) await seed(upper, rec.index, seedHelpers(upper, lowers));
}

let devTemplateJob: Promise<void> | null = null;
/** The template of a host's /dev (made once per run; runDir goes away with `down`). */
async function ensureDevTemplate(): Promise<string> {
  const dir = runPath('dev-template');
  while (!fs.existsSync(dir)) {
    devTemplateJob ??= runOk('/bin/sh', [script('dev-template.sh'), dir])
      .then(() => {})
      .finally(() => (devTemplateJob = null));
    await devTemplateJob;
  }
  return dir;
}

/** Start the host's systemd; records the unshare process and the host's PID 1. */
async function launch(rec: HostRecord): Promise<void> {
  fs.writeFileSync(path.join(rec.dir, 'console.log'), '');
  ensureCgroup(rec.cgroup);
  const args = [
    rec.netns,
    rec.cgroup,
    rec.name,
    lowerDirs(rec.layer, rec.suite ?? DEFAULT_SUITE),
    path.join(rec.dir, 'upper'),
    path.join(rec.dir, 'work'),
    path.join(rec.dir, 'merged'),
    path.join(rec.dir, 'console.log'),
    await ensureDevTemplate(),
  ];
  const launchLog = path.join(rec.dir, 'launch.log');
  const unshare = spawnDetached(script('host-launch.sh'), args, launchLog, `host-init.sh ${rec.name} `);
  if (!unshare) throw new Error(`${rec.name}: launcher did not start; ${launchLog}`);
  updateState((s) => (s.hosts[rec.name]!.unshare = unshare));
  // The host's PID 1 is the unshare's only child; it becomes systemd once its mounts are done.
  const until = Date.now() + 15_000;
  for (;;) {
    const [child] = childrenOf(unshare.pid);
    if (child !== undefined && readCmdline(child)?.startsWith('/lib/systemd/systemd')) {
      const init = recordProc(child, '/lib/systemd/systemd');
      if (init) {
        updateState((s) => (s.hosts[rec.name]!.init = init));
        return;
      }
    }
    if (!isAlive(unshare)) {
      const why = fs.readFileSync(launchLog, 'utf8').trim().split('\n').slice(-6).join('\n');
      throw new Error(`${rec.name}: host init failed before systemd started:\n${why}`);
    }
    if (Date.now() > until) throw new Error(`${rec.name}: systemd did not start within 15 s`);
    await sleep(20);
  }
}

/** Run a command inside a host (all its namespaces, its root) as root; no SSH involved. */
export async function hostExec(name: string, command: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const init = record(name).init;
  if (!init || !isOurs(init)) throw new Error(`host ${name} has no running systemd`);
  return run(
    'nsenter',
    [
      '-t',
      String(init.pid),
      '-m',
      '-u',
      '-i',
      '-n',
      '-p',
      '-C',
      '-r',
      '-w',
      '--',
      '/usr/bin/env',
      '-i',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME=/root',
      'USER=root',
      'LOGNAME=root',
      'TERM=dumb',
      'LANG=C.UTF-8',
      '/bin/sh',
      '-c',
      command,
    ],
    { input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000 },
  );
}

/** hostExec that throws (with stderr) on a non-zero exit. */
export async function hostExecOk(name: string, command: string, opts: { input?: string; timeoutMs?: number } = {}) {
  const r = await hostExec(name, command, opts);
  if (r.code !== 0) throw new Error(`${name}: \`${command}\` exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r;
}

function sshBanner(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port: 22, timeout: 2000 });
    s.once('data', (b: Buffer) => (s.destroy(), resolve(b.toString().startsWith('SSH-2.0-'))));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

/** Wait until systemd finished booting and sshd answers (both watched at once). */
async function waitBooted(rec: HostRecord, timeoutMs: number): Promise<{ state: string; failed: string[] }> {
  const until = Date.now() + timeoutMs;
  const init = rec.init!;
  const sshUp = (async () => {
    while (!(await sshBanner(rec.ip))) {
      if (Date.now() > until) throw new Error(`${rec.name}: sshd does not answer on ${rec.ip}:22`);
      if (!isAlive(init)) return;
      await sleep(50);
    }
  })();
  sshUp.catch(() => {}); // awaited below; not unhandled if the boot fails first
  const busSocket = `/proc/${init.pid}/root/run/systemd/private`;
  while (!fs.existsSync(busSocket)) {
    if (!isAlive(init)) throw new Error(`${rec.name}: systemd exited during boot; see ${rec.dir}/console.log`);
    if (Date.now() > until) throw new Error(`${rec.name}: systemd's bus never appeared`);
    await sleep(25);
  }
  const r = await hostExec(rec.name, 'systemctl is-system-running --wait', { timeoutMs: Math.max(1000, until - Date.now()) });
  const state = r.stdout.trim();
  let failed: string[] = [];
  if (state !== 'running') {
    const f = await hostExec(rec.name, 'systemctl --failed --no-legend --plain', { timeoutMs: 10_000 });
    failed = f.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter(Boolean);
    if (state !== 'degraded') {
      const j = await hostExec(rec.name, 'journalctl -b --no-pager -n 25 -q', { timeoutMs: 10_000 });
      throw new Error(`${rec.name}: system state '${state}' (${r.stderr.trim()}); failed: ${failed.join(', ')}\n${j.stdout}`);
    }
  }
  await sshUp;
  return { state, failed };
}

function info(rec: HostRecord, booted: { state: string; failed: string[] }): HostInfo {
  return {
    name: rec.name,
    index: rec.index,
    ip: rec.ip,
    domain: hostDomain(rec.index),
    layer: rec.layer,
    suite: rec.suite ?? DEFAULT_SUITE,
    upperDir: path.join(rec.dir, 'upper'),
    initPid: rec.init!.pid,
    systemState: booted.state,
    failedUnits: booted.failed,
  };
}

/** Phase timings on stderr when MSS_WORLD_DEBUG is set. */
function phase(name: string, t0: number, what: string): void {
  if (process.env.MSS_WORLD_DEBUG) process.stderr.write(`[world] ${name}: ${what} at ${Date.now() - t0} ms\n`);
}

async function bootOne(rec: HostRecord, seeds: SeedFiles[], timeoutMs: number, log: (m: string) => void): Promise<HostInfo> {
  if (closing) throw new Error(`${rec.name}: not started, the world is shutting down`);
  const t0 = Date.now();
  await prepareUpper(rec, seeds);
  phase(rec.name, t0, 'upper seeded');
  await runOk('/bin/sh', [script('host-net.sh'), 'up', rec.netns, rec.veth, `${rec.ip}/${WORLD.prefixLen}`, WORLD.bridge]);
  phase(rec.name, t0, 'network up');
  if (closing) throw new Error(`${rec.name}: not started, the world is shutting down`);
  await launch(rec);
  phase(rec.name, t0, 'systemd started');
  const booted = await waitBooted(loadState().hosts[rec.name]!, timeoutMs);
  phase(rec.name, t0, `booted (${booted.state})`);
  if (booted.state === 'degraded') log(`${rec.name}: degraded; failed units: ${booted.failed.join(', ')}`);
  return info(rec, booted);
}

/** Run `fn` over items with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (e) {
        out[i] = { status: 'rejected', reason: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function namesOf(opts: StartHostsOptions): string[] {
  if (opts.names) return opts.names.map((n) => hostName(hostIndex(n)));
  const n = opts.count ?? 1;
  if (n < 1 || n > WORLD.maxHosts) throw new Error(`host count ${n} out of range 1..${WORLD.maxHosts}`);
  return Array.from({ length: n }, (_, i) => hostName(i + 1));
}

/**
 * Boot hosts in parallel and wait until each is running (or degraded, logged) and sshd answers.
 * Always gives pristine hosts: a named host that is already running is stopped and started again.
 * The network (startNetwork) and the layers (buildLayers) must be ready.
 */
export async function startHosts(opts: StartHostsOptions): Promise<HostInfo[]> {
  const log = opts.log ?? (() => {});
  const layer = opts.layer ?? 'pkgs';
  const suite = opts.suite ?? DEFAULT_SUITE;
  if (suite !== DEFAULT_SUITE) await buildLayers(log, suite); // the default suite's are built with the world
  const seeds = [...globalSeeds, ...[opts.seedFiles ?? []].flat()];
  const names = namesOf(opts);
  raiseLimits();
  const running = names.filter((n) => loadState().hosts[n]);
  if (running.length) await stopHosts(running);
  const recs = names.map((n) => newRecord(n, layer, suite));
  updateState((s) => recs.forEach((r) => (s.hosts[r.name] = r)));
  recs.forEach((r) => hostSpecs.set(r.name, { layer, suite, seeds }));
  for (const r of recs) await ensureHostKey(r.dir, r.name);
  writeKnownHosts(Object.values(loadState().hosts));
  const timeoutMs = 60_000 + 3_000 * names.length;
  // At most 8 hosts boot at once: booting is CPU-bound (about 2 CPU-seconds a host), so more in
  // parallel is not faster on a small machine, only slower for each host.
  const results = await pool(recs, 8, async (r) => {
    const t0 = Date.now();
    const h = await bootOne(r, seeds, timeoutMs, log);
    log(`${r.name} up in ${((Date.now() - t0) / 1000).toFixed(2)} s (${h.systemState})`);
    return h;
  });
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (errors.length) throw new Error(`${errors.length} of ${names.length} host(s) failed to start:\n${errors.join('\n')}`);
  return results.map((r) => (r as PromiseFulfilledResult<HostInfo>).value);
}

/**
 * Stop the host's processes: poweroff signal to its systemd (graceful) or none (fast), then SIGKILL
 * by recorded PID; wait until its cgroup is empty. Returns problems (empty when all went away).
 */
async function killHost(rec: HostRecord, graceful: boolean): Promise<string[]> {
  const problems: string[] = [];
  const { unshare, init } = rec;
  // A lone host powers off in about 0.3 s; with dozens stopping at once on 2 cores the rest is cut short.
  if (graceful && init && unshare && signalRecorded(init, SIG_POWEROFF)) await waitGone(unshare, 3000);
  for (const p of [init, unshare]) if (p) signalRecorded(p, 'SIGKILL');
  for (const p of [init, unshare]) if (p && !(await waitGone(p, 5000))) problems.push(`${rec.name}: PID ${p.pid} survived SIGKILL`);
  // Everything else lived in the host's pid namespace, which died with its PID 1.
  const until = Date.now() + 5000;
  while (isPopulated(rec.cgroup) && Date.now() < until) await sleep(25);
  if (isPopulated(rec.cgroup)) problems.push(`${rec.name}: cgroup still has PIDs ${procsIn(rec.cgroup).join(' ')}`);
  return problems;
}

async function teardownHost(rec: HostRecord): Promise<string[]> {
  const problems: string[] = [];
  if (!(await removeCgroup(rec.cgroup))) problems.push(`${rec.name}: cgroup ${rec.cgroup} not removable`);
  const r = await run('/bin/sh', [script('host-net.sh'), 'down', rec.netns, rec.veth]);
  if (r.code !== 0) problems.push(`${rec.name}: network teardown: ${r.stderr.trim()}`);
  return problems;
}

/** Stop hosts (default: all recorded) and remove everything they had. Returns problems, if any. */
export async function stopHosts(names?: string[], graceful = true): Promise<string[]> {
  const all = loadState().hosts;
  const recs = (names ?? Object.keys(all)).map((n) => all[n]).filter((r): r is HostRecord => !!r);
  await Promise.all([...pendingDeletes]); // old upper dirs of resets live inside the host dirs
  const problems = (
    await Promise.all(
      recs.map(async (rec) => {
        const p = [...(await killHost(rec, graceful)), ...(await teardownHost(rec))];
        await removeTree(rec.dir).catch((e: Error) => p.push(`${rec.name}: ${e.message}`));
        updateState((s) => delete s.hosts[rec.name]);
        hostSpecs.delete(rec.name);
        return p;
      }),
    )
  ).flat();
  writeKnownHosts(Object.values(loadState().hosts));
  return problems;
}

/**
 * Give a host back pristine (same name, address, layer, seeds and host key): kill it, swap in an
 * empty upper dir (the old one is deleted in the background), recreate its netns, boot again.
 */
export async function resetHost(name: string): Promise<HostInfo> {
  const rec = record(name);
  const spec = hostSpecs.get(name) ?? { layer: rec.layer, suite: rec.suite ?? DEFAULT_SUITE, seeds: [...globalSeeds] };
  const problems = [...(await killHost(rec, false)), ...(await teardownHost(rec))];
  if (problems.length) throw new Error(`reset of ${name} failed: ${problems.join('; ')}`);
  const trash = path.join(rec.dir, `.old-${Date.now()}`);
  fs.mkdirSync(trash);
  for (const d of ['upper', 'work']) if (fs.existsSync(path.join(rec.dir, d))) fs.renameSync(path.join(rec.dir, d), path.join(trash, d));
  const del = removeTree(trash)
    .catch(() => {})
    .finally(() => pendingDeletes.delete(del));
  pendingDeletes.add(del);
  const fresh: HostRecord = { ...newRecord(name, spec.layer, spec.suite) };
  updateState((s) => (s.hosts[name] = fresh));
  return bootOne(fresh, spec.seeds, 60_000, () => {});
}

/** Currently recorded hosts with a live systemd. */
export function runningHosts(): HostRecord[] {
  return Object.values(loadState().hosts).filter((r) => r.init && isOurs(r.init));
}

/** Memory of a host: summed PSS (kB) of every process in its cgroup. */
export function hostPssKb(name: string): number {
  let kb = 0;
  for (const pid of procsIn(record(name).cgroup)) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
    } catch {
      /* exited meanwhile */
    }
  }
  return kb;
}
