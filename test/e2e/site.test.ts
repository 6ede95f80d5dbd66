// e2e: `site` on one host per Misskey line (v10 file + restart, v11/v12 admin API through the
// stand-in), then drift detection for every kind of hand edit.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { diffLines } from 'diff';
import { WORLD, runPath } from '../world/config.js';
import { defaultYml, MISSKEY_PATHS } from '../world/misskey-seed.js';
import { DEFAULT_SUITE, SUITES, type Suite } from '../world/layers.js';
import type { HostInfo } from '../world/world.js';
import { TOKENS, inventoryPath, getSandbox, siteEnv, siteVars, startSiteHosts, type Sandbox, type SiteHostVars } from '../world/sandbox.js';
import { digest } from './digest.js';
import { play, recap } from './play.js';

/** The same site run on each supported Debian: one host per Misskey line (v10 layout A, v11 layout B, v12 layout A). */
const SUITE_HOSTS: Record<Suite, [string, string, string]> = { bookworm: ['h7', 'h8', 'h9'], bullseye: ['h21', 'h22', 'h23'] };
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const suite of SUITES)
  describe(`site on Debian ${suite}: storage + proxy + Misskey v10/v11/v12 + smoke test`, function () {
    this.timeout(600_000);
    const [A, B, C] = SUITE_HOSTS[suite];
    const ROLES: Record<string, SiteHostVars> = {
      [A]: { layout: 'subdomain', misskey: 'v10' },
      [B]: { layout: 'directory', misskey: 'v11' },
      [C]: { layout: 'subdomain', misskey: 'v12' },
    };
    let sb: Sandbox;
    let hosts: HostInfo[];
    let inv: string;
    const env = siteEnv();
    const site = (args: string[], e: Record<string, string> = env) => play(['site', '-i', inv, ...args], { env: e, timeoutMs: 600_000 });
    const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);
    const meta = async (h: string) => JSON.parse(await sh(h, `cat ${MISSKEY_PATHS.stateFile}`)).meta as Record<string, unknown>;
    const mainPid = (h: string) => sh(h, 'systemctl show -p MainPID --value misskey').then((s) => s.trim());
    const api = (h: string, endpoint: string, body: object) =>
      sh(
        h,
        `curl -s -X POST -H 'Content-Type: application/json' --data-binary @- -w ' %{http_code}' http://127.0.0.1:3000/api/${endpoint} <<'EOF'\n${JSON.stringify(body)}\nEOF`,
      );

    before(async function () {
      this.timeout(1_200_000);
      sb = await getSandbox();
      ({ hosts, inventory: inv } = await startSiteHosts(sb, ROLES, inventoryPath(`site-${suite}.yml`), suite));
    });

    it(`the hosts run Debian ${suite} with its own nginx, certbot, s3cmd, systemd and Python`, async () => {
      const want = { bookworm: ['12', '1.22', '2.1', '2.3', '252', '3.11'], bullseye: ['11', '1.18', '1.12', '2.1', '247', '3.9'] }[suite];
      for (const h of hosts) {
        const out = await sh(
          h.name,
          '. /etc/os-release; echo $VERSION_ID; nginx -v 2>&1; certbot --version; s3cmd --version; systemctl --version | head -1; python3 --version',
        );
        const got = [/^(\d+)$/m, /nginx\/(\d+\.\d+)/, /certbot (\d+\.\d+)/, /s3cmd version (\d+\.\d+)/, /systemd (\d+)/, /Python (\d+\.\d+)/].map(
          (r) => r.exec(out)?.[1],
        );
        assert.deepEqual(got, want, `${h.name}: ${out}`);
      }
    });

    it('refuses bad values before touching any host, naming where they came from', async () => {
      const before = await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc/nginx', '/home/misskey'])));
      const cases: [string[], Record<string, string>, RegExp][] = [
        [['-e', `drive_base_url=https://s3.${A}.test/`], env, /base_url must (match pattern|not end with)/],
        [['-e', `drive_base_url=https://s3.${A}.test/files`], env, /base_url must match pattern/],
        [['-e', 'misskey_version=v13'], env, /version must be one of "v10", "v11", "v12", "auto" \(value from misskey_version from -e/],
        [[], { ...env, MSK_MISSKEY_TOKEN: '' }, /undefined variable 'env MSK_MISSKEY_TOKEN' \(via misskey_token from .*defaults.yml/],
      ];
      for (const [args, e, msg] of cases) {
        const r = await site(args, e);
        assert.equal(r.code, 5, r.all);
        assert.match(r.stderr, msg);
      }
      assert.deepEqual(await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc/nginx', '/home/misskey']))), before);
    });

    it('converges all three lines in one parallel run, and a second run changes nothing', async () => {
      const pids = { v11: await mainPid(B), v12: await mainPid(C), v10: await mainPid(A) };
      const r = await site([]);
      assert.equal(r.code, 0, r.all);
      for (const h of hosts) {
        assert.equal(recap(r.stdout, h.name).failed, 0);
        assert.match(r.stdout, new RegExp(`ok: \\[${h.name}\\] Object served through the proxy.*200 MISS then 200 HIT`));
        // The guide's last step: a PNG uploaded through Misskey's own API, at the URL Misskey gave.
        const base = ROLES[h.name]!.layout === 'subdomain' ? `https://s3.${h.domain}/misskey/` : `https://${h.domain}/storage/`;
        assert.match(
          r.stdout,
          new RegExp(
            `ok: \\[${h.name}\\] File uploaded through Misskey, served through the proxy - Misskey ${ROLES[h.name]!.misskey} upload ${base.replace(/\./g, '\\.')}[0-9a-f-]{36}\\.png: 200 MISS then 200 HIT, image/png, same bytes`,
          ),
          r.stdout,
        );
        // ... and nothing of it left behind: no drive file, no object.
        assert.equal((await sh(h.name, `cat /var/lib/misskey-standin/drive-files.json`)).trim(), '{}');
        const prefix = ROLES[h.name]!.layout === 'subdomain' ? 'misskey' : 'storage';
        assert.doesNotMatch(
          await sh(h.name, `s3cmd -c /root/.s3cfg --no-progress ls s3://mss-${h.name}-drive/${prefix}/`),
          /\.png$/m,
          'the object went with the drive file',
        );
      }
      // v10: the file changed, Misskey restarted and read it; v11/v12: settings in the DB, no restart.
      assert.match(r.stdout, new RegExp(`changed: \\[${A}\\] restart misskey \\(handler\\)`));
      assert.notEqual(await mainPid(A), pids.v10);
      const v10 = JSON.parse(await sh(A, 'curl -s http://127.0.0.1:3000/api/stand-in/config')).drive;
      assert.equal(v10.storage, 'minio');
      assert.equal(v10.baseUrl, `https://s3.${A}.test`);
      assert.equal(v10.config.endPoint, WORLD.s3.endpoint);
      assert.equal(await mainPid(B), pids.v11, 'v11 not restarted');
      assert.equal(await mainPid(C), pids.v12, 'v12 not restarted');
      const m8 = await meta(B);
      assert.deepEqual(
        [m8.useObjectStorage, m8.objectStorageBaseUrl, m8.objectStoragePrefix, m8.objectStorageBucket],
        [true, `https://${B}.test`, 'storage', `mss-${B}-drive`],
      );
      const m9 = await meta(C);
      assert.deepEqual(
        [m9.useObjectStorage, m9.objectStorageBaseUrl, m9.objectStoragePrefix, m9.objectStorageEndpoint, m9.objectStorageSecretKey],
        [true, `https://s3.${C}.test`, 'misskey', WORLD.s3.endpoint, WORLD.s3.secretKey],
      );
      assert.ok(!r.all.includes(WORLD.s3.secretKey) && !r.all.includes(TOKENS.admin), 'no secret in the output');

      const again = await site([]);
      assert.equal(again.code, 0, again.all);
      for (const h of hosts) assert.equal(recap(again.stdout, h.name).changed, 0, again.stdout);
    });

    it('v10: keeps every comment and unrelated key of default.yml, with a backup and the same owner and mode', async () => {
      const now = await sh(A, `cat ${MISSKEY_PATHS.defaultYml}`);
      const original = defaultYml('v10', `${A}.test`);
      const parts = diffLines(original, now);
      const removed = parts.filter((p) => p.removed).map((p) => p.value);
      assert.deepEqual(removed, ["  storage: 'fs'\n"], 'only the old drive entry went (it is kept as comments)');
      assert.match(
        now,
        /\n# mskplay: the drive settings before.*\n#drive:\n#  storage: 'fs'\n# mskplay: managed drive settings.*\ndrive:\n  storage: 'minio'\n/,
      );
      const added = parts
        .filter((p) => p.added)
        .map((p) => p.value)
        .join('');
      assert.ok(
        added.split('\n').every((l) => l === '' || l.startsWith('#') || l.startsWith('  ') || l === 'drive:'),
        'nothing added outside the drive block',
      );
      assert.equal((await sh(A, `stat -c '%U:%G %a' ${MISSKEY_PATHS.defaultYml}`)).trim(), 'misskey:misskey 644');
      const backup = (await sh(A, `ls ${MISSKEY_PATHS.defaultYml}.*~`)).trim().split('\n');
      assert.equal(backup.length, 1);
      assert.equal(await sh(A, `cat '${backup[0]}'`), original);
    });

    it('--check reports no drift after converging, and each kind of hand edit as drift, changing nothing', async () => {
      const clean = await site(['--check']);
      assert.equal(clean.code, 0, clean.all);
      assert.match(clean.stdout, /no drift/);

      // One hand edit of each kind.
      await sh(A, `sed -i 's/expires max;/expires 1d;/' /etc/nginx/sites-available/s3.${A}.test.conf`);
      await sh(A, `sed -i "s/prefix: 'misskey'/prefix: 'other'/" ${MISSKEY_PATHS.defaultYml}`);
      await sh(C, `sed -i 's/RestartSec=5/RestartSec=30/' /etc/systemd/system/nginx.service.d/mskplay-restart.conf`);
      await sh(C, `s3cmd -c /root/.s3cfg delpolicy s3://mss-${C}-drive`);
      assert.match(await api(B, 'admin/update-meta', { i: TOKENS.admin, objectStorageUseProxy: false }), / 204$/);
      const before = await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc', '/home/misskey', '/var/lib/misskey-standin'])));
      const json = runPath('drift.json');
      const r = await site(['--check', '--diff', '--json', json]);
      assert.equal(r.code, 3, r.all);
      assert.match(r.stdout, new RegExp(`DRIFT on 3 host\\(s\\): ${[A, B, C].sort().join(', ')}`));
      assert.match(r.stdout, /^-\s+expires 1d;$/m);
      assert.match(r.stdout, /^-  prefix: 'other'$/m);
      assert.match(r.stdout, /^-RestartSec=30$/m);
      assert.match(r.stdout, /^\+\s+"Action": "s3:GetObject",$/m);
      assert.match(r.stdout, /^-objectStorageUseProxy: false$/m);
      assert.ok(!r.all.includes(WORLD.s3.secretKey), 'the secret is masked in the default.yml diff');
      assert.deepEqual(
        await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc', '/home/misskey', '/var/lib/misskey-standin']))),
        before,
        'check changed nothing',
      );

      // --limit repairs one host only.
      const others = await Promise.all([B, C].map((h) => digest(sb.world, h, ['/etc', '/home/misskey', '/var/lib/misskey-standin'])));
      const fix7 = await site(['--limit', A]);
      assert.equal(fix7.code, 0, fix7.all);
      assert.deepEqual(await Promise.all([B, C].map((h) => digest(sb.world, h, ['/etc', '/home/misskey', '/var/lib/misskey-standin']))), others);
      const fixAll = await site([]);
      assert.equal(fixAll.code, 0, fixAll.all);
      const after = await site(['--check']);
      assert.equal(after.code, 0, after.all);
    });

    it('a config nginx rejects is predicted by --check and rolled back by the run, nginx serving on', async () => {
      // The admin's own cache zone: our vhost taking the same zone name makes nginx -t fail.
      await sh(A, "printf 'proxy_cache_path /var/cache/nginx/admin levels=1 keys_zone=adminzone:1m;\\n' > /etc/nginx/conf.d/admin-zone.conf");
      try {
        const args = ['--limit', A, '--skip-tags', 'misskey,misskey_smoke', '-e', 'proxy_cache_zone=adminzone'];
        const before = await digest(sb.world, A, ['/etc', '/var/cache/nginx', '/var/lib/nginx', '/tmp', '/root']);
        const c = await site(['--check', ...args]);
        assert.equal(c.code, 2, c.all);
        assert.match(c.all, /the run would fail: nginx -t rejects the candidate config at \/etc\/nginx\/\S+:\d+/);
        assert.equal(await digest(sb.world, A, ['/etc', '/var/cache/nginx', '/var/lib/nginx', '/tmp', '/root']), before, 'the check left nothing behind');
        const r = await site(args);
        assert.equal(r.code, 2, r.all);
        assert.match(r.all, /nginx -t failed at \S+; restored 1 file\(s\)/);
        assert.equal(recap(r.stdout, A).changed, 0, 'a rolled-back change is not a change');
        const get = await sh(A, `curl -sk -o /dev/null -w '%{http_code}' --resolve s3.${A}.test:443:127.0.0.1 https://s3.${A}.test/misskey/`);
        assert.match(get, /^40[34]$/, 'nginx keeps serving the old config (the bucket answers for a missing key)');
      } finally {
        await sh(A, 'rm -f /etc/nginx/conf.d/admin-zone.conf');
      }
      const after = await site(['--check', '--limit', A]);
      assert.equal(after.code, 0, after.all);
    });

    it('masks old keys found on hosts (after a rotation) by field, in every diff, output and JSON, whatever their value', async () => {
      // A canary "old key" in each place a secret lives: s3cmd's config, v10's default.yml, v11/v12 meta.
      const OLD_SK = 'OldSecretCanary7d1f0a9b3c5e';
      const OLD_AK = 'OLDACCESSCANARY42';
      await sh(A, `sed -i 's/^secret_key = .*/secret_key = ${OLD_SK}/; s/^access_key = .*/access_key = ${OLD_AK}/' /root/.s3cfg`);
      await sh(A, `sed -i "s/^    secretKey: .*/    secretKey: '${OLD_SK}'/; s/^    accessKey: .*/    accessKey: '${OLD_AK}'/" ${MISSKEY_PATHS.defaultYml}`);
      for (const h of [B, C]) {
        assert.match(await api(h, 'admin/update-meta', { i: TOKENS.admin, objectStorageSecretKey: OLD_SK, objectStorageAccessKey: OLD_AK }), / 204$/);
      }
      const json = runPath('rotation.json');
      const c = await site(['--check', '--diff', '--json', json]);
      // The s3cmd config holds the old key: the bucket cannot be read through it, but the run writes
      // the config first, so the check reports drift (unknown until written), not a failure.
      assert.equal(c.code, 3, c.all);
      assert.match(c.stdout, /^-secret_key = \*{8}$/m);
      assert.match(c.stdout, /^\+secret_key = \*{8} \(changed\)$/m);
      assert.match(c.stdout, /^-    secretKey: \*{8}$/m);
      assert.match(c.stdout, /^\+    secretKey: \*{8} \(changed\)$/m);
      assert.match(c.stdout, /^-objectStorageSecretKey: \*{8}$/m);
      assert.match(c.stdout, /^\+objectStorageSecretKey: \*{8} \(changed\)$/m);
      assert.match(c.stdout, /unknown until the s3cmd config is written/);
      const r = await site(['--diff', '-vv']);
      assert.equal(r.code, 0, r.all);
      for (const text of [c.all, r.all, fs.readFileSync(json, 'utf8')]) {
        for (const v of [OLD_SK, OLD_AK, WORLD.s3.secretKey, WORLD.s3.accessKey, TOKENS.admin])
          assert.ok(!text.includes(v), `a secret leaked: ${v.slice(0, 4)}...`);
      }
      const after = await site(['--check']);
      assert.equal(after.code, 0, after.all);
    });

    it("uploads through each line's Misskey API are served at the URL Misskey gives: MISS, HIT, same bytes, 206 ranges, CORS, nosniff (+ CSP on layout B)", async () => {
      const upload = (h: string, file: string, type: string) =>
        sh(
          h,
          `printf %s '${TOKENS.admin}' | curl -sS -F 'i=<-' -F 'file=@${file};type=${type}' -w '\\n%{http_code}' http://127.0.0.1:3000/api/drive/files/create`,
        ).then((out) => {
          const cut = out.lastIndexOf('\n');
          assert.equal(out.slice(cut + 1), '200', out);
          return JSON.parse(out.slice(0, cut)) as { id: string; url: string };
        });
      for (const h of hosts) {
        const role = ROLES[h.name]!;
        const base = role.layout === 'subdomain' ? `https://s3.${h.domain}/misskey/` : `https://${h.domain}/storage/`;
        // A PNG signature and 992 bytes after it: byte i is i % 251 from byte 8 on.
        await sh(
          h.name,
          `python3 -c 'import sys; sys.stdout.buffer.write(bytes([137,80,78,71,13,10,26,10]) + bytes(i % 251 for i in range(8, 1000)))' > /tmp/r.png`,
        );
        const file = await upload(h.name, '/tmp/r.png', 'image/png');
        assert.ok(file.url.startsWith(base) && file.url.endsWith('.png'), `${h.name}: ${file.url} under ${base}`);
        const u = new URL(file.url);
        const curl = (args: string) =>
          sh(
            h.name,
            `curl -sk --resolve ${u.hostname}:443:127.0.0.1 -o /tmp/b -D - ${args} ${file.url} | tr -d '\\r'; echo; cmp -s /tmp/b /tmp/r.png && echo SAME || od -An -tu1 -v /tmp/b | tr -s ' \\n' ' '`,
          );
        const first = await curl("-H 'Origin: https://remote.example'");
        assert.match(first, /^HTTP\/\S+ 200/m, `${h.name}: ${first.slice(0, 300)}`);
        assert.match(first, /^x-cache: MISS$/im);
        assert.match(first, /^content-type: image\/png$/im);
        assert.match(first, /^access-control-allow-origin: \*$/im);
        assert.match(first, /^x-content-type-options: nosniff$/im);
        assert.match(first, /SAME\s*$/, 'the same bytes');
        if (role.layout === 'directory') assert.match(first, /^content-security-policy: default-src 'none'; .*sandbox$/im);
        const second = await curl('');
        assert.match(second, /^x-cache: HIT$/im);
        const range = await curl("-H 'Range: bytes=100-199'");
        assert.match(range, /^HTTP\/\S+ 206/m);
        assert.match(range, /^content-range: bytes 100-199\/1000$/im);
        assert.equal(range.trim().split('\n').pop()!.trim(), Array.from({ length: 100 }, (_, k) => (100 + k) % 251).join(' '));
        // The object as the line's upload() stored it, straight from the bucket (public-read policy).
        const head = await sh(h.name, `curl -sS -D - -o /dev/null https://mss-${h.name}-drive.${WORLD.s3.endpoint}${u.pathname} | tr -d '\\r'`);
        assert.match(head, /^content-disposition: inline; filename="r\.png"$/im);
        assert.match(
          head,
          role.misskey === 'v10' ? /^cache-control: max-age=2592000, s-maxage=172800, immutable$/im : /^cache-control: max-age=31536000, immutable$/im,
        );
        assert.match(await api(h.name, 'drive/files/delete', { i: TOKENS.admin, fileId: file.id }), / 204$/);
        assert.match(
          await sh(h.name, `curl -s -o /dev/null -w '%{http_code}' https://mss-${h.name}-drive.${WORLD.s3.endpoint}${u.pathname}`),
          /^40[34]$/,
          'the object went with the drive file',
        );
      }
      // v11 on layout B: an SVG keeps its type (v11's upload() sends it as detected); the proxy's CSP keeps its script inert.
      await sh(B, `printf '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>' > /tmp/x.svg`);
      const svg = await upload(B, '/tmp/x.svg', 'image/svg+xml');
      assert.match(svg.url, new RegExp(`^https://${re(B)}\\.test/storage/[0-9a-f-]{36}\\.svg$`));
      const served = await sh(B, `curl -sk -D - -o /dev/null --resolve ${B}.test:443:127.0.0.1 ${svg.url} | tr -d '\\r'`);
      assert.match(served, /^content-type: image\/svg\+xml$/im);
      assert.match(served, /^content-security-policy: default-src 'none'; .*sandbox$/im);
      assert.match(await api(B, 'drive/files/delete', { i: TOKENS.admin, fileId: svg.id }), / 204$/);
    });

    it('an S3 endpoint with an explicit port reaches Misskey whole, and an upload through Misskey works with it', async () => {
      const withPort = `${WORLD.s3.endpoint}:443`;
      const r = await site(['--limit', C, '-e', `s3_endpoint=${withPort}`, '-e', 'misskey_base_url_force=true']);
      assert.equal(r.code, 0, r.all);
      const m = await meta(C);
      assert.deepEqual([m.objectStorageEndpoint, m.objectStoragePort], [withPort, null], 'the port inside the endpoint, the port field empty');
      assert.match(
        r.stdout,
        new RegExp(
          `ok: \\[${C}\\] File uploaded through Misskey, served through the proxy - Misskey v12 upload .*: 200 MISS then 200 HIT, image/png, same bytes`,
        ),
      );
      const back = await site(['--limit', C, '-e', 'misskey_base_url_force=true']);
      assert.equal(back.code, 0, back.all);
      assert.equal((await meta(C)).objectStorageEndpoint, WORLD.s3.endpoint);
    });

    it('refuses to move a baseUrl that is already set elsewhere unless forced', async () => {
      const r = await site(['--tags', 'misskey', '--limit', C, '-e', `proxy_host=s3b.${C}.test`]);
      assert.equal(r.code, 2, r.all);
      assert.match(r.all, new RegExp(`the drive baseUrl is already https://s3\\.${C}\\.test; changing it to https://s3b\\.${C}\\.test breaks the URLs`));
      assert.equal((await meta(C)).objectStorageBaseUrl, `https://s3.${C}.test`);
    });

    it('names the reason when the Misskey token is rejected or not an admin', async () => {
      const bad = await site(['--tags', 'misskey', '--limit', C], { ...env, MSK_MISSKEY_TOKEN: 'NotAValidToken01' });
      assert.equal(bad.code, 2, bad.all);
      assert.match(bad.all, /the Misskey token was rejected \(admin\/meta: AUTHENTICATION_FAILED\)/);
      const mod = await site(['--tags', 'misskey', '--limit', C], { ...env, MSK_MISSKEY_TOKEN: TOKENS.moderator });
      assert.equal(mod.code, 2, mod.all);
      assert.match(mod.all, /ACCESS_DENIED: You are not the admin/);
      assert.ok(!bad.all.includes('NotAValidToken01') && !mod.all.includes(TOKENS.moderator), 'tokens are masked');
    });

    // Runner behaviour, the same on every system: once is enough.
    if (suite === DEFAULT_SUITE)
      it('a host that is down shows as unreachable while the others finish', async () => {
        const dead = { name: 'h12', ip: '10.231.0.22', domain: 'h12.test' } as HostInfo;
        const vars = Object.fromEntries([...hosts, dead].map((h) => [h.name, siteVars(h, sb, ROLES[h.name] ?? { layout: 'subdomain', misskey: 'v12' })]));
        const withDead = sb.world.writeInventory(inventoryPath('site-dead.yml'), [...hosts, dead], { ansible_timeout: 3 }, vars);
        const r = await play(['site', '-i', withDead, '--limit', `h12:${C}`], { env, timeoutMs: 300_000 });
        assert.equal(r.code, 4, r.all);
        assert.equal(recap(r.stdout, 'h12').unreachable, 1);
        assert.equal(recap(r.stdout, C).failed, 0);
      });
  });
