// e2e: one Misskey instance on four servers (two v10 app servers with one config, two media proxy
// hosts for one name on layout A) next to a single-host instance, in one `site` run: the bucket is
// made once (on the first proxy host), each app server gets the same default.yml and restarts in
// turn (never both down), drift on one app server is that host's, a failed restart stops the roll
// with the rest untouched, and --check changes nothing. The certificate: h55 obtains it (acme_issuer)
// while the name resolves to h53 only, so every ACME challenge lands on the other host and must be
// answered from h55 through h53's forward; h53 gets the copy (key 0600), and the key never shows.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runPath } from '../world/config.js';
import { pebbleIssuingRoot } from '../world/pebble.js';
import { MISSKEY_PATHS } from '../world/misskey-seed.js';
import { WORLD } from '../world/config.js';
import { assertAllServed, makeFile, upload } from './drive.js';
import type { HostInfo } from '../world/world.js';
import { getSandbox, inventoryPath, moveEnv, seedFor, siteEnv, siteVars, type Sandbox } from '../world/sandbox.js';
import { digest } from './digest.js';
import { play, recap, taskLine } from './play.js';

const APPS = ['h51', 'h52'];
const PROXY = 'h53';
const SOLO = 'h54';
/** The second proxy host of the instance: it obtains the certificate (the name does not point at it). */
const ISSUER = 'h55';
const LIVE = '/etc/letsencrypt/live/s3.h53.test';
const CONFIG = `${MISSKEY_PATHS.repo}/.config/default.yml`;

