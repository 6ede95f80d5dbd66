// e2e: the test world's hosts. Real systemd, sshd, apt, nginx in network namespaces on this machine.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WORLD, runPath } from '../world/config.js';
import os from 'node:os';
import { mirrorHostPorts, parseDeb822, parseOneLine, rewriteSuite } from '../world/apt-sources.js';
import { refusal } from '../world/apt-proxy.js';
import { knownHostsLine } from '../world/keys.js';
import { withLock } from '../world/lock.js';
import { dnsmasqConfig } from '../world/network.js';
import { resolveDir, seedHelpers } from '../world/seed.js';
import { listWorldCgroups } from '../world/cgroup.js';
import { mountsUnder } from '../world/fsutil.js';
import { inventoryYaml } from '../world/inventory.js';
import { worldResolve } from '../world/network.js';
import { readCmdline, run, sleep, type RunResult } from '../world/proc.js';
import { getWorld, stopAll, type HostInfo, type World } from '../world/world.js';
import YAML from 'yaml';

function ssh(world: World, ip: string, command: string, knownHosts = world.knownHostsPath): Promise<RunResult> {
  return run(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-i',
      world.sshKeyPath,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      `root@${ip}`,
      command,
    ],
    { timeoutMs: 120_000 },
  );
}

async function sshOk(world: World, ip: string, command: string): Promise<string> {
  const r = await ssh(world, ip, command);
  assert.equal(r.code, 0, `ssh ${ip} '${command}' failed: ${r.stderr}`);
  return r.stdout;
}

/** Poll until `check` returns a value (not undefined) or the deadline passes. */
async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function nginxPids(world: World, name: string): Promise<{ master: string; workers: string[] }> {
  const master = (await world.hostExecOk(name, 'systemctl show -p MainPID --value nginx')).stdout.trim();
  const workers = (await world.hostExec(name, `pgrep -P ${master}`)).stdout.trim().split('\n').filter(Boolean).sort();
  return { master, workers };
}

