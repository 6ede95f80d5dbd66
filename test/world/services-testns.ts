// A private network namespace for testing the world's services without the hosts part: it holds
// the world's addresses (10.231.0.1 and maybe a stand-in host address) on a port-less bridge, so
// services bind exactly as they will in the world, but nothing clashes with a running world.
// A small dnsmasq in it answers the test names; `run(..., { dns: true })` points resolv.conf at it
// through a private mount namespace (the machine's /etc is never touched).

import fsp from 'node:fs/promises';
import path from 'node:path';
import { RunOptions, isAlive, run, spawnDaemon, stopDaemon, tailFile, waitUntil } from './services-proc.js';

export interface TestNetns {
  name: string;
  dir: string;
  /** Starts dnsmasq on <ip>:53 answering each domain (and its subdomains) with its address. */
  startDns(ip: string, records: Record<string, string>): Promise<void>;
  /** argv inside the namespace; with dns, /etc/resolv.conf is replaced by one naming the test DNS. */
  run(argv: string[], opts?: RunOptions & { dns?: boolean }): ReturnType<typeof run>;
  /** argv for a long-running process inside the namespace with the test DNS (for spawnDaemon). */
  wrap(argv: string[]): string[];
  destroy(): Promise<void>;
}

export async function createTestNetns(name: string, dir: string, addrs: string[]): Promise<TestNetns> {
  await fsp.mkdir(dir, { recursive: true });
  await run(['ip', 'netns', 'del', name], { allowFail: true }); // leftover of a crashed run
  await run(['ip', 'netns', 'add', name]);
  const ip = (args: string[]) => run(['ip', '-n', name, ...args]);
  await ip(['link', 'set', 'lo', 'up']);
  // The dummy module is not available here; an empty bridge carries local addresses just as well.
  await ip(['link', 'add', 'gw0', 'type', 'bridge']);
  for (const a of addrs) await ip(['addr', 'add', a, 'dev', 'gw0']);
  await ip(['link', 'set', 'gw0', 'up']);

  const resolv = path.join(dir, 'resolv.conf');
  const wrap = (argv: string[]): string[] => [
    'ip', 'netns', 'exec', name,
    'unshare', '--mount', '--propagation', 'private',
    'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, ...argv,
  ];
  let dnsUp = false;
  const nsRun = (argv: string[], opts: RunOptions & { dns?: boolean } = {}) => {
    if (!opts.dns) return run(argv, { ...opts, netns: name });
    if (!dnsUp) throw new Error('startDns first');
    return run(wrap(argv), opts);
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
        argv: ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
          '--bind-interfaces', `--listen-address=${listen}`, '--port=53', '--user=root', '--pid-file=',
          '--log-facility=-', '--log-queries', ...args],
      });
      await fsp.writeFile(resolv, `nameserver ${listen}\n`);
      dnsUp = true;
      const probe = Object.keys(records)[0];
      await waitUntil('test dnsmasq', async () => (await nsRun(['getent', 'hosts', probe], { dns: true, allowFail: true })).code === 0, {
        timeoutMs: 10_000,
        diag: () => tailFile(d.logFile),
      });
    },
    run: nsRun,
    wrap,
    async destroy() {
      await stopDaemon(path.join(dir, 'pids', 'dnsmasq.pid'), 3000);
      // Safety net: the namespace is ours alone, so whatever still runs in it was started by this
      // test and lost its pid file (e.g. its dir was wiped); without this it would outlive the name.
      for (const sig of ['TERM', 'KILL']) {
        const pids = (await run(['ip', 'netns', 'pids', name], { allowFail: true })).stdout.split(/\s+/).filter(Boolean);
        if (!pids.length) break;
        await run(['kill', `-${sig}`, ...pids], { allowFail: true });
        await waitUntil(`processes in ${name} to exit`, async () => {
          const left = (await run(['ip', 'netns', 'pids', name], { allowFail: true })).stdout.trim();
          return left === '' || left.split(/\s+/).every((p) => !isAlive(Number(p)));
        }, { timeoutMs: 10_000 }).catch(() => {});
      }
      await run(['ip', 'netns', 'del', name], { allowFail: true });
    },
  };
}