describe('one instance on several servers: once-per-instance steps, a media proxy host, rolling restarts', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let hosts: HostInfo[];
  let inv: string;
  let instance: (h: HostInfo, role: string) => Record<string, unknown>;
  /** An inventory of instance ex alone (not the single-host one), its vars with `over` on top. */
  const exInventory = (file: string, over: Record<string, unknown>) => {
    const ex = hosts.filter((h) => h.name !== SOLO);
    const vars = ex.map((h) => [h.name, { ...instance(h, APPS.includes(h.name) ? 'app' : 'proxy'), ...over }]);
    return sb.world.writeInventory(inventoryPath(file), ex, {}, Object.fromEntries(vars));
  };
  const env = siteEnv();
  const site = (args: string[] = []) => play(['site', '-i', inv, ...args], { env, timeoutMs: 600_000 });
  const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);

  before(async function () {
    this.timeout(1_200_000);
    sb = await getSandbox();
    hosts = [];
    for (const h of APPS) hosts.push(...(await sb.world.startHosts({ names: [h], layer: 'pkgs', seedFiles: seedFor({ misskey: 'v10' }) })));
    hosts.push(...(await sb.world.startHosts({ names: [PROXY], layer: 'pkgs', seedFiles: seedFor({}) })));
    hosts.push(...(await sb.world.startHosts({ names: [SOLO], layer: 'pkgs', seedFiles: seedFor({ misskey: 'v12' }) })));
    hosts.push(...(await sb.world.startHosts({ names: [ISSUER], layer: 'pkgs', seedFiles: seedFor({}) })));
    const proxy = hosts.find((h) => h.name === PROXY)!;
    // One instance, one config: h52 runs with h51's default.yml (the same url and database).
    const shared = await sh('h51', `cat ${CONFIG}`);
    await sb.world.hostExecOk('h52', `cat > ${CONFIG} && systemctl restart misskey`, { input: shared });
    // The instance's name is the proxy host's domain: s3.h53.test resolves to the proxy (certbot's HTTP-01 lands there).
    instance = (h: HostInfo, role: string) => ({
      ...siteVars(proxy, sb, { layout: 'subdomain', misskey: 'v10', bucket: 'mss-ex-drive' }),
      misskey_instance: 'ex',
      misskey_role: role,
      smoke_proxy_address: proxy.ip,
      acme_issuer: ISSUER,
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
        [ISSUER]: instance(hosts[4]!, 'proxy'),
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
    const json = runPath('instance-converge.json');
    const r = await site(['-vv', '--json', json]);
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) assert.equal(recap(r.stdout, h.name).failed, 0, r.stdout);
    assert.match(taskLine(r.stdout, PROXY, 'Bucket exists')!, /^changed: \[h53\] Bucket exists - create bucket mss-ex-drive/);
    for (const h of APPS) assert.match(taskLine(r.stdout, h, 'Bucket exists')!, /^skipping: /);
    // The single-host instance does its own, as before.
    assert.match(taskLine(r.stdout, SOLO, 'Bucket exists')!, /^changed: \[h54\] Bucket exists - create bucket mss-h54-drive/);
    // nginx only on the proxy host; Misskey's file on both app servers, identical.
    for (const h of APPS) assert.equal((await sb.world.hostExec(h, 'test -e /etc/nginx/sites-enabled/s3.h53.test.conf')).code, 1, `${h}: no vhost`);
    assert.equal((await sh(APPS[0]!, `sha256sum < ${CONFIG}`)).trim(), (await sh(APPS[1]!, `sha256sum < ${CONFIG}`)).trim());
    // The Misskey smoke upload once for the instance (from an app server, through the proxy host).
    const smoke = APPS.map((h) => taskLine(r.stdout, h, 'File uploaded through Misskey'));
    assert.match(smoke[0]!, /^ok: \[h51\] File uploaded through Misskey, served through the proxy - Misskey v10 upload https:\/\/s3\.h53\.test\/misskey\//);
    assert.match(smoke[1]!, /^ok: \[h52\] File uploaded through Misskey, served through the proxy - ran on h51: /);
    // The certificate: one certbot lineage (h55's), the same files on h53, the key 0600 and root's.
    assert.equal((await sb.world.hostExec(ISSUER, 'test -s /etc/letsencrypt/renewal/s3.h53.test.conf')).code, 0, 'h55 has the lineage');
    assert.equal((await sb.world.hostExec(PROXY, 'test -e /etc/letsencrypt/renewal/s3.h53.test.conf')).code, 1, 'h53 has none');
    assert.equal(
      await sh(PROXY, `stat -c '%F %a %U:%G' ${LIVE}/privkey.pem ${LIVE}/fullchain.pem`),
      'regular file 600 root:root\nregular file 644 root:root\n',
    );
    const sum = (h: string) => sh(h, `cat ${LIVE}/fullchain.pem ${LIVE}/privkey.pem | sha256sum`);
    assert.equal(await sum(PROXY), await sum(ISSUER));
    // Pebble asked h53 (the only address of the name); h53 handed the challenge to h55.
    assert.match(await sh(PROXY, 'cat /var/log/nginx/access.log'), /^10\.231\.0\.1 .*"GET \/\.well-known\/acme-challenge\/\S+ HTTP\/1\.1" 200 /m);
    assert.match(
      await sh(ISSUER, 'cat /var/log/nginx/access.log'),
      new RegExp(`^${hosts[2]!.ip.replace(/\./g, '\\.')} .*"GET /\\.well-known/acme-challenge/\\S+ HTTP/1\\.0" 200 `, 'm'),
    );
    assert.match(
      taskLine(r.stdout, PROXY, 'Certificate for the proxy name, from')!,
      /^changed: \[h53\] .* - copy the certificate from h55: create .*fullchain\.pem; create .*privkey\.pem/,
    );
    // Both serve it, valid under Pebble's root.
    const root = await pebbleIssuingRoot(sb.services.pebble);
    for (const h of [PROXY, ISSUER]) {
      const ip = hosts.find((x) => x.name === h)!.ip;
      await sb.world.hostExecOk(PROXY, 'cat > /tmp/pebble-root.pem', { input: root });
      const served = await sb.world.hostExec(
        PROXY,
        `curl -sS -o /dev/null -w '%{http_code}' --cacert /tmp/pebble-root.pem --resolve s3.h53.test:443:${ip} https://s3.h53.test/misskey/no-such-file; rm -f /tmp/pebble-root.pem`,
      );
      // curl exits 60 when the certificate does not verify; the bucket answers 403 for a missing key.
      assert.equal(served.code, 0, `${h}: ${served.stderr}`);
      assert.equal(served.stdout, '403', `${h}: the bucket's answer, through the proxy`);
    }
    // The key never shows: not in the output (at -vv), not in --json.
    const keyLines = (await sh(ISSUER, `cat ${LIVE}/privkey.pem`)).split('\n').filter((l) => l.length >= 40);
    assert.ok(keyLines.length > 0);
    const report = fs.readFileSync(json, 'utf8');
    for (const l of keyLines) {
      assert.ok(!r.all.includes(l), 'a line of the key in the output');
      assert.ok(!report.includes(l), 'a line of the key in --json');
    }
    const again = await site();
    assert.equal(again.code, 0, again.all);
    for (const h of hosts) assert.equal(recap(again.stdout, h.name).changed, 0, again.stdout);
    assert.match(taskLine(again.stdout, PROXY, 'Certificate for the proxy name, from')!, /^ok: \[h53\] .* - the same certificate as h55's/);
  });

  it("reports a copied key left readable as drift on that host, also with --limit to it (the issuer's copy not compared)", async () => {
    await sh(PROXY, `chmod 0644 ${LIVE}/privkey.pem`);
    const c = await site(['--check']);
    assert.equal(c.code, 3, c.all);
    assert.match(
      taskLine(c.stdout, PROXY, 'Certificate for the proxy name, from')!,
      /^changed: \[h53\] .* - copy the certificate from h55: update .*privkey\.pem \(mode 0644 -> 0600\)$/,
    );
    assert.equal(recap(c.stdout, ISSUER).changed, 0, c.stdout);
    const limited = await site(['--check', '--limit', PROXY]);
    assert.equal(limited.code, 3, limited.all);
    assert.match(
      taskLine(limited.stdout, PROXY, 'Certificate for the proxy name, from')!,
      /privkey\.pem \(mode 0644 -> 0600\) \(content not compared with h55's: h55 is not one of the hosts of this run/,
    );
    const fix = await site(['--limit', PROXY]);
    assert.equal(fix.code, 0, fix.all);
    assert.equal(await sh(PROXY, `stat -c %a ${LIVE}/privkey.pem`), '600\n');
  });

  it('another issuer: h53 drops its ACME forward, and h55, with a lineage of its own, is refused with the fix', async () => {
    const forward = '/etc/nginx/conf.d/s3.h53.test-acme.conf';
    assert.equal((await sb.world.hostExec(PROXY, `test -s ${forward}`)).code, 0, 'h53 forwards');
    // Not -e: that would set it for the single-host instance too (refused: its only proxy host is h54).
    const other = exInventory('instance-h53-issues.yml', { acme_issuer: PROXY });
    const r = await play(['site', '-i', other, '--limit', `${PROXY},${ISSUER}`], { env, timeoutMs: 600_000 });
    assert.equal(r.code, 2, r.all);
    assert.match(taskLine(r.stdout, PROXY, 'No ACME forward on a host that obtains the certificate itself')!, /^changed: \[h53\] /);
    assert.equal((await sb.world.hostExec(PROXY, `test -e ${forward}`)).code, 1, 'the forward is gone');
    assert.match(
      r.all,
      /fatal: \[h55\] Certificate for the proxy name, from the proxy host that obtained it: h55 has its own certbot lineage for s3\.h53\.test .*certbot delete --cert-name s3\.h53\.test/,
    );
    // Back to h55 as the issuer: h53 forwards again and the instance converges.
    const back = await site();
    assert.equal(back.code, 0, back.all);
    assert.equal((await sb.world.hostExec(PROXY, `test -s ${forward}`)).code, 0, 'h53 forwards again');
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
      // The instance's once-only steps are for its proxy hosts, which --limit left out: it says so.
      assert.match(
        taskLine(c.stdout, 'h51', 'Bucket exists')!,
        /^skipping: \[h51\] .*condition is false: .*; it runs once for the partition \(ex\), on a host whose condition holds, and --limit left out h53, h55$/,
      );
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

  it('move: the copy once for the instance (on its first proxy host), every URL unchanged through both proxy hosts', async () => {
    // h51's Misskey was just started again (the test before): wait until it answers.
    await sh('h51', 'for i in $(seq 100); do curl -sf -o /dev/null -X POST http://127.0.0.1:3000/api/meta && exit 0; sleep 0.1; done; exit 1');
    await makeFile(sb.world, 'h51', '/tmp/before.png', 7, 3000);
    const before = await upload(sb.world, 'h51', '/tmp/before.png', 'image/png');
    const bytes = await sh('h51', 'base64 -w0 /tmp/before.png');
    for (const h of [PROXY, ISSUER]) await sb.world.hostExecOk(h, 'base64 -d > /tmp/before.png', { input: bytes });
    const moveInv = exInventory('instance-move.yml', {
      s3_endpoint: WORLD.s3b.endpoint,
      s3_bucket: 'mss-ex-new',
      move_from_endpoint: WORLD.s3.endpoint,
      move_from_bucket: 'mss-ex-drive',
    });
    const r = await play(['move', '-i', moveInv], { env: moveEnv(), timeoutMs: 600_000 });
    assert.equal(r.code, 0, r.all);
    for (const task of ['Objects copied from the old bucket (first pass)', 'Every object is in the new bucket (size, MD5, Content-Type)']) {
      assert.match(taskLine(r.stdout, PROXY, task)!, /^(changed|ok): \[h53\] /, task);
      assert.match(taskLine(r.stdout, ISSUER, task)!, /^(changed|ok): \[h55\] .* - ran on h53/, task);
      for (const h of APPS) assert.match(taskLine(r.stdout, h, task)!, /^skipping: /, `${h}: ${task}`);
    }
    // The old URL, through each proxy host; a new upload goes to the new bucket under the same base URL.
    for (const h of [PROXY, ISSUER]) await assertAllServed(sb.world, h, [before]);
    await makeFile(sb.world, 'h52', '/tmp/after.png', 11, 2000);
    const after = await upload(sb.world, 'h52', '/tmp/after.png', 'image/png');
    assert.equal(new URL(after.url).origin, 'https://s3.h53.test');
    const cfg = await sh('h52', `cat ${CONFIG}`);
    assert.match(cfg, /^\s*bucket: 'mss-ex-new'$/m);
    assert.ok(cfg.includes(`endPoint: '${WORLD.s3b.endpoint}'`), cfg);
    const afterBytes = await sh('h52', 'base64 -w0 /tmp/after.png');
    for (const h of [PROXY, ISSUER]) {
      await sb.world.hostExecOk(h, 'base64 -d > /tmp/after.png', { input: afterBytes });
      await assertAllServed(sb.world, h, [before, after]);
    }
  });
});
