// The world's network in the root namespace: the bridge (gateway address), a dnsmasq that answers
// only the world's names (no upstream), and the apt proxy. Both services run in the `net` cgroup.

import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { WORLD, hostDomain, hostIp, runPath } from './config.js';
import { ensureCgroup, removeCgroup, worldCgroup } from './cgroup.js';
import { distWorldDir, script } from './paths.js';
import { isAlive, run, runOk, sleep, spawnDetached, stopRecorded, type ProcRecord } from './proc.js';
import { loadState, updateState } from './state.js';

/** dnsmasq config: `*.world.test` -> gateway, `h<i>.test` and `*.h<i>.test` -> host i; nothing else. */
export function dnsmasqConfig(maxHosts = WORLD.maxHosts): string {
  const lines = [
    '# Test world DNS (generated). Answers only the names below; never forwards anywhere.',
    `port=${WORLD.dnsPort}`,
    `listen-address=${WORLD.gatewayIp}`,
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'user=nobody',
    'group=nogroup',
    'pid-file=',
    'log-facility=-',
    `local=/${WORLD.tld}/`,
    // `local=` beside each `address=`: other record types (AAAA) get NODATA, not NXDOMAIN, as a real
    // zone answers; nginx's resolver treats an NXDOMAIN for AAAA as "host not found".
    `address=/world.${WORLD.tld}/${WORLD.gatewayIp}`,
    `local=/world.${WORLD.tld}/`,
    // The second S3 provider has an address of its own (the most specific name wins).
    `address=/${WORLD.s3b.endpoint}/${WORLD.s3b.ip}`,
    `local=/${WORLD.s3b.endpoint}/`,
  ];
  for (let i = 1; i <= maxHosts; i++) lines.push(`address=/${hostDomain(i)}/${hostIp(i)}`, `local=/${hostDomain(i)}/`);
  return lines.join('\n') + '\n';
}

const DNSMASQ_CONF = () => runPath('dnsmasq.conf');

async function bridgeExists(): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', WORLD.bridge])).code === 0;
}

async function startBridge(): Promise<void> {
  updateState((s) => (s.bridge = WORLD.bridge)); // recorded first: a crash right after still gets cleaned
  // A fixed MAC: otherwise the bridge takes its lowest port's, which changes as hosts come and go,
  // and the hosts' ARP entries for the gateway go stale.
  const mac =
    '02:00:' +
    WORLD.gatewayIp
      .split('.')
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join(':');
  if (!(await bridgeExists())) await runOk('ip', ['link', 'add', WORLD.bridge, 'address', mac, 'type', 'bridge']);
  // IPv4 only on the world's links: no link-local IPv6 chatter, no address outside the scheme.
  fs.writeFileSync(`/proc/sys/net/ipv6/conf/${WORLD.bridge}/disable_ipv6`, '1');
  await run('ip', ['addr', 'replace', `${WORLD.gatewayIp}/${WORLD.prefixLen}`, 'dev', WORLD.bridge]);
  await run('ip', ['addr', 'replace', `${WORLD.s3b.ip}/${WORLD.prefixLen}`, 'dev', WORLD.bridge]);
  await runOk('ip', ['link', 'set', WORLD.bridge, 'up']);
}

function tail(file: string, n = 10): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Poll `probe` until it succeeds; fail early if the service died, showing its log. */
async function waitReady(what: string, rec: ProcRecord, logFile: string, probe: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (!isAlive(rec)) throw new Error(`${what} exited at start; log ${logFile}:\n${tail(logFile)}`);
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`${what} not ready after 10 s; log ${logFile}:\n${tail(logFile)}`);
}

/** Resolve a name with the world's DNS server (IPv4 answers), or null when it has no answer. */
export async function worldResolve(name: string): Promise<string[] | null> {
  const r = new dns.promises.Resolver({ timeout: 500, tries: 1 });
  r.setServers([WORLD.gatewayIp]);
  try {
    return await r.resolve4(name);
  } catch {
    return null;
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 500 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

async function startDnsmasq(cg: string): Promise<void> {
  if (loadState().dnsmasq && isAlive(loadState().dnsmasq!)) return;
  fs.writeFileSync(DNSMASQ_CONF(), dnsmasqConfig());
  const log = runPath('dnsmasq.log');
  const rec = spawnDetached(script('in-cgroup.sh'), [cg, 'dnsmasq', '--keep-in-foreground', `--conf-file=${DNSMASQ_CONF()}`], log, DNSMASQ_CONF());
  if (!rec) throw new Error(`dnsmasq did not start; log ${log}:\n${tail(log)}`);
  updateState((s) => (s.dnsmasq = rec));
  await waitReady('dnsmasq', rec, log, async () => (await worldResolve(`probe.world.${WORLD.tld}`)) !== null);
}

async function startAptProxy(cg: string): Promise<void> {
  if (loadState().aptProxy && isAlive(loadState().aptProxy!)) return;
  const log = runPath('apt-proxy.log');
  const js = path.join(distWorldDir, 'apt-proxy.js');
  const rec = spawnDetached(script('in-cgroup.sh'), [cg, process.execPath, js, WORLD.gatewayIp, String(WORLD.aptProxyPort)], log, 'apt-proxy.js');
  if (!rec) throw new Error(`apt proxy did not start; log ${log}:\n${tail(log)}`);
  updateState((s) => (s.aptProxy = rec));
  await waitReady('apt proxy', rec, log, () => tcpOpen(WORLD.gatewayIp, WORLD.aptProxyPort));
}

/** Bridge + DNS + apt proxy. Idempotent: parts that already run are kept. */
export async function startNetwork(): Promise<void> {
  fs.mkdirSync(WORLD.runDir, { recursive: true });
  await startBridge();
  const cg = worldCgroup('net');
  ensureCgroup(cg);
  updateState((s) => (s.netCgroup = cg));
  await Promise.all([startDnsmasq(cg), startAptProxy(cg)]);
}

/** Stop the services (by recorded PID), remove their cgroup and the bridge. */
export async function stopNetwork(): Promise<string[]> {
  const problems: string[] = [];
  const s = loadState();
  for (const key of ['aptProxy', 'dnsmasq'] as const) {
    const rec = s[key];
    if (rec && !(await stopRecorded(rec, 'SIGTERM', 3000))) problems.push(`${key} (PID ${rec.pid}) did not stop`);
    updateState((st) => delete st[key]);
  }
  if (s.netCgroup) {
    if (!(await removeCgroup(s.netCgroup))) problems.push(`cgroup ${s.netCgroup} not removable`);
    updateState((st) => delete st.netCgroup);
  }
  if (s.bridge) {
    if (await bridgeExists()) {
      const r = await run('ip', ['link', 'del', s.bridge]);
      if (r.code !== 0) problems.push(`bridge ${s.bridge}: ${r.stderr.trim()}`);
    }
    updateState((st) => delete st.bridge);
  }
  return problems;
}
