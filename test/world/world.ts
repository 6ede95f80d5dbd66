// The test world's hosts part, as one API: prerequisites, layers, network, hosts, teardown.
//
//   const world = await getWorld();                  // lazily: clean leftovers, build layers, network
//   const hosts = await world.startHosts({ count: 3, layer: 'pkgs' });
//   await world.hostExec('h1', 'systemctl is-active nginx');
//   world.writeInventory(file, hosts, { some_var: 1 });
//   await stopAll();                                   // everything away, nothing left behind

import fs from 'node:fs';
import { stopWorldServices } from './services.js';
import path from 'node:path';
import { WORLD, runPath } from './config.js';
import { cgroup2Root, isPopulated, listWorldCgroups, procsIn, removeCgroup } from './cgroup.js';
import { removeTree } from './fsutil.js';
import {
  addSeedHook,
  hostExec,
  hostExecOk,
  hostPssKb,
  refuseNewHosts,
  resetHost,
  runningHosts,
  startHosts,
  stopHosts,
  type HostInfo,
  type StartHostsOptions,
} from './hosts.js';
import { writeInventory, type InventoryHost } from './inventory.js';
import { clientKeyPath, ensureClientKey, knownHostsPath } from './keys.js';
import { buildLayers, layerReady, pruneLayers, type BuildTimes } from './layers.js';
import { startNetwork, stopNetwork } from './network.js';
import { distWorldDir } from './paths.js';
import { isAlive, readCmdline, readStat, recordProc, run, sleep, waitGone } from './proc.js';
import { loadState, reloadState, statePath, updateState } from './state.js';
import { restoreLimits } from './sysctl.js';

export type { HostInfo, StartHostsOptions } from './hosts.js';
export type { SeedFiles, SeedHelpers } from './seed.js';
export { hostExec, hostExecOk, resetHost, startHosts, stopHosts, addSeedHook, hostPssKb } from './hosts.js';
export { buildLayers, type LayerName, type Suite } from './layers.js';
export { startNetwork, stopNetwork } from './network.js';
export { writeInventory } from './inventory.js';
export { clientKeyPath, knownHostsPath } from './keys.js';

/** Debian package of each program the world runs on the machine. */
const TOOLS: Record<string, string> = {
  ip: 'iproute2',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  setpriv: 'util-linux',
  mount: 'mount',
  dnsmasq: 'dnsmasq-base',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
};

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d && fs.existsSync(path.join(d, cmd)));
}

