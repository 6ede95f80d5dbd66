// Private network namespaces for testing the world's services without the hosts part.
// The "gateway" namespace holds the world's gateway address (10.231.0.1) on a bridge, so services
// bind exactly as they will in the world, yet nothing clashes with a running world. Test "hosts"
// are further namespaces with a veth on that bridge (as the world's hosts have), so a host's
// nginx may take port 443 on all its addresses, as certbot makes it do, beside radosgw's 443.
// A small dnsmasq answers the test names; `run(..., { dns: true })` points resolv.conf at it
// through a private mount namespace (the machine's /etc is never touched).

import fsp from 'node:fs/promises';
import path from 'node:path';
import { RunOptions, isAlive, run, spawnDaemon, stopDaemon, tailFile, waitUntil } from './services-proc.js';

export type NsRunOptions = RunOptions & { dns?: boolean; host?: string };

export interface TestNetns {
  /** The gateway namespace. */
  name: string;
  dir: string;
  /** Starts dnsmasq on <ip>:53 answering each domain (and its subdomains) with its address. */
  startDns(ip: string, records: Record<string, string>): Promise<void>;
  /** Adds a host namespace with `cidr` on eth0, bridged to the gateway; returns its netns name. */
  addHost(label: string, cidr: string, gateway: string): Promise<string>;
  /** argv in the gateway namespace (or opts.host); with dns, resolv.conf names the test DNS. */
  run(argv: string[], opts?: NsRunOptions): ReturnType<typeof run>;
  destroy(): Promise<void>;
}

async function killAllIn(ns: string): Promise<void> {
  // Safety net: these namespaces are ours alone, so whatever still runs in one was started by the
  // test and lost its pid file (e.g. its dir was wiped); without this it would outlive the name.
  for (const sig of ['TERM', 'KILL']) {
    const list = async () => (await run(['ip', 'netns', 'pids', ns], { allowFail: true })).stdout.split(/\s+/).filter(Boolean);
    const pids = (await list()).filter((p) => isAlive(Number(p)));
    if (!pids.length) return;
    await run(['kill', `-${sig}`, ...pids], { allowFail: true });
    await waitUntil(`processes in ${ns} to exit`, async () => (await list()).every((p) => !isAlive(Number(p))), {
      timeoutMs: 10_000,
    }).catch(() => {});
  }
}

export async function createTestNetns(name: string, dir: string, addrs: string[]): Promise<TestNetns> {
  await fsp.mkdir(dir, { recursive: true });
  const namespaces = [name];
  const hostNs = (label: string) => `${name}-${label}`;
  await run(['ip', 'netns', 'del', name], { allowFail: true }); // leftover of a crashed run
  await run(['ip', 'netns', 'add', name]);
  const ip = (ns: string, args: string[]) => run(['ip', '-n', ns, ...args]);
  await ip(name, ['link', 'set', 'lo', 'up']);
  // The dummy module is not available here; a bridge carries local addresses just as well.
  await ip(name, ['link', 'add', 'gw0', 'type', 'bridge']);
  for (const a of addrs) await ip(name, ['addr', 'add', a, 'dev', 'gw0']);
  await ip(name, ['link', 'set', 'gw0', 'up']);

  const resolv = path.join(dir, 'resolv.conf');
  let dnsUp = false;
  const nsRun = (argv: string[], opts: NsRunOptions = {}) => {
    const ns = opts.host ?? name;
    if (!opts.dns) return run(argv, { ...opts, netns: ns });
    if (!dnsUp) throw new Error('startDns first');
    const wrapped = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, ...argv];
    return run(wrapped, { ...opts, netns: ns });
  };

  return {
    name,
    dir,
    async startDns(listen, records) {
      const args = Object.entries(records).map(([dom, addr]) => `--address=/${dom}/${addr}`);
      const d = await spawnDaemon({
        name: 'dnsmasq',
        dir,
        netns: name,
        argv: [
          'dnsmasq',
          '--keep-in-foreground',
          '--conf-file=/dev/null',
          '--no-resolv',
          '--no-hosts',
          '--bind-interfaces',
          `--listen-address=${listen}`,
          '--port=53',
          '--user=root',
          '--pid-file=',
          '--log-facility=-',
          '--log-queries',
          ...args,
        ],
      });
      await fsp.writeFile(resolv, `nameserver ${listen}\n`);
      dnsUp = true;
      const probe = Object.keys(records)[0];
      await waitUntil('test dnsmasq', async () => (await nsRun(['getent', 'hosts', probe], { dns: true, allowFail: true })).code === 0, {
        timeoutMs: 10_000,
        diag: () => tailFile(d.logFile),
      });
    },
    async addHost(label, cidr, gateway) {
      const h = hostNs(label);
      await run(['ip', 'netns', 'del', h], { allowFail: true });
      await run(['ip', 'netns', 'add', h]);
      namespaces.push(h);
      const veth = `vh-${label}`.slice(0, 15);
      await ip(name, ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h]);
      await ip(name, ['link', 'set', veth, 'master', 'gw0', 'up']);
      await ip(h, ['link', 'set', 'lo', 'up']);
      await ip(h, ['addr', 'add', cidr, 'dev', 'eth0']);
      await ip(h, ['link', 'set', 'eth0', 'up']);
      await ip(h, ['route', 'add', 'default', 'via', gateway]);
      return h;
    },
    run: nsRun,
    async destroy() {
      await stopDaemon(path.join(dir, 'pids', 'dnsmasq.pid'), 3000);
      for (const ns of namespaces.reverse()) {
        await killAllIn(ns);
        await run(['ip', 'netns', 'del', ns], { allowFail: true });
      }
    },
  };
}
