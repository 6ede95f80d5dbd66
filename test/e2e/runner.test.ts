// e2e: the runner over real SSH on 3 world hosts (systemd, sshd, host keys checked), driven
// through the CLI exactly as a user runs it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WORLD, runPath } from '../world/config.js';
import { getWorld, type HostInfo, type World } from '../world/world.js';
import { ROOT, play, recap } from './play.js';
import { digest } from './digest.js';

const execFileP = promisify(execFile);
const BOOK = path.join(ROOT, 'test', 'fixtures', 'playbooks', 'basic.yml');
const CANARY = 'canary-7f3a9c1e-secret-value';
const env = { MSK_TEST_CANARY: CANARY };

describe('runner over SSH on 3 world hosts', function () {
  this.timeout(300_000);
  let world: World;
  let hosts: HostInfo[];
  let inv: string;

  before(async function () {
    this.timeout(900_000);
    world = await getWorld();
    hosts = await world.startHosts({ names: ['h1', 'h2', 'h3'], layer: 'pkgs' });
    inv = world.writeInventory(runPath('inventory-runner.yml'), hosts);
  });

  it('converges 3 hosts in parallel, runs the handler once, and a second run changes nothing', async () => {
    const r = await play([BOOK, '-i', inv], { env });
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) {
      const c = recap(r.stdout, h.name);
      assert.equal(c.failed, 0);
      assert.ok(c.changed >= 5, `${h.name} changed=${c.changed}`);
      const hello = (await world.hostExecOk(h.name, 'cat /srv/mskplay-test/hello.txt')).stdout;
      assert.equal(hello, `hello from ${h.name} (Debian GNU/Linux 12 (bookworm))\n`);
      assert.equal((await world.hostExecOk(h.name, 'stat -c "%U %a" /srv/mskplay-test')).stdout.trim(), 'www-data 750');
      assert.equal((await world.hostExecOk(h.name, 'cat /srv/mskplay-test/secret.txt')).stdout, CANARY);
      assert.equal((await world.hostExecOk(h.name, 'cat /srv/mskplay-test/handler-ran.txt')).stdout, `handler ran on ${h.name}\n`);
    }
    const again = await play([BOOK, '-i', inv], { env });
    assert.equal(again.code, 0, again.all);
    for (const h of hosts) assert.equal(recap(again.stdout, h.name).changed, 0, again.stdout);
    const check = await play([BOOK, '-i', inv, '--check'], { env });
    assert.equal(check.code, 0, check.all);
    assert.match(check.stdout, /no drift/);
  });

  it('reports a hand edit as drift (exit 3, diff) on that host only, and the next run restores it', async () => {
    await world.hostExecOk('h2', 'echo edited by hand >> /srv/mskplay-test/hello.txt');
    const before = await digest(world, 'h2', ['/srv/mskplay-test']);
    const r = await play([BOOK, '-i', inv, '--check', '--diff', '--limit', 'h2'], { env });
    assert.equal(r.code, 3, r.all);
    assert.match(r.stdout, /\+\+\+ \/srv\/mskplay-test\/hello.txt \(after\)/);
    assert.match(r.stdout, /^-edited by hand$/m);
    assert.match(r.stdout, /DRIFT on 1 host\(s\): h2/);
    assert.doesNotMatch(r.stdout, /\bh1\b|\bh3\b/);
    assert.equal(await digest(world, 'h2', ['/srv/mskplay-test']), before, 'check mode changed nothing');
    const fix = await play([BOOK, '-i', inv, '--limit', 'h2'], { env });
    assert.equal(fix.code, 0, fix.all);
    assert.equal(recap(fix.stdout, 'h2').changed, 1, 'the file; its handler ran and found nothing to change');
    assert.match(fix.stdout, /ok: \[h2\] note the change \(handler\)/);
    assert.doesNotMatch((await world.hostExecOk('h2', 'cat /srv/mskplay-test/hello.txt')).stdout, /edited/);
  });

  it('check mode on a fresh host reports every change and leaves its filesystem byte-identical', async () => {
    await world.resetHost('h3');
    const paths = ['/srv', '/etc', '/tmp', '/var/tmp', '/root'];
    const before = await digest(world, 'h3', paths);
    const r = await play([BOOK, '-i', inv, '--check', '--limit', 'h3', '--json', '-'], { env });
    assert.equal(r.code, 3, r.all);
    const report = JSON.parse(r.stdout);
    const tasks = report.hosts.h3.tasks as { task: string; status: string }[];
    assert.deepEqual(
      tasks.map((t) => `${t.status} ${t.task}`),
      [
        'changed Directory owned by the nginx user',
        'changed A file with host-specific content',
        'skipped A command that runs once',
        'skipped A secret reaches the host on stdin only',
        'skipped A read-only command never counts as a change',
        'changed note the change',
      ],
    );
    assert.equal(await digest(world, 'h3', paths), before);
    assert.ok(report.hosts.h3.commands <= 3, `no-op-ish check used ${report.hosts.h3.commands} SSH commands`);
  });

  it('--limit touches only the chosen host', async () => {
    await world.resetHost('h3');
    const others = await Promise.all(['h1', 'h2'].map((h) => digest(world, h, ['/srv', '/etc'])));
    const r = await play([BOOK, '-i', inv, '--limit', 'h3'], { env });
    assert.equal(r.code, 0, r.all);
    assert.deepEqual(await Promise.all(['h1', 'h2'].map((h) => digest(world, h, ['/srv', '/etc']))), others);
    assert.equal(recap(r.stdout, 'h3').failed, 0);
  });

  it('keeps a secret out of -vvv output, --json reports and process arguments', async () => {
    await world.resetHost('h1');
    const json = runPath('report-secret.json');
    const r = await play([BOOK, '-i', inv, '--limit', 'h1', '-vvv', '--diff', '--json', json], { env });
    assert.equal(r.code, 0, r.all);
    assert.ok(!r.all.includes(CANARY), 'not in the output');
    assert.ok(!fs.readFileSync(json, 'utf8').includes(CANARY), 'not in the JSON report');
    assert.equal((await world.hostExecOk('h1', 'cat /srv/mskplay-test/secret.txt')).stdout, CANARY, 'but it did reach the host');
    const bad = await play([BOOK, '-i', inv, '--limit', 'h1', '-e', `{"base": "/nonexistent/\\u0000"}`], { env });
    assert.ok(!bad.all.includes(CANARY));
  });

  it('a host that is down is unreachable in the recap while the others finish (exit 4)', async () => {
    const withDead = world.writeInventory(runPath('inventory-dead.yml'), [...hosts, { name: 'h9', ip: '10.231.0.19' } as HostInfo], { ansible_timeout: 3 });
    const r = await play([BOOK, '-i', withDead], { env });
    assert.equal(r.code, 4, r.all);
    assert.equal(recap(r.stdout, 'h9').unreachable, 1);
    for (const h of hosts) assert.equal(recap(r.stdout, h.name).failed, 0);
  });

  it('a host whose link goes away mid-run is reported lost within ~20 s; a slow command elsewhere runs to its end', async function () {
    this.timeout(120_000);
    const json = runPath('host-loss.json');
    const slow = path.join(ROOT, 'test', 'fixtures', 'playbooks', 'slow.yml');
    const veth = `${WORLD.netnsPrefix}h2`;
    const running = play([slow, '-i', inv, '--limit', 'h1:h2', '--json', json], { env, timeoutMs: 110_000 });
    await new Promise((r) => setTimeout(r, 5_000)); // connected, both in the middle of `sleep 30`
    const dropped = Date.now();
    await execFileP('ip', ['link', 'set', 'dev', veth, 'down']);
    let r;
    try {
      r = await running;
    } finally {
      await execFileP('ip', ['link', 'set', 'dev', veth, 'up']);
    }
    assert.equal(r.code, 4, r.all);
    const rep = JSON.parse(fs.readFileSync(json, 'utf8')).hosts;
    assert.equal(rep.h2.unreachable, true, r.all);
    // The host's report ends when it is declared lost. Default keepalive 4 s x 3: ~16 s after the
    // drop (bound generous: a loaded machine is slower, never a tight timing assertion).
    const lostAfterS = (rep.h2.durationMs - (dropped - Date.parse(JSON.parse(fs.readFileSync(json, 'utf8')).startedAt))) / 1000;
    assert.ok(lostAfterS < 30, `h2 reported lost ${lostAfterS.toFixed(1)} s after its link went away (want ~16 s)`);
    assert.equal(rep.h1.counts.failed, 0, 'the slow command on h1 was not killed');
    assert.ok(rep.h1.durationMs >= 30_000, `h1 ran its sleep 30 to the end (${rep.h1.durationMs} ms)`);
  });

  it('refuses an unknown host key (strict by default), with the fingerprint and what to do', async () => {
    const empty = runPath('known_hosts.empty');
    fs.writeFileSync(empty, '');
    const strict = world.writeInventory(runPath('inventory-strict.yml'), hosts.slice(0, 1), { ansible_ssh_common_args: `-o UserKnownHostsFile=${empty}` });
    const r = await play([BOOK, '-i', strict], { env });
    assert.equal(r.code, 4, r.all);
    assert.match(r.all, /SHA256:[A-Za-z0-9+/]+/);
    assert.match(r.all, /accept-new/);
    const accepted = await play([BOOK, '-i', strict, '--host-key-checking', 'accept-new', '--check'], { env });
    assert.notEqual(accepted.code, 4, accepted.all);
    assert.match(fs.readFileSync(empty, 'utf8'), /ssh-ed25519/);
  });
});
