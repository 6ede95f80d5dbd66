// e2e: the storage and proxy plays on 3 world hosts (layout A twice with certbot via Pebble,
// layout B once inside an admin's Misskey vhost), against real radosgw, nginx, certbot, systemd.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WORLD, runPath } from '../world/config.js';
import { pebbleIssuingRoot } from '../world/pebble.js';
import { inventoryPath, getSandbox, siteEnv, startSiteHosts, type Sandbox } from '../world/sandbox.js';
import type { HostInfo } from '../world/world.js';
import { digest } from './digest.js';
import { play, recap } from './play.js';

const LAYOUT: Record<string, 'subdomain' | 'directory'> = { h4: 'subdomain', h5: 'subdomain', h6: 'directory' };

describe('storage + proxy plays on 3 world hosts', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let hosts: HostInfo[];
  let inv: string;
  const env = siteEnv();
  const run = (...args: string[]) => play(['site', '-i', inv, '--skip-tags', 'misskey,misskey_smoke', ...args], { env, timeoutMs: 600_000 });
  const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);
  const anonymous = (h: string) =>
    sh(h, ['misskey', 'storage'].map((p) => `curl -s -o /dev/null -w '%{http_code}' https://mss-${h}-drive.${WORLD.s3.endpoint}/${p}/probe.txt`).join('; '));

  before(async function () {
    this.timeout(1_200_000);
    sb = await getSandbox();
    const roles = Object.fromEntries(Object.entries(LAYOUT).map(([n, layout]) => [n, { layout }]));
    ({ hosts, inventory: inv } = await startSiteHosts(sb, roles, inventoryPath('proxy.yml')));
    // Each bucket exists with an object before the play, private (as a new Vultr bucket is).
    for (const h of hosts) {
      const cfg = `[default]\naccess_key = ${WORLD.s3.accessKey}\nsecret_key = ${WORLD.s3.secretKey}\nhost_base = ${WORLD.s3.endpoint}\nhost_bucket = %(bucket)s.${WORLD.s3.endpoint}\nuse_https = True\n`;
      await sb.world.hostExecOk(
        h.name,
        `umask 077; cat > /root/pre.s3cfg; echo probe > /tmp/probe.txt; s3cmd -c /root/pre.s3cfg mb s3://mss-${h.name}-drive && s3cmd -c /root/pre.s3cfg put /tmp/probe.txt s3://mss-${h.name}-drive/misskey/probe.txt && s3cmd -c /root/pre.s3cfg put /tmp/probe.txt s3://mss-${h.name}-drive/storage/probe.txt; rc=$?; rm -f /root/pre.s3cfg /tmp/probe.txt; exit $rc`,
        { input: cfg },
      );
    }
  });

  it('anonymous GET straight to the bucket is 403 before the play', async () => {
    for (const h of hosts) assert.equal(await anonymous(h.name), '403403');
  });

  it('converges all three in one run: bucket policy, vhost, certificate, drop-in, smoke test MISS then HIT', async () => {
    const r = await run();
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) {
      const c = recap(r.stdout, h.name);
      assert.equal(c.failed + c.unreachable, 0, r.stdout);
      assert.match(r.stdout, new RegExp(`ok: \\[${h.name}\\] Object served through the proxy \\(MISS then HIT\\).*200 MISS then 200 HIT, same bytes`));
      assert.equal(await anonymous(h.name), '200200', 'public-read policy in force');
      assert.equal((await sh(h.name, 'systemctl show nginx -p Restart -p RestartUSec --value')).trim(), 'always\n5s');
      assert.equal((await sh(h.name, 'stat -c %U /var/cache/nginx/proxy_cache_images')).trim(), 'www-data');
    }
    // Layout A: the certificate nginx serves comes from the ACME CA (Pebble).
    const root = runPath('pebble-root.pem');
    fs.writeFileSync(root, await pebbleIssuingRoot(sb.services.pebble));
    const h4 = hosts[0];
    await sb.world.hostExecOk(h4.name, 'cat > /tmp/pebble-root.pem', { input: fs.readFileSync(root, 'utf8') });
    const served = await sb.world.hostExec(
      h4.name,
      `curl -sS -o /dev/null -w '%{http_code}' --cacert /tmp/pebble-root.pem https://s3.${h4.domain}/misskey/probe.txt; rm -f /tmp/pebble-root.pem`,
    );
    assert.equal(served.stdout, '200', served.stderr);
    // Layout B: the admin's own lines are all still there, the managed block inside the 443 server.
    const vhost = await sh('h6', 'cat /etc/nginx/sites-available/misskey.conf');
    assert.match(vhost, /# Misskey \(written by the admin, not by mskplay\)/);
    assert.match(
      vhost,
      /client_max_body_size 80m;\n\n    location \/ \{\n        proxy_pass http:\/\/127.0.0.1:3000;[\s\S]*# BEGIN mskplay s3-proxy[\s\S]*location \/storage\/ \{[\s\S]*# END mskplay s3-proxy\n\}\n$/,
    );
  });

  it('a second run changes nothing, and --check then reports no drift (exit 0)', async () => {
    const r = await run();
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) assert.equal(recap(r.stdout, h.name).changed, 0, r.stdout);
    const c = await run('--check');
    assert.equal(c.code, 0, c.all);
    assert.match(c.stdout, /no drift/);
  });

  it('serves media as browsers need it: ranges (206 on MISS and HIT, the file cached once), CORS, nosniff; CSP on layout B', async () => {
    for (const [h, url, prefix] of [
      ['h4', 'https://s3.h4.test', 'misskey'],
      ['h6', 'https://h6.test', 'storage'],
    ] as const) {
      const host = new URL(url).hostname;
      // 1000 bytes: byte i is i % 251, so any slice is checkable.
      await sh(
        h,
        `python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(1000)))' > /tmp/range.bin && s3cmd -c /root/.s3cfg --no-progress put /tmp/range.bin s3://mss-${h}-drive/${prefix}/range.bin >/dev/null && rm -f /tmp/range.bin`,
      );
      const curl = (args: string) =>
        sh(
          h,
          `curl -sk --resolve ${host}:443:127.0.0.1 -o /tmp/body -D - ${args} ${url}/${prefix}/range.bin | tr -d '\\r'; echo; od -An -tu1 -v /tmp/body | tr -s ' \\n' ' '`,
        );
      const expectSlice = Array.from({ length: 100 }, (_, i) => (100 + i) % 251).join(' ');
      for (const want of ['MISS', 'HIT']) {
        const r = await curl("-H 'Range: bytes=100-199'");
        assert.match(r, /^HTTP\/\S+ 206/m, `${h} range (${want}): ${r.slice(0, 400)}`);
        assert.match(r, /^content-range: bytes 100-199\/1000$/im);
        assert.match(r, new RegExp(`^x-cache: ${want}$`, 'im'));
        assert.equal(r.trim().split('\n').pop()!.trim(), expectSlice, 'exactly those bytes');
      }
      const whole = await curl("-H 'Origin: https://other.example'");
      assert.match(whole, /^HTTP\/\S+ 200/m);
      assert.match(whole, /^x-cache: HIT$/im, 'the range MISS cached the whole file once');
      assert.match(whole, /^access-control-allow-origin: \*$/im);
      assert.match(whole, /^x-content-type-options: nosniff$/im);
      if (h === 'h6') assert.match(whole, /^content-security-policy: default-src 'none'; .*sandbox$/im);
      else assert.doesNotMatch(whole, /^content-security-policy:/im, 'layout A: its own origin, no CSP needed');
      const pre = await curl(
        "-X OPTIONS -H 'Origin: https://other.example' -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: range'",
      );
      assert.match(pre, /^HTTP\/\S+ 204/m, `${h} preflight: ${pre.slice(0, 300)}`);
      assert.match(pre, /^access-control-allow-methods: GET, HEAD, OPTIONS$/im);
      assert.match(pre, /^access-control-allow-headers: Range$/im);
    }
  });

  it('a hand-edited vhost is drift for --check --limit (exit 3, diff), and the next run restores it', async () => {
    const vhost = '/etc/nginx/sites-available/s3.h5.test.conf';
    await sh('h5', `sed -i 's/proxy_cache_lock on;/proxy_cache_lock off;/' ${vhost}`);
    const c = await run('--check', '--diff', '--limit', 'h5');
    assert.equal(c.code, 3, c.all);
    assert.match(c.stdout, /^-\s+proxy_cache_lock off;$/m);
    assert.match(c.stdout, /^\+\s+proxy_cache_lock on;$/m);
    assert.match(c.stdout, /DRIFT on 1 host\(s\): h5/);
    const r = await run('--limit', 'h5');
    assert.equal(r.code, 0, r.all);
    assert.doesNotMatch(await sh('h5', `cat ${vhost}`), /proxy_cache_lock off/);
  });

  it('a size nginx would refuse is refused before any host is touched (nginx syntax, in preflight)', async () => {
    const before = await digest(sb.world, 'h4', ['/etc/nginx']);
    const r = await run('--limit', 'h4', '--check', '-e', 'proxy_cache_max_size=20x');
    assert.equal(r.code, 5, r.all);
    assert.match(r.stderr, /proxy_cache_max_size is not an nginx size: "20x"/);
    assert.equal(await digest(sb.world, 'h4', ['/etc/nginx']), before);
  });

  it('a config nginx rejects: --check predicts the failure (candidates tested in a throwaway namespace), the run puts the files back and counts no change', async () => {
    // The admin's own cache zone: our vhost taking the same zone name makes nginx -t fail.
    await sh('h4', "printf 'proxy_cache_path /var/cache/nginx/admin levels=1 keys_zone=adminzone:1m;\\n' > /etc/nginx/conf.d/admin-zone.conf");
    try {
      const before = await digest(sb.world, 'h4', ['/etc', '/var/cache/nginx', '/var/lib/nginx', '/tmp', '/root']);
      const c = await run('--limit', 'h4', '--check', '-e', 'proxy_cache_zone=adminzone');
      assert.equal(c.code, 2, c.all);
      assert.match(c.all, /the run would fail: nginx -t rejects the candidate config at \/etc\/nginx\/\S+:\d+/);
      assert.match(c.all, /(duplicate|shared memory) zone "adminzone"/);
      assert.equal(await digest(sb.world, 'h4', ['/etc', '/var/cache/nginx', '/var/lib/nginx', '/tmp', '/root']), before, 'the check left nothing behind');
      const json = runPath('rollback-h4.json');
      const r = await run('--limit', 'h4', '-e', 'proxy_cache_zone=adminzone', '--json', json);
      assert.equal(r.code, 2, r.all);
      assert.match(r.all, /nginx -t failed at \S+; restored 1 file\(s\)/);
      assert.equal(recap(r.stdout, 'h4').changed, 0, 'a rolled-back change is not a change');
      const vhost = (JSON.parse(fs.readFileSync(json, 'utf8')).hosts.h4.tasks as { task: string; status: string; rolledBack: boolean }[]).find(
        (t) => t.task === 'Proxy vhost (layout A)',
      )!;
      assert.deepEqual([vhost.status, vhost.rolledBack], ['ok', true]);
      const get = await sh('h4', `curl -sk -o /dev/null -w '%{http_code}' --resolve s3.h4.test:443:127.0.0.1 https://s3.h4.test/misskey/probe.txt`);
      assert.equal(get, '200', 'nginx keeps serving the old config');
    } finally {
      await sh('h4', 'rm -f /etc/nginx/conf.d/admin-zone.conf');
    }
  });

  it("a broken file of the admin's own fails check and run alike, naming nginx's file and line", async () => {
    await sh('h4', "printf 'servr_name oops;\\n' > /etc/nginx/conf.d/zz-admin-broken.conf");
    try {
      const c = await run('--limit', 'h4', '--check');
      assert.equal(c.code, 2, c.all);
      assert.match(c.all, /current configuration fails nginx -t .*at \/etc\/nginx\/conf.d\/zz-admin-broken.conf:1/);
      const r = await run('--limit', 'h4');
      assert.equal(r.code, 2, r.all);
      assert.match(r.all, /at \/etc\/nginx\/conf.d\/zz-admin-broken.conf:1/);
    } finally {
      await sh('h4', 'rm -f /etc/nginx/conf.d/zz-admin-broken.conf');
    }
    const ok = await run('--limit', 'h4', '--check');
    assert.equal(ok.code, 0, ok.all);
  });

  it("a failing smoke test says curl's reason once", async () => {
    await sh('h4', 'systemctl stop nginx');
    try {
      const r = await run('--limit', 'h4', '--tags', 'smoke');
      assert.equal(r.code, 2, r.all);
      assert.equal(r.all.match(/curl: \(7\)/g)?.length, 1, r.all);
    } finally {
      await sh('h4', 'systemctl start nginx');
    }
  });

  it('refuses to switch a host to the other layout unless forced', async () => {
    const r = await run('--limit', 'h4', '-e', 'proxy_layout=directory');
    assert.equal(r.code, 2, r.all);
    assert.match(r.all, /already serves drive files through the 'subdomain' layout/);
  });

  it('check mode on an unconverged host lists every pending change and leaves it byte-identical', async () => {
    await sb.world.resetHost('h5');
    const paths = ['/etc', '/var/cache/nginx', '/root', '/tmp', '/var/tmp', '/var/lib/nginx'];
    const before = await digest(sb.world, 'h5', paths);
    const json = runPath('check-h5.json');
    const c = await run('--check', '--limit', 'h5', '--json', json, '-vv');
    assert.equal(c.code, 3, c.all);
    // -vv: the commands a run would execute, as data (stdin only by its size).
    assert.match(c.stdout, /Bucket exists: would run: s3cmd --config=\/root\/.s3cfg --no-progress mb s3:\/\/mss-h5-drive$/m);
    assert.match(c.stdout, /Certificate for the proxy name: would run: certbot certonly --nginx -d s3.h5.test /m);
    const tasks = JSON.parse(fs.readFileSync(json, 'utf8')).hosts.h5.tasks as { task: string; status: string; commands: string[] }[];
    assert.match(
      tasks.find((t) => t.task === 'Bucket policy is public-read for objects')!.commands[0],
      /setpolicy "\$f" s3:\/\/mss-h5-drive <<stdin \(\d+ bytes\)$/,
    );
    const changed = tasks.filter((t) => t.status === 'changed').map((t) => t.task);
    for (const t of [
      's3cmd config (keys, endpoint, HTTPS)',
      'Cache directory owned by the nginx worker user',
      'Certificate for the proxy name',
      'Proxy vhost (layout A)',
      'Enable the proxy vhost (layout A, sites-enabled)',
      'nginx restarts by itself (drop-in)',
    ]) {
      assert.ok(changed.includes(t), `${t} in ${changed.join(' | ')}`);
    }
    const validate = (JSON.parse(fs.readFileSync(json, 'utf8')).hosts.h5.tasks as { task: string; status: string; msg: string }[]).find((t) =>
      t.task.startsWith('nginx -t'),
    )!;
    assert.equal(validate.status, 'ok', validate.msg);
    assert.match(validate.msg, /nginx -t passes on the candidate config \(2 file\(s\), tested in a throwaway mount namespace\)/);
    assert.equal(await digest(sb.world, 'h5', paths), before);
    const r = await run('--limit', 'h5');
    assert.equal(r.code, 0, r.all);
  });

  it('never shows the S3 secret key, even at -vvv with diffs and --json', async () => {
    await sb.world.resetHost('h4');
    const json = runPath('secret-h4.json');
    const r = await run('--limit', 'h4', '-vvv', '--diff', '--json', json);
    assert.equal(r.code, 0, r.all);
    assert.ok(r.all.includes('********'), 'the masked secret shows in the s3cmd config diff');
    for (const text of [r.all, fs.readFileSync(json, 'utf8')]) {
      assert.ok(!text.includes(WORLD.s3.secretKey), 'secret key leaked');
      assert.ok(!text.includes(WORLD.s3.accessKey), 'access key leaked');
    }
  });
});
