// Test world from the command line (as root):
//   node dist/test/world/cli.js up [--hosts N] [--layer base|pkgs] [--suite bookworm|bullseye]
//                                                                     network + N hosts, inventory in runDir
//   node dist/test/world/cli.js down                                  stop all (from recorded state), clean leftovers
//   node dist/test/world/cli.js status
//   node dist/test/world/cli.js build [--suite S] | prune              build the layers / drop stale ones

import { WORLD, runPath } from './config.js';
import { SUITES, pruneLayers, type LayerName, type Suite } from './layers.js';
import { isAlive } from './proc.js';
import { loadState, updateState } from './state.js';
import { buildLayers, down, ensurePrereqs, getWorld, hostsStatus } from './world.js';

const log = (m: string) => console.log(m);

function flag(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

function suiteFlag(args: string[]): Suite {
  const suite = flag(args, '--suite', 'bookworm') as Suite;
  if (!SUITES.includes(suite)) throw new Error(`--suite must be one of ${SUITES.join(', ')}`);
  return suite;
}

async function up(args: string[]): Promise<number> {
  const count = Number(flag(args, '--hosts', '3'));
  const layer = flag(args, '--layer', 'pkgs') as LayerName;
  if (!Number.isInteger(count) || count < 0 || count > WORLD.maxHosts) throw new Error(`--hosts must be 0..${WORLD.maxHosts}`);
  if (layer !== 'base' && layer !== 'pkgs') throw new Error('--layer must be base or pkgs');
  const suite = suiteFlag(args);
  const t0 = Date.now();
  const world = await getWorld(log);
  const t1 = Date.now();
  const hosts = count ? await world.startHosts({ count, layer, suite }) : [];
  const t2 = Date.now();
  const inv = world.writeInventory(runPath('inventory.yml'), hosts);
  updateState((s) => delete s.owner); // the world outlives this command
  log(`world up: network in ${((t1 - t0) / 1000).toFixed(1)} s, ${hosts.length} ${suite} ${layer} host(s) in ${((t2 - t1) / 1000).toFixed(1)} s`);
  for (const h of hosts) log(`  ${h.name}  ${h.ip}  ${h.systemState}${h.failedUnits.length ? ` (failed: ${h.failedUnits.join(', ')})` : ''}`);
  log(`inventory: ${inv}\nssh: ssh -i ${world.sshKeyPath} -o UserKnownHostsFile=${world.knownHostsPath} root@<ip>`);
  return 0;
}

async function status(): Promise<number> {
  const s = loadState();
  const svc = (name: string, rec?: { pid: number; startTime: string; expect: string }) =>
    log(`${name}: ${rec ? (isAlive(rec) ? `running (PID ${rec.pid})` : `dead (PID ${rec.pid})`) : 'not started'}`);
  log(`bridge: ${s.bridge ?? 'none'}`);
  svc('dnsmasq', s.dnsmasq);
  svc('apt proxy', s.aptProxy);
  const live = hostsStatus();
  log(`hosts: ${live.length} running of ${Object.keys(s.hosts).length} recorded`);
  for (const h of live) log(`  ${h.name}  ${h.ip}  ${h.layer}  systemd PID ${h.initPid}`);
  return 0;
}

async function main(): Promise<number> {
  const [cmd, ...args] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
      return up(args);
    case 'down': {
      const t0 = Date.now();
      const problems = await down(log);
      log(`world down in ${((Date.now() - t0) / 1000).toFixed(2)} s${problems.length ? `; problems:\n  ${problems.join('\n  ')}` : ''}`);
      return problems.length ? 1 : 0;
    }
    case 'status':
      return status();
    case 'build': {
      const reason = await ensurePrereqs();
      if (reason) throw new Error(reason);
      const t = await buildLayers(log, suiteFlag(args));
      const took = (s: number | null) => (s === null ? 'cached' : `built in ${s.toFixed(1)} s`);
      log(`layers ready: base ${took(t.base)}, pkgs ${took(t.pkgs)}`);
      return 0;
    }
    case 'prune':
      await pruneLayers(log);
      return 0;
    default:
      console.error('usage: cli.js up [--hosts N] [--layer base|pkgs] [--suite bookworm|bullseye] | down | status | build [--suite S] | prune');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);
