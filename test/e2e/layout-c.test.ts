// e2e: layout C (proxy_layout: files). Files uploaded while each line's Misskey stores locally
// (before object storage) keep their /files URLs; uploads after the play go to the bucket under
// files/ with URLs of the same shape; nginx asks the bucket first and Misskey for what it lacks.

import assert from 'node:assert/strict';
import { WORLD } from '../world/config.js';
import type { HostInfo } from '../world/world.js';
import { inventoryPath, getSandbox, siteEnv, startSiteHosts, type Sandbox, type SiteHostVars } from '../world/sandbox.js';
import { digest } from './digest.js';
import { upload as uploadTo, type Upload } from './drive.js';
import { play, recap } from './play.js';

const ROLES: Record<string, SiteHostVars> = {
  h24: { layout: 'files', misskey: 'v10', vars: { proxy_cache_valid_errors: '2s' } },
  h25: { layout: 'files', misskey: 'v11', vars: { proxy_cache_valid_errors: '2s' } },
  h26: { layout: 'files', misskey: 'v12', vars: { proxy_cache_valid_errors: '2s' } },
};
const VHOST = '/etc/nginx/sites-available/misskey.conf';

describe('layout C: object storage under /files, files from before still served', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let hosts: HostInfo[];
  let inv: string;
  const env = siteEnv();
  const site = (args: string[]) => play(['site', '-i', inv, ...args], { env, timeoutMs: 600_000 });
  const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);
  const old: Record<string, Upload[]> = {};
  const fresh: Record<string, Upload[]> = {};

  const upload = (h: string, file: string, type: string) => uploadTo(sb.world, h, file, type);
  /** GET through nginx (the host's own TLS vhost): status, X-Cache, Content-Type, and whether the bytes match. */
  const fetch = async (h: string, url: string, file?: string) => {
    const u = new URL(url);
    const out = await sh(
      h,
      `curl -sk --resolve ${u.hostname}:443:127.0.0.1 -o /tmp/got -D - '${url}' | tr -d '\\r'; ${file ? `cmp -s /tmp/got ${file} && echo SAME || echo DIFFERENT` : 'echo'}`,
    );
    return {
      status: Number(/^HTTP\/\S+ (\d+)/m.exec(out)?.[1]),
      cache: /^x-cache: (\S+)$/im.exec(out)?.[1],
      type: /^content-type: (\S+)$/im.exec(out)?.[1],
      same: /SAME\s*$/.test(out),
      raw: out,
    };
  };

  before(async function () {
    this.timeout(1_200_000);
    sb = await getSandbox();
    ({ hosts, inventory: inv } = await startSiteHosts(sb, ROLES, inventoryPath('layout-c.yml')));
    for (const h of hosts) {
      // Before object storage: each line's Misskey keeps uploads on disk and serves them itself.
      await sh(
        h.name,
        `python3 -c 'import sys; sys.stdout.buffer.write(bytes([137,80,78,71,13,10,26,10]) + bytes(i % 253 for i in range(8, 3000)))' > /tmp/old.png; head -c 1500 /dev/urandom > /tmp/old.bin`,
      );
      old[h.name] = [await upload(h.name, '/tmp/old.png', 'image/png'), await upload(h.name, '/tmp/old.bin', 'application/octet-stream')];
    }
  });

  it("gives each line's local URL shape before the move, served by Misskey through the admin's vhost", async () => {
    const shape: Record<string, RegExp> = {
      h24: /^https:\/\/h24\.test\/files\/([0-9a-f]{24})\/\1\.png\?web$/,
      h25: /^https:\/\/h25\.test\/files\/([0-9a-f-]{36})\/\1\.png$/,
      h26: /^https:\/\/h26\.test\/files\/[0-9a-f-]{36}$/,
    };
    for (const h of hosts) {
      assert.match(old[h.name]![0]!.url, shape[h.name]!);
      for (const f of old[h.name]!) {
        const r = await fetch(h.name, f.url, f.file);
        assert.deepEqual([r.status, r.same], [200, true], r.raw);
      }
    }
  });

  it('refuses a vhost with a hand-written /files location, showing it, before anything changes', async () => {
    await sh('h25', `sed -i 's|^    location / {$|    location /files/ { proxy_pass http://127.0.0.1:3000; }\\n    location / {|' ${VHOST}`);
    try {
      const before = await digest(sb.world, 'h25', ['/etc', '/root']);
      const r = await site(['--limit', 'h25']);
      assert.equal(r.code, 2, r.all);
      assert.match(
        r.all,
        /misskey\.conf already has a \/files location of its own \(line \d+: location \/files\/ \{ proxy_pass http:\/\/127\.0\.0\.1:3000; \}\)/,
      );
      assert.equal(await digest(sb.world, 'h25', ['/etc', '/root']), before, 'nothing changed: no s3cmd config, no vhost edit');
      assert.match(await sh('h25', `grep -c 'location /files/' ${VHOST}`), /^1$/m, 'the admin line is left alone');
    } finally {
      await sh('h25', `sed -i '/location \\/files\\/ { proxy_pass/d' ${VHOST}`);
    }
  });

  it('refuses to switch a layout B host to layout C unless forced', async () => {
    const block =
      '    # BEGIN mskplay s3-proxy (managed block: edits inside are replaced)\\n    location /storage/ { return 404; }\\n    # END mskplay s3-proxy';
    await sh('h26', `sed -i 's|^    location / {$|${block}\\n    location / {|' ${VHOST}`);
    try {
      const r = await site(['--limit', 'h26', '--check']);
      assert.equal(r.code, 2, r.all);
      assert.match(r.all, /already serves drive files through the 'directory' layout/);
    } finally {
      await sh('h26', `sed -i '/mskplay s3-proxy/d; /location \\/storage\\/ { return 404; }/d' ${VHOST}`);
    }
  });

  it('converges all three lines (bucket, /files block, Misskey to the bucket under files/), smoke tests pass, a second run changes nothing', async () => {
    const r = await site([]);
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) {
      assert.equal(recap(r.stdout, h.name).failed, 0, r.stdout);
      assert.match(
        r.stdout,
        new RegExp(
          `ok: \\[${h.name}\\] File uploaded through Misskey, served through the proxy - Misskey v1[012] upload https://${h.name}\\.test/files/[0-9a-f-]{36}\\.png: 200 MISS then 200 HIT`,
        ),
      );
      const vhost = await sh(h.name, `cat ${VHOST}`);
      assert.match(
        vhost,
        /# BEGIN mskplay s3-files[\s\S]*location \/files\/ \{[\s\S]*error_page 403 404 = @mskplay_misskey_files;[\s\S]*location @mskplay_misskey_files \{\s*proxy_pass http:\/\/127\.0\.0\.1:3000;/,
      );
    }
    const again = await site([]);
    assert.equal(again.code, 0, again.all);
    for (const h of hosts) assert.equal(recap(again.stdout, h.name).changed, 0, again.stdout);
    const check = await site(['--check']);
    assert.equal(check.code, 0, check.all);
    assert.match(check.stdout, /no drift/);
  });

  it('serves every old URL (Misskey, after the bucket answers 403) and every new one (the bucket): 200, same bytes and type, MISS then HIT', async () => {
    for (const h of hosts) {
      await sh(
        h.name,
        `head -c 2500 /dev/urandom > /tmp/new.bin; python3 -c 'import sys; sys.stdout.buffer.write(bytes([137,80,78,71,13,10,26,10]) + bytes(i % 241 for i in range(8, 4000)))' > /tmp/new.png`,
      );
      fresh[h.name] = [await upload(h.name, '/tmp/new.png', 'image/png'), await upload(h.name, '/tmp/new.bin', 'application/octet-stream')];
      const png = fresh[h.name]![0]!;
      assert.match(png.url, new RegExp(`^https://${h.name}\\.test/files/[0-9a-f-]{36}\\.png$`));
      // The new upload is an object of the bucket, under files/ (straight from the bucket: public-read).
      const key = new URL(png.url).pathname;
      assert.equal((await sh(h.name, `curl -s -o /dev/null -w '%{http_code}' https://mss-${h.name}-drive.${WORLD.s3.endpoint}${key}`)).trim(), '200');
      for (const f of [...old[h.name]!, ...fresh[h.name]!]) {
        const first = await fetch(h.name, f.url, f.file);
        assert.deepEqual([first.status, first.cache, first.same], [200, 'MISS', true], `${f.url}\n${first.raw}`);
        assert.equal(first.type, f.type, f.url);
        assert.match(first.raw, /^x-content-type-options: nosniff$/im);
        assert.match(first.raw, /^access-control-allow-origin: \*$/im);
        assert.match(first.raw, /^content-security-policy: default-src 'none'; .*sandbox$/im);
        const second = await fetch(h.name, f.url, f.file);
        assert.deepEqual([second.status, second.cache, second.same], [200, 'HIT', true], `${f.url}\n${second.raw}`);
      }
      // One cache entry per URL, whoever answered: an old file's HIT does not ask the bucket again.
      for (const f of old[h.name]!) {
        const u = new URL(f.url);
        const n = await sh(h.name, `grep -rlaF 'KEY: https://${u.host}${u.pathname}${u.search}' /var/cache/nginx/proxy_cache_images | wc -l`);
        assert.equal(n.trim(), '1', f.url);
      }
      // A range of an old file comes from the cached copy (Misskey itself answers no ranges).
      const u = new URL(old[h.name]![0]!.url);
      const range = await sh(h.name, `curl -sk --resolve ${u.hostname}:443:127.0.0.1 -D - -o /dev/null -H 'Range: bytes=100-199' '${u.href}' | tr -d '\\r'`);
      assert.match(range, /^HTTP\/\S+ 206/m);
      assert.match(range, /^content-range: bytes 100-199\/3000$/im);
    }
  });

  it('answers 404 for an unknown key, kept in the cache only for the short error validity', async () => {
    for (const h of hosts) {
      const url = `https://${h.name}.test/files/${h.name === 'h24' ? 'aaaaaaaaaaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaaaaaaaaaa.png?web' : '00000000-0000-4000-8000-000000000000'}`;
      const a = await fetch(h.name, url);
      assert.deepEqual([a.status, a.cache], [404, 'MISS'], a.raw);
      const b = await fetch(h.name, url);
      assert.deepEqual([b.status, b.cache], [404, 'HIT'], b.raw);
      await new Promise((r) => setTimeout(r, 3200)); // proxy_cache_valid_errors is 2s here (nginx counts whole seconds)
      const c = await fetch(h.name, url);
      assert.equal(c.status, 404);
      assert.match(c.cache ?? '', /^(EXPIRED|MISS)$/, `Misskey's own max-age (86400 for v11/v12) does not keep it in the cache:\n${c.raw}`);
    }
  });

  it('files-copy: v12 local files copied into the bucket under files/<key> (verified), then served from there with Misskey stopped; v11, v10 refused with the reason', async () => {
    const copy = (args: string[]) => play(['files-copy', '-i', inv, ...args], { env, timeoutMs: 300_000 });
    const check = await copy(['--limit', 'h26', '--check']);
    assert.equal(check.code, 3, check.all);
    assert.match(check.stdout, /copy 2 local file\(s\) \(4500 bytes\) into s3:\/\/mss-h26-drive\/files\/, verified/);
    const r = await copy(['--limit', 'h26']);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /changed: \[h26\] .* copied 2 local file\(s\) into s3:\/\/mss-h26-drive\/files\/, MD5 and type verified/);
    for (const f of old.h26!) {
      const key = new URL(f.url).pathname.slice(1);
      const head = await sh('h26', `curl -sS -D - -o /dev/null https://mss-h26-drive.${WORLD.s3.endpoint}/${key} | tr -d '\\r'`);
      assert.match(head, /^HTTP\/\S+ 200/m);
      assert.match(head, new RegExp(`^content-type: ${f.type.replace('/', '\\/')}$`, 'im'));
      assert.match(head, /^content-disposition: inline; filename="old\.(png|bin)"$/im);
      assert.match(head, /^cache-control: max-age=31536000, immutable$/im);
    }
    assert.equal((await sh('h26', 'ls /home/misskey/misskey/files | wc -l')).trim(), '2', 'the local files stay');
    await sh('h26', 'systemctl stop misskey; rm -rf /var/cache/nginx/proxy_cache_images/*');
    try {
      for (const f of old.h26!) {
        const got = await fetch('h26', f.url, f.file);
        assert.deepEqual([got.status, got.cache, got.same, got.type], [200, 'MISS', true, f.type], got.raw);
      }
    } finally {
      await sh('h26', 'systemctl start misskey');
    }
    const again = await copy(['--limit', 'h26']);
    assert.equal(again.code, 0, again.all);
    assert.equal(recap(again.stdout, 'h26').changed, 0, again.stdout);
    for (const [h, why] of [
      ['h25', /cannot copy Misskey v11's local files into the bucket: v11's local URLs are \/files\/<key>\/<key><ext>/],
      ['h24', /cannot copy Misskey v10's local files into the bucket: v10's URLs are keyed by each drive file's ObjectID/],
    ] as const) {
      const no = await copy(['--limit', h]);
      assert.equal(no.code, 2, no.all);
      assert.match(no.all, why);
    }
  });

  it('a hand edit of the /files block is drift, and the next run restores it', async () => {
    await sh('h26', `sed -i 's/error_page 403 404 = @mskplay_misskey_files;/error_page 404 = @mskplay_misskey_files;/' ${VHOST}`);
    const c = await site(['--check', '--diff', '--limit', 'h26']);
    assert.equal(c.code, 3, c.all);
    assert.match(c.stdout, /^-\s+error_page 404 = @mskplay_misskey_files;$/m);
    assert.match(c.stdout, /^\+\s+error_page 403 404 = @mskplay_misskey_files;$/m);
    const r = await site(['--limit', 'h26']);
    assert.equal(r.code, 0, r.all);
    const after = await site(['--check', '--limit', 'h26']);
    assert.equal(after.code, 0, after.all);
  });
});
