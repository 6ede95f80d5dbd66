// e2e: one Misskey instance on three servers (two v10 app servers with one config, one media proxy
// on layout A) next to a single-host instance, in one `site` run: the bucket is made once (on the
// proxy), each app server gets the same default.yml and restarts in turn (never both down), drift
// on one app server is that host's, a failed restart stops the roll with the rest untouched, and
// --check changes nothing.

import assert from 'node:assert/strict';
import { MISSKEY_PATHS } from '../world/misskey-seed.js';
import type { HostInfo } from '../world/world.js';
import { getSandbox, inventoryPath, seedFor, siteEnv, siteVars, type Sandbox } from '../world/sandbox.js';
import { digest } from './digest.js';
import { play, recap } from './play.js';

const APPS = ['h51', 'h52'];
const PROXY = 'h53';
const SOLO = 'h54';
const CONFIG = `${MISSKEY_PATHS.repo}/.config/default.yml`;

describe('one instance on several servers: once-per-instance steps, a media proxy host, rolling restarts', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let hosts: HostInfo[];
  let inv: string;
  const env = siteEnv();
  const site = (args: string[] = []) => play(['site', '-i', inv, ...args], { env, timeoutMs: 600_000 });
  const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);
  /** The live line of a task on a host ("› status: [host] task ..."). */
  const line = (out: string, h: string, task: string) =>
    out
      .split('\n')
      .map((l) => l.replace(/^› /, ''))
      .find((l) => new RegExp(`^(changed|ok|skipping|fatal): \\[${h}\\] `).test(l) && l.includes(`] ${task}`));

  before(async function () {
    this.timeout(1_200_000);
    sb = await getSandbox();
    hosts = [];
    for (const h of APPS) hosts.push(...(await sb.world.startHosts({ names: [h], layer: 'pkgs', seedFiles: seedFor({ misskey: 'v10' }) })));
    hosts.push(...(await sb.world.startHosts({ names: [PROXY], layer: 'pkgs', seedFiles: seedFor({}) })));
    hosts.push(...(await sb.world.startHosts({ names: [SOLO], layer: 'pkgs', seedFiles: seedFor({ misskey: 'v12' }) })));
    const proxy = hosts.find((h) => h.name === PROXY)!;
    // One instance, one config: h52 runs with h51's default.yml (the same url and database).
    const shared = await sh('h51', `cat ${CONFIG}`);
    await sb.world.hostExecOk('h52', `cat > ${CONFIG} && systemctl restart misskey`, { input: shared });
    // The instance's name is the proxy host's domain: s3.h53.test resolves to the proxy (certbot's HTTP-01 lands there).
    const instance = (h: HostInfo, role: string) => ({
      ...siteVars(proxy, sb, { layout: 'subdomain', misskey: 'v10', bucket: 'mss-ex-drive' }),
      misskey_instance: 'ex',
      misskey_role: role,
      smoke_proxy_address: proxy.ip,
      ...(role === 'proxy' ? {} : { misskey_version: 'v10' }),
    });
    inv = sb.world.writeInventory(
      inventoryPath('instance.yml'),
      hosts,
      {},
      {
        h51: instance(hosts[0]!, 'app'),
        h52: instance(hosts[1]!, 'app'),
        [PROXY]: instance(proxy, 'proxy'),
        [SOLO]: siteVars(hosts[3]!, sb, { layout: 'subdomain', misskey: 'v12' }),
      },
    );
  });

  it('--check before anything is read-only', async () => {
    const before = await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc', '/root', '/home/misskey'])));
    const c = await site(['--check']);
    assert.equal(c.code, 3, c.all);
    assert.deepEqual(await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc', '/root', '/home/misskey']))), before);
  });

  it('converges: the bucket once on the proxy, the same default.yml on both app servers, the smoke test once', async () => {
    const r = await site();
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) assert.equal(recap(r.stdout, h.name).failed, 0, r.stdout);
    assert.match(line(r.stdout, PROXY, 'Bucket exists')!, /^changed: \[h53\] Bucket exists - create bucket mss-ex-drive/);
    for (const h of APPS) assert.match(line(r.stdout, h, 'Bucket exists')!, /^skipping: /);
    // The single-host instance does its own, as before.
    assert.match(line(r.stdout, SOLO, 'Bucket exists')!, /^changed: \[h54\] Bucket exists - create bucket mss-h54-drive/);
    // nginx only on the proxy host; Misskey's file on both app servers, identical.
    for (const h of APPS) assert.equal((await sb.world.hostExec(h, 'test -e /etc/nginx/sites-enabled/s3.h53.test.conf')).code, 1, `${h}: no vhost`);
    assert.equal((await sh(APPS[0]!, `sha256sum < ${CONFIG}`)).trim(), (await sh(APPS[1]!, `sha256sum < ${CONFIG}`)).trim());
    // The Misskey smoke upload once for the instance (from an app server, through the proxy host).
    const smoke = APPS.map((h) => line(r.stdout, h, 'File uploaded through Misskey'));
    assert.match(smoke[0]!, /^ok: \[h51\] File uploaded through Misskey, served through the proxy - Misskey v10 upload https:\/\/s3\.h53\.test\/misskey\//);
    assert.match(smoke[1]!, /^ok: \[h52\] File uploaded through Misskey, served through the proxy - ran on h51: /);
    const again = await site();
    assert.equal(again.code, 0, again.all);
    for (const h of hosts) assert.equal(recap(again.stdout, h.name).changed, 0, again.stdout);
  });

  it('restarts the app servers one at a time: never both down', async () => {
    // Both pollers log "<ms since epoch> up|down" every 20 ms (the hosts share the machine's clock).
    for (const h of APPS)
      await sh(
        h,
        `rm -f /tmp/up.log; systemd-run --unit=mss-up --quiet sh -c 'while :; do if curl -s -o /dev/null --max-time 1 http://127.0.0.1:3000/api/meta -X POST; then s=up; else s=down; fi; echo "$(date +%s%3N) $s" >> /tmp/up.log; sleep 0.02; done'`,
      );
    const pid0 = await Promise.all(APPS.map((h) => sh(h, 'systemctl show -p MainPID --value misskey')));
    // A drive setting that changes on both (Misskey's own proxying of remote files): a restart each.
    const r = await site(['-e', '{"s3_use_proxy": false}']);
    assert.equal(r.code, 0, r.all);
    const logs = await Promise.all(
      APPS.map(async (h) => {
        await sh(h, 'systemctl stop mss-up');
        return (await sh(h, 'cat /tmp/up.log'))
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string])
          .map(([t, s]) => [Number(t), s] as const);
      }),
    );
    const pid1 = await Promise.all(APPS.map((h) => sh(h, 'systemctl show -p MainPID --value misskey')));
    APPS.forEach((h, i) => assert.notEqual(pid1[i], pid0[i], `${h} restarted`));
    // Down intervals of each, and no moment inside both.
    const down = logs.map((samples) => {
      const out: [number, number][] = [];
      for (let i = 0; i < samples.length; i++)
        if (samples[i]![1] === 'down') out.push([samples[i - 1]?.[0] ?? samples[i]![0], samples[i + 1]?.[0] ?? Infinity]);
      return out;
    });
    for (const [a0, a1] of down[0]!)
      for (const [b0, b1] of down[1]!) assert.ok(a1 <= b0 || b1 <= a0, `both down between ${Math.max(a0, b0)} and ${Math.min(a1, b1)}`);
    // And the order: h52's config changed only after h51 had restarted.
    const out = r.stdout.split('\n').map((l) => l.replace(/^› /, ''));
    const at = (s: string) => out.findIndex((l) => l.startsWith(s));
    assert.ok(at('changed: [h51] restart misskey') >= 0 && at('changed: [h51] restart misskey') < at('changed: [h52] Drive settings'), r.stdout);
  });

  it("reports drift on one app server's default.yml for that host only", async () => {
    await sh('h52', `cp -p ${CONFIG} /root/default.yml.keep && sed -i 's/s3ForcePathStyle: true/s3ForcePathStyle: false/' ${CONFIG}`);
    try {
      const c = await site(['--check', '--limit', 'h51,h52', '-e', '{"s3_use_proxy": false}']);
      assert.equal(c.code, 3, c.all);
      assert.equal(recap(c.stdout, 'h51').changed, 0, c.stdout);
      assert.match(c.stdout, /changed: \[h52\] Drive settings in \.config\/default\.yml \(v10\)/);
    } finally {
      await sh('h52', `cp -p /root/default.yml.keep ${CONFIG}`);
    }
  });

  it('stops the roll at a failed restart and leaves the next app server untouched', async () => {
    // h51's Misskey will not start again (a runtime drop-in whose start command fails).
    await sh(
      'h51',
      "mkdir -p /run/systemd/system/misskey.service.d && printf '[Service]\\nExecStartPre=/bin/false\\n' > /run/systemd/system/misskey.service.d/fail.conf && systemctl daemon-reload",
    );
    const before = await digest(sb.world, 'h52', ['/home/misskey']);
    try {
      // Back to the default: both would change and restart, h51 first.
      const r = await site(['--limit', 'h51,h52,h53']);
      assert.equal(r.code, 2, r.all);
      assert.match(r.all, /fatal: \[h51\] restart misskey/);
      assert.match(r.all, /h52[^\n]*not run: the batch before failed on h51 \(max_fail_percentage 0\)/);
      assert.equal(await digest(sb.world, 'h52', ['/home/misskey']), before, 'h52 untouched');
    } finally {
      await sh('h51', 'rm -rf /run/systemd/system/misskey.service.d && systemctl daemon-reload && systemctl start misskey');
    }
  });
});