/** Null when the world can run here, else a one-line reason. */
export async function ensurePrereqs(): Promise<string | null> {
  if (process.platform !== 'linux') return `test world needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `test world needs root (uid ${process.getuid?.()})`;
  const fsTypes = fs.readFileSync('/proc/filesystems', 'utf8');
  for (const t of ['overlay', 'cgroup2']) if (!new RegExp(`\\t${t}$`, 'm').test(fsTypes)) return `test world needs ${t} in /proc/filesystems`;
  if (!cgroup2Root()) return 'test world needs a mounted cgroup2 hierarchy';
  const tools: Record<string, string> = { ...TOOLS, ...(layerReady('pkgs') ? {} : { mmdebstrap: 'mmdebstrap' }) };
  const missing = Object.keys(tools).filter((c) => !onPath(c));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((c) => tools[c]))].join(' ');
    return `test world needs ${missing.join(', ')} (apt-get install ${pkgs})`;
  }
  if (!fs.existsSync(path.join(distWorldDir, 'apt-proxy.js'))) return `test world needs a build (npx tsc -p .): no ${distWorldDir}/apt-proxy.js`;
  const probe = `${WORLD.netnsPrefix}probe-${process.pid}`;
  const add = await run('ip', ['netns', 'add', probe]);
  if (add.code !== 0) return `test world needs network namespaces: ip netns add: ${add.stderr.trim()}`;
  await run('ip', ['netns', 'del', probe]);
  const u = await run('unshare', ['--pid', '--fork', '--mount', '--uts', '--ipc', '--cgroup', 'true']);
  if (u.code !== 0) return `test world needs unshare of pid/mount/uts/ipc/cgroup namespaces: ${u.stderr.trim()}`;
  return null;
}

/** Host-init or systemd of a world host, dnsmasq with the world's config, or the apt proxy. */
function isWorldProcess(pid: number): boolean {
  const cmd = readCmdline(pid) ?? '';
  if (cmd.includes('host-init.sh ') || cmd.includes(runPath('dnsmasq.conf')) || cmd.includes('apt-proxy.js')) return true;
  const parent = readStat(pid)?.ppid;
  return cmd.startsWith('/lib/systemd/systemd') && parent !== undefined && (readCmdline(parent) ?? '').includes('host-init.sh ');
}

/**
 * Remove what a crashed run left without a record. Only names with the world's prefix are touched.
 * Processes: those in a world cgroup whose command line is one the world starts (a host's unshare
 * or systemd, dnsmasq, the apt proxy) get SIGKILL; the rest of a host dies with its PID 1.
 */
async function sweepLeftovers(log: (m: string) => void): Promise<string[]> {
  const problems: string[] = [];
  for (const cg of listWorldCgroups()) {
    for (const pid of procsIn(cg)) {
      const rec = recordProc(pid, '');
      if (rec && isWorldProcess(pid)) {
        log(`killing leftover PID ${pid} (${readCmdline(pid)?.slice(0, 60)})`);
        process.kill(pid, 'SIGKILL');
        await waitGone(rec, 5000);
      }
    }
    const until = Date.now() + 5000;
    while (isPopulated(cg) && Date.now() < until) await sleep(25);
    if (!(await removeCgroup(cg))) problems.push(`cgroup ${cg} still has PIDs ${procsIn(cg).join(' ')}`);
  }
  const nsList = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!);
  for (const ns of nsList.filter((n) => n.startsWith(WORLD.netnsPrefix))) {
    log(`removing leftover netns ${ns}`);
    await run('ip', ['netns', 'del', ns]);
  }
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(': ')[1]?.split('@')[0] ?? '');
  for (const l of links.filter((n) => n.startsWith(WORLD.netnsPrefix) || n === WORLD.bridge)) {
    log(`removing leftover link ${l}`);
    await run('ip', ['link', 'del', l]);
  }
  return problems;
}

/**
 * Stop everything recorded in the state file, then sweep leftovers and remove runDir.
 * Works from the recorded state alone (after a crash, or from another process). Returns problems.
 */
export async function down(log: (m: string) => void = () => {}): Promise<string[]> {
  reloadState();
  // The services (S3, ACME) keep their PID records under runDir, which is removed below: stop them first.
  const problems: string[] = [];
  await stopWorldServices().catch((e: Error) => problems.push(`services: ${e.message}`));
  problems.push(...(await stopHosts()), ...(await stopNetwork()));
  problems.push(...(await sweepLeftovers(log)));
  problems.push(...restoreLimits());
  try {
    await removeTree(WORLD.runDir);
  } catch (e) {
    problems.push((e as Error).message);
  }
  reloadState();
  return problems;
}

export interface World {
  /** Seconds each layer took to build in this process (null: it came from the cache). */
  buildTimes: BuildTimes;
  sshKeyPath: string;
  knownHostsPath: string;
  startHosts(opts: StartHostsOptions): Promise<HostInfo[]>;
  resetHost(name: string): Promise<HostInfo>;
  stopHosts(names?: string[]): Promise<string[]>;
  hostExec: typeof hostExec;
  hostExecOk: typeof hostExecOk;
  addSeedHook: typeof addSeedHook;
  hostPssKb: typeof hostPssKb;
  writeInventory(file: string, hosts: InventoryHost[], extraVars?: Record<string, unknown>, hostVars?: Record<string, Record<string, unknown>>): string;
}

/** Raised when the machine lacks what the world needs (message: one line). */
export class PrereqError extends Error {}

let worldPromise: Promise<World> | null = null;
const teardowns: (() => Promise<void>)[] = [];

/** Register cleanup to run first in stopAll (e.g. other world parts: S3, ACME). */
export function addTeardown(fn: () => Promise<void>): void {
  teardowns.push(fn);
}

async function startWorld(log: (m: string) => void): Promise<World> {
  const reason = await ensurePrereqs();
  if (reason) throw new PrereqError(reason);
  const owner = reloadState().owner;
  if (owner && owner.pid !== process.pid && isAlive(owner)) {
    throw new Error(`the test world is in use by PID ${owner.pid} (${statePath()}); run 'down' to take it over`);
  }
  const leftovers = fs.existsSync(statePath()) || listWorldCgroups().length > 0;
  if (leftovers) {
    log('cleaning up leftovers of an earlier run');
    const problems = await down(log);
    if (problems.length) throw new Error(`could not clean up an earlier world: ${problems.join('; ')}`);
  }
  fs.mkdirSync(WORLD.runDir, { recursive: true });
  const me = recordProc(process.pid, 'node');
  updateState((s) => (s.owner = me ?? undefined));
  installSignalCleanup();
  await ensureClientKey();
  const buildTimes = await buildLayers(log);
  // A new layer replaces older ones (about 0.5 GB each). No host of ours runs now, and another
  // process's world would have stopped us above, so no overlay uses them.
  if (buildTimes.base !== null || buildTimes.pkgs !== null) await pruneLayers(log);
  await startNetwork();
  return {
    buildTimes,
    sshKeyPath: clientKeyPath(),
    knownHostsPath: knownHostsPath(),
    startHosts: (opts) => startHosts({ log, ...opts }),
    resetHost,
    stopHosts: (names) => stopHosts(names),
    hostExec,
    hostExecOk,
    addSeedHook,
    hostPssKb,
    writeInventory,
  };
}

/** The running world, started on first use (memoized; started again after stopAll). */
export function getWorld(log: (m: string) => void = (m) => console.log(`[world] ${m}`)): Promise<World> {
  worldPromise ??= startWorld(log).catch((e) => {
    worldPromise = null;
    throw e;
  });
  return worldPromise;
}

/** Whether this process started a world (even partly) that has not been stopped. */
export function worldStarted(): boolean {
  return worldPromise !== null || reloadState().owner?.pid === process.pid;
}

/** Stop every part (registered teardowns first, then hosts and network) and remove runDir. */
export async function stopAll(log: (m: string) => void = () => {}): Promise<string[]> {
  const pending = worldPromise;
  worldPromise = null;
  await pending?.catch(() => {}); // never tear down under a start that is still running
  const problems: string[] = [];
  for (const t of teardowns.splice(0).reverse()) await t().catch((e: Error) => problems.push(e.message));
  problems.push(...(await down(log)));
  return problems;
}

let signalsInstalled = false;
/** SIGINT/SIGTERM: stop the world, then exit as the signal would have. */
function installSignalCleanup(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n[world] ${sig}: stopping the test world...\n`);
      refuseNewHosts();
      stopAll()
        .then((p) => p.length && process.stderr.write(`[world] cleanup problems: ${p.join('; ')}\n`))
        .finally(() => process.exit(code));
    });
  }
}

/** Hosts with a live systemd (from the recorded state). */
export function hostsStatus(): { name: string; ip: string; layer: string; initPid: number }[] {
  loadState();
  return runningHosts().map((r) => ({ name: r.name, ip: r.ip, layer: r.layer, initPid: r.init!.pid }));
}