describe('test world: parts that need no world', function () {
  it('reads mirrors from deb822 and one-line apt sources, skipping disabled and deb-src entries', function () {
    const deb822 = [
      '# a comment',
      'Types: deb',
      'URIs: http://mirror.invalid/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://security.invalid/debian-security',
      'Suites: bookworm-security',
      '',
      'Types: deb',
      'Enabled: no',
      'URIs: http://off.invalid/debian',
      'Suites: bookworm',
      '',
      'Types: deb-src',
      'URIs: http://src.invalid/debian',
      'Suites: bookworm',
      '',
    ].join('\n');
    const a = parseDeb822(deb822, 'x.sources');
    assert.deepEqual(
      a.map((s) => s.uri),
      ['http://mirror.invalid/debian', 'http://security.invalid/debian-security'],
    );
    assert.deepEqual(a[0]!.suites, ['bookworm', 'bookworm-updates']);
    const b = parseOneLine(
      'deb [signed-by=/k.gpg] http://one.invalid:8080/debian bookworm main\n# deb http://no.invalid/ x y\ndeb https://tls.invalid/ bookworm main\n',
    );
    assert.deepEqual(
      b.map((s) => s.uri),
      ['http://one.invalid:8080/debian', 'https://tls.invalid/'],
    );
    assert.deepEqual(mirrorHostPorts([...a, ...b]), ['mirror.invalid:80', 'one.invalid:8080', 'security.invalid:80']);
  });

  it('rewrites the machine sources for bullseye: suites, -updates, -security; no non-free-firmware', function () {
    const text = [
      'Types: deb',
      'URIs: http://mirror.invalid/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main contrib non-free non-free-firmware',
      '',
      'Types: deb',
      'URIs: http://security.invalid/debian-security',
      'Suites: bookworm-security',
      'Components: main non-free-firmware',
      '',
    ].join('\n');
    const out = parseDeb822(rewriteSuite(text, 'bookworm', 'bullseye'));
    assert.deepEqual(
      out.map((s) => s.suites),
      [['bullseye', 'bullseye-updates'], ['bullseye-security']],
    );
    assert.doesNotMatch(rewriteSuite(text, 'bookworm', 'bullseye'), /non-free-firmware|bookworm/);
    assert.match(rewriteSuite(text, 'bookworm', 'bullseye'), /Components: main contrib non-free\n/);
    assert.equal(rewriteSuite('deb http://m.invalid/debian bookworm main\n', 'bookworm', 'bullseye'), 'deb http://m.invalid/debian bullseye main\n');
  });

  it('apt proxy policy: GET/HEAD to a mirror host only', function () {
    const allowed = new Set(['mirror.invalid:80']);
    assert.equal(refusal('GET', 'http://mirror.invalid/debian/dists/bookworm/InRelease', allowed), null);
    assert.equal(refusal('HEAD', 'http://mirror.invalid:80/x', allowed), null);
    assert.match(refusal('POST', 'http://mirror.invalid/x', allowed)!, /method POST/);
    assert.match(refusal('GET', 'http://other.invalid/x', allowed)!, /not an apt mirror/);
    assert.match(refusal('GET', 'http://mirror.invalid:8080/x', allowed)!, /not an apt mirror/);
    assert.match(refusal('GET', 'https://mirror.invalid/x', allowed)!, /scheme/);
    assert.match(refusal('GET', '/relative', allowed)!, /absolute/);
    assert.match(refusal('GET', 'http://u:p@mirror.invalid/x', allowed)!, /credentials/);
  });

  it('dnsmasq answers world names only and never forwards', function () {
    const conf = dnsmasqConfig(3);
    assert.match(conf, /^no-resolv$/m);
    assert.doesNotMatch(conf, /^server=/m);
    assert.match(conf, /^address=\/world\.test\/10\.231\.0\.1$/m);
    assert.match(conf, /^address=\/h3\.test\/10\.231\.0\.13$/m);
    assert.doesNotMatch(conf, /h4\.test/);
  });

  it('known_hosts lines carry the address and the names of a host', function () {
    assert.equal(knownHostsLine(2, 'h2', 'ssh-ed25519 AAAAKEY root@h2\n'), '10.231.0.12,h2,h2.test ssh-ed25519 AAAAKEY');
  });

  it('seeds files through layer symlinks, with directory modes taken from the layers', function () {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-seed-'));
    try {
      const lower = path.join(tmp, 'lower');
      const upper = path.join(tmp, 'upper');
      fs.mkdirSync(path.join(lower, 'usr/lib/systemd'), { recursive: true });
      fs.mkdirSync(path.join(lower, 'root'), { mode: 0o700 });
      fs.chmodSync(path.join(lower, 'root'), 0o700);
      fs.mkdirSync(path.join(lower, 'etc'));
      fs.symlinkSync('usr/lib', path.join(lower, 'lib'));
      fs.symlinkSync('/usr/lib/systemd', path.join(lower, 'etc/sd'));
      fs.mkdirSync(upper);
      assert.equal(resolveDir([upper, lower], '/lib/systemd/system'), '/usr/lib/systemd/system');
      assert.equal(resolveDir([upper, lower], '/etc/sd/x'), '/usr/lib/systemd/x');
      const h = seedHelpers(upper, [lower]);
      h.writeFile('/lib/systemd/system/a.service', '[Unit]\n');
      h.writeFile('/root/.ssh/authorized_keys', 'k\n', { mode: 0o600 });
      assert.equal(fs.readFileSync(path.join(upper, 'usr/lib/systemd/system/a.service'), 'utf8'), '[Unit]\n');
      assert.equal(fs.existsSync(path.join(upper, 'lib')), false, 'the symlink is not shadowed by a directory');
      assert.equal(fs.statSync(path.join(upper, 'root')).mode & 0o777, 0o700);
      assert.equal(fs.statSync(path.join(upper, 'root/.ssh/authorized_keys')).mode & 0o777, 0o600);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("a lock is held by one at a time and a dead owner's lock is taken over", async function () {
    this.timeout(10_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-lock-'));
    try {
      const file = path.join(tmp, 'l.lock');
      const events: string[] = [];
      const holder = (n: string) =>
        withLock(file, async () => {
          events.push(`${n}+`);
          await sleep(300);
          events.push(`${n}-`);
        });
      await Promise.all([holder('a'), holder('b')]);
      assert.deepEqual(events, ['a+', 'a-', 'b+', 'b-']);
      fs.writeFileSync(file, JSON.stringify({ pid: 999999, startTime: '1', expect: 'node' })); // no such process
      assert.equal(await withLock(file, async () => 'taken'), 'taken');
      assert.equal(fs.existsSync(file), false);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('test world: hosts', function () {
  let world: World;

  before(async function () {
    this.timeout(20 * 60_000); // a cold first run builds the layers (about 2-3 min here)
    world = await getWorld();
  });

  describe('three hosts on the pkgs layer', function () {
    let hosts: HostInfo[];

    before(async function () {
      this.timeout(180_000);
      hosts = await world.startHosts({ count: 3, layer: 'pkgs' });
    });

    it('boots real systemd as PID 1 to state running on each host', async function () {
      for (const h of hosts) {
        assert.equal(h.systemState, 'running', `${h.name} failed units: ${h.failedUnits.join(', ')}`);
        const r = await world.hostExecOk(h.name, 'cat /proc/1/comm; hostname; systemctl is-system-running; systemd-detect-virt -c');
        assert.deepEqual(r.stdout.trim().split('\n'), ['systemd', h.name, 'running', 'lxc']);
      }
    });

    it('runs a command and writes a file over ssh on 3 hosts in parallel, host keys checked', async function () {
      this.timeout(60_000);
      const outs = await Promise.all(hosts.map((h) => sshOk(world, h.ip, `hostname; echo written-by-test-${h.name} > /root/marker; cat /root/marker`)));
      outs.forEach((o, i) => assert.equal(o, `${hosts[i]!.name}\nwritten-by-test-${hosts[i]!.name}\n`));
      // Each file landed on its own host only (seen without ssh, from the host's namespaces).
      for (const h of hosts) {
        assert.equal((await world.hostExecOk(h.name, 'cat /root/marker')).stdout, `written-by-test-${h.name}\n`);
      }
      const inUpper = hosts.map((h) => fs.existsSync(path.join(h.upperDir, 'root', 'marker')));
      assert.deepEqual(inUpper, [true, true, true]);
    });

    it('refuses a host whose key does not match known_hosts (checking is really on)', async function () {
      this.timeout(30_000);
      const lines = fs.readFileSync(world.knownHostsPath, 'utf8').trim().split('\n');
      const h1 = lines.find((l) => l.startsWith(`${hosts[0]!.ip},`))!;
      const h2Key = lines
        .find((l) => l.startsWith(`${hosts[1]!.ip},`))!
        .split(' ')
        .slice(1)
        .join(' ');
      const wrong = runPath('known_hosts.wrong');
      fs.writeFileSync(wrong, `${h1.split(' ')[0]} ${h2Key}\n`);
      const r = await ssh(world, hosts[0]!.ip, 'true', wrong);
      fs.rmSync(wrong);
      assert.equal(r.code, 255);
      assert.match(r.stderr, /Host key verification failed/);
    });

    it('resolves the world names inside a host, and nothing else', async function () {
      const r = await world.hostExecOk('h1', 'getent ahostsv4 s3.world.test h2.test x.y.h3.test | awk \'$2=="STREAM"{print $1}\'; cat /etc/resolv.conf');
      assert.deepEqual(r.stdout.trim().split('\n'), ['10.231.0.1', '10.231.0.12', '10.231.0.13', `nameserver ${WORLD.gatewayIp}`]);
      const other = await world.hostExec('h1', 'getent hosts example.org');
      assert.equal(other.code, 2, 'no upstream forwarding: unknown names do not resolve');
      assert.deepEqual(await worldResolve('bucket.s3.world.test'), [WORLD.gatewayIp]);
    });

    it('has no route out of the world subnet', async function () {
      const r = await world.hostExec('h1', 'ip -4 route; ip route get 192.0.2.1');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /unreachable/i);
      assert.doesNotMatch(r.stdout, /default/);
    });

    it('checks and reloads nginx with systemctl: the worker PIDs change, the master stays', async function () {
      this.timeout(30_000);
      assert.equal((await world.hostExec('h2', 'systemctl is-active nginx')).stdout.trim(), 'active');
      const before = await nginxPids(world, 'h2');
      assert.ok(before.workers.length > 0, 'nginx has workers');
      const t = await sshOk(world, hosts[1]!.ip, 'nginx -t 2>&1 && systemctl reload nginx && echo reloaded');
      assert.match(t, /test is successful/);
      assert.match(t, /reloaded/);
      const after = await eventually('new nginx workers', 15_000, async () => {
        const p = await nginxPids(world, 'h2');
        const fresh = p.workers.length > 0 && p.workers.every((w) => !before.workers.includes(w));
        return fresh ? p : undefined;
      });
      assert.equal(after.master, before.master);
    });

    it('brings nginx back after kill -9 with a Restart=always drop-in', async function () {
      this.timeout(60_000);
      await sshOk(
        world,
        hosts[2]!.ip,
        'mkdir -p /etc/systemd/system/nginx.service.d && ' +
          "printf '[Service]\\nRestart=always\\nRestartSec=5\\n' > /etc/systemd/system/nginx.service.d/override.conf && " +
          'systemctl daemon-reload',
      );
      const show = await world.hostExecOk('h3', 'systemctl show nginx -p Restart -p RestartUSec');
      assert.deepEqual(show.stdout.trim().split('\n').sort(), ['Restart=always', 'RestartUSec=5s']);
      const { master } = await nginxPids(world, 'h3');
      await world.hostExecOk('h3', `kill -9 ${master}`);
      const back = await eventually('nginx restarted by systemd', 30_000, async () => {
        const r = await world.hostExec('h3', 'systemctl show nginx -p ActiveState -p MainPID -p NRestarts');
        const p = Object.fromEntries(
          r.stdout
            .trim()
            .split('\n')
            .map((l) => l.split('=', 2)),
        );
        return p.ActiveState === 'active' && p.MainPID !== master && p.MainPID !== '0' ? { restarts: p.NRestarts } : undefined;
      });
      assert.equal(back.restarts, '1');
      const page = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${hosts[2]!.ip}/`]);
      assert.equal(page.stdout, '200');
    });

    it('resets a host to pristine, keeping its name, address and host key', async function () {
      this.timeout(60_000);
      await sshOk(world, hosts[0]!.ip, 'touch /root/dirty && systemctl stop nginx && apt-get remove -y -q s3cmd >/dev/null 2>&1');
      assert.equal((await world.hostExec('h1', 'systemctl is-active nginx')).stdout.trim(), 'inactive');
      const h = await world.resetHost('h1');
      assert.equal(h.systemState, 'running');
      const out = await sshOk(world, h.ip, 'hostname; test -e /root/dirty && echo dirty; systemctl is-active nginx; command -v s3cmd');
      assert.equal(out, 'h1\nactive\n/usr/bin/s3cmd\n');
      // The other hosts were not touched.
      assert.equal((await world.hostExecOk('h2', 'cat /root/marker')).stdout, 'written-by-test-h2\n');
    });

    it('writes an Ansible-style inventory of the hosts', function () {
      const file = runPath('inventory.test.yml');
      world.writeInventory(file, hosts, { s3_bucket: 'media' });
      const inv = YAML.parse(fs.readFileSync(file, 'utf8'));
      assert.deepEqual(Object.keys(inv.all.hosts), ['h1', 'h2', 'h3']);
      assert.deepEqual(inv.all.hosts.h2, {
        ansible_host: '10.231.0.12',
        ansible_user: 'root',
        ansible_ssh_private_key_file: world.sshKeyPath,
      });
      assert.equal(inv.all.vars.s3_bucket, 'media');
      assert.match(inv.all.vars.ansible_ssh_common_args, /StrictHostKeyChecking=yes/);
      assert.equal(fs.readFileSync(file, 'utf8'), inventoryYaml(hosts, { s3_bucket: 'media' }));
    });
  });

  describe('a host on the base layer', function () {
    before(async function () {
      this.timeout(120_000);
      await world.startHosts({ names: ['h4'], layer: 'base' });
    });

    it('installs nginx for real with apt-get through the apt proxy', async function () {
      this.timeout(240_000);
      assert.notEqual((await world.hostExec('h4', 'dpkg -s nginx')).code, 0, 'nginx not installed on base');
      const proxyLog = runPath('apt-proxy.log');
      const logBefore = fs.readFileSync(proxyLog, 'utf8').length;
      const up = await world.hostExec('h4', 'apt-get update 2>&1', { timeoutMs: 120_000 });
      assert.equal(up.code, 0, up.stdout);
      const passed = fs
        .readFileSync(proxyLog, 'utf8')
        .slice(logBefore)
        .split('\n')
        .filter((l) => /^\S+ (200|304) GET /.test(l));
      assert.ok(passed.length > 0, 'apt-get update went through the proxy');
      const inst = await world.hostExec('h4', 'DEBIAN_FRONTEND=noninteractive apt-get install -y nginx 2>&1', { timeoutMs: 180_000 });
      assert.equal(inst.code, 0, inst.stdout.split('\n').slice(-20).join('\n'));
      assert.equal((await world.hostExec('h4', 'systemctl is-active nginx')).stdout.trim(), 'active');
      const page = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.231.0.14/']);
      assert.equal(page.stdout, '200');
    });

    it('the apt proxy answers 403 to other hosts, other methods and CONNECT', async function () {
      this.timeout(30_000);
      // %{http_connect} is the proxy's answer to CONNECT, %{http_code} the answer to a plain request.
      const code = async (args: string, what = 'http_code') =>
        (await world.hostExec('h4', `curl -s -o /dev/null -w '%{${what}}' -x http://${WORLD.gatewayIp}:${WORLD.aptProxyPort} ${args}`)).stdout;
      assert.equal(await code('http://example.org/'), '403');
      assert.equal(await code(`http://${WORLD.gatewayIp}:${WORLD.aptProxyPort}/`), '403');
      const mirror = (await world.hostExecOk('h4', "sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources | head -1")).stdout.trim();
      assert.ok(mirror.startsWith('http://'), `mirror URI from the host's apt sources: ${mirror}`);
      assert.equal(await code(`-X POST ${mirror}/`), '403');
      assert.equal(await code(`-p https://example.org/`, 'http_connect'), '403'); // a CONNECT tunnel
    });
  });

  describe('seed hook', function () {
    it('adds files to the upper dir before boot, following layer symlinks', async function () {
      this.timeout(120_000);
      const [h] = await world.startHosts({
        names: ['h5'],
        layer: 'base',
        seedFiles: async (_upper, index, files) => {
          files.writeFile('/usr/local/share/mss/seed.txt', `seeded h${index}\n`);
          // /lib is a symlink to usr/lib in the layer: the unit must land in /usr/lib.
          files.writeFile(
            '/lib/systemd/system/mss-seeded.service',
            '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
          );
          files.mkdir('/etc/systemd/system/multi-user.target.wants');
          fs.symlinkSync('/lib/systemd/system/mss-seeded.service', files.upperPath('/etc/systemd/system/multi-user.target.wants/mss-seeded.service'));
        },
      });
      const r = await world.hostExecOk(
        h!.name,
        'cat /usr/local/share/mss/seed.txt; readlink /lib; systemctl is-active mss-seeded; stat -c %a /root /usr/local/share',
      );
      assert.equal(r.stdout, 'seeded h5\nusr/lib\nactive\n700\n755\n');
    });
  });

  describe('stopAll', function () {
    it('leaves no namespace, link, mount, process or cgroup behind', async function () {
      this.timeout(60_000);
      assert.deepEqual(await stopAll(), []);
      const netns = (await run('ip', ['netns', 'list'])).stdout;
      assert.doesNotMatch(netns, new RegExp(`^${WORLD.netnsPrefix}`, 'm'));
      const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
      assert.doesNotMatch(links, new RegExp(`: (${WORLD.netnsPrefix}|${WORLD.bridge})`));
      assert.deepEqual(listWorldCgroups(), []);
      assert.equal(fs.existsSync(WORLD.runDir), false);
      // No process anywhere still sees a mount of ours, and none of ours is running.
      const strays: string[] = [];
      for (const pid of fs.readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
        let mounts: string[] = [];
        try {
          mounts = [...mountsUnder(WORLD.runDir, `/proc/${pid}/mountinfo`), ...mountsUnder(WORLD.cacheDir, `/proc/${pid}/mountinfo`)];
        } catch {
          continue; // exited meanwhile
        }
        const cmd = readCmdline(Number(pid)) ?? '';
        if (mounts.length || /host-init\.sh|apt-proxy\.js|dnsmasq\.conf/.test(cmd)) strays.push(`${pid} ${cmd} ${mounts.join(',')}`);
      }
      assert.deepEqual(strays, []);
    });
  });
});
