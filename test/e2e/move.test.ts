// e2e: `move` from provider A (s3.world.test) to provider B (s3b.world.test, other keys), for a
// v12 and a v10 host on layout A, a v11 host on layout B and a v12 host on layout C: files uploaded through Misskey before
// the move keep answering 200 with the same bytes and type through every phase (a poller on each
// host counts any other answer), Misskey's new uploads go to B, a second run changes nothing, and
// after finishing the proxy serves everything from B.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WORLD, runPath } from '../world/config.js';
import type { HostInfo } from '../world/world.js';
import { MISSKEY_PATHS } from '../world/misskey-seed.js';
import { RCLONE_ENV } from '../../tasks/lib/rclone.js';
import {
  TOKENS,
  inventoryPath,
  getSandbox,
  moveEnv,
  moveVars,
  siteEnv,
  siteVars,
  startSiteHosts,
  worldRemotes,
  type Sandbox,
  type SiteHostVars,
} from '../world/sandbox.js';
import { digest } from './digest.js';
import { assertAllServed, makeFile, assertPollerClean, startPoller, upload, type Upload } from './drive.js';
import { play, recap } from './play.js';

const ROLES: Record<string, SiteHostVars> = {
  h31: { layout: 'subdomain', misskey: 'v12' },
  h32: { layout: 'subdomain', misskey: 'v10' },
  h33: { layout: 'directory', misskey: 'v11' },
  h34: { layout: 'files', misskey: 'v12' },
};

describe('move: the drive to another provider, every URL unchanged', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let hosts: HostInfo[];
  let moveInv: string;
  const urls: Record<string, Upload[]> = {};
  // During the move: the new target is B (its own keys), the old one A (the keys Misskey has now).
  const env = moveEnv();
  const move = (args: string[]) => play(['move', '-i', moveInv, ...args], { env, timeoutMs: 600_000 });
  const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);
  const base = (h: HostInfo) => (ROLES[h.name]!.layout === 'subdomain' ? `s3.${h.domain}` : h.domain);
  before(async function () {
    this.timeout(1_200_000);
    sb = await getSandbox();
    const r = await startSiteHosts(sb, ROLES, inventoryPath('move-before.yml'));
    hosts = r.hosts;
    const site = await play(['site', '-i', r.inventory], { env: siteEnv(), timeoutMs: 600_000 });
    assert.equal(site.code, 0, site.all);
    for (const h of hosts) {
      urls[h.name] = [];
      for (let i = 0; i < 4; i++) {
        await makeFile(sb.world, h.name, `/tmp/m${i}.png`, i + 3, 2000 + i * 700);
        urls[h.name]!.push(await upload(sb.world, h.name, `/tmp/m${i}.png`, 'image/png'));
      }
    }
    const vars = Object.fromEntries(hosts.map((h) => [h.name, moveVars(h, sb, ROLES[h.name]!, `mss-${h.name}-new`)]));
    moveInv = sb.world.writeInventory(inventoryPath('move.yml'), hosts, {}, vars);
  });

  it('refuses a move onto its own source before touching any host', async () => {
    const same = sb.world.writeInventory(
      inventoryPath('move-same.yml'),
      hosts,
      {},
      Object.fromEntries(
        hosts.map((h) => [h.name, { ...siteVars(h, sb, ROLES[h.name]!), move_from_endpoint: WORLD.s3.endpoint, move_from_bucket: `mss-${h.name}-drive` }]),
      ),
    );
    const r = await play(['move', '-i', same], { env: { ...siteEnv(), MSK_S3_OLD_ACCESS_KEY: WORLD.s3.accessKey, MSK_S3_OLD_SECRET_KEY: WORLD.s3.secretKey } });
    assert.equal(r.code, 5, r.all);
    assert.match(r.stderr, /the move's target is its source \(mss-h31-drive at s3\.world\.test\)/);
  });

  it('refuses, before anything changes, new keys the new provider rejects, a new bucket holding another object under an old key, and one the new keys may read but not write', async () => {
    const before = await digest(sb.world, 'h31', ['/etc', '/root', '/home/misskey', '/var/lib/misskey-standin']);
    const wrong = await play(['move', '-i', moveInv, '--limit', 'h31'], { env: { ...env, MSK_S3_ACCESS_KEY: 'NOSUCHACCESSKEY00001' }, timeoutMs: 300_000 });
    assert.equal(wrong.code, 2, wrong.all);
    assert.match(wrong.all, /the new keys are not accepted by s3b\.world\.test: .*InvalidAccessKeyId/);
    // The clash: an existing bucket of B with other bytes under the key of a file uploaded before.
    const key = new URL(urls.h31![0]!.url).pathname.slice(1);
    const cfgB = `[default]\naccess_key = ${WORLD.s3b.accessKey}\nsecret_key = ${WORLD.s3b.secretKey}\nhost_base = ${WORLD.s3b.endpoint}\nhost_bucket = %(bucket)s.${WORLD.s3b.endpoint}\n`;
    await sb.world.hostExecOk(
      'h31',
      `umask 077; cat > /tmp/b.cfg; echo other > /tmp/o; s3cmd -c /tmp/b.cfg mb s3://mss-h31-clash >/dev/null && s3cmd -c /tmp/b.cfg put /tmp/o s3://mss-h31-clash/${key} >/dev/null; rm -f /tmp/b.cfg /tmp/o`,
      { input: cfgB },
    );
    const clashInv = sb.world.writeInventory(inventoryPath('move-clash.yml'), hosts, {}, { h31: moveVars(hosts[0]!, sb, ROLES.h31!, 'mss-h31-clash') });
    const clash = await play(['move', '-i', clashInv, '--limit', 'h31'], { env, timeoutMs: 300_000 });
    assert.equal(clash.code, 2, clash.all);
    assert.match(
      clash.all,
      new RegExp(
        `the new bucket mss-h31-clash already holds 1 object\\(s\\) under misskey/ with an old key but another size \\(e\\.g\\. ${key.replace(/\./g, '\\.')}\\): a move never overwrites them`,
      ),
    );
    // A new bucket the new keys may list but not write (a policy denies PutObject): the write test stops it.
    await sb.world.hostExecOk(
      'h31',
      `umask 077; cat > /tmp/b.cfg; printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":"s3:PutObject","Resource":"arn:aws:s3:::mss-h31-ro/*"}]}' > /tmp/p.json; s3cmd -c /tmp/b.cfg mb s3://mss-h31-ro >/dev/null && s3cmd -c /tmp/b.cfg setpolicy /tmp/p.json s3://mss-h31-ro >/dev/null; rc=$?; rm -f /tmp/b.cfg /tmp/p.json; exit $rc`,
      { input: cfgB },
    );
    const roInv = sb.world.writeInventory(inventoryPath('move-ro.yml'), hosts, {}, { h31: moveVars(hosts[0]!, sb, ROLES.h31!, 'mss-h31-ro') });
    const ro = await play(['move', '-i', roInv, '--limit', 'h31'], { env, timeoutMs: 300_000 });
    assert.equal(ro.code, 2, ro.all);
    assert.match(ro.all, /the new keys may list mss-h31-ro at s3b\.world\.test but not write to it: .*AccessDenied/);
    assert.match(ro.all, /nothing was copied/);
    assert.equal(await digest(sb.world, 'h31', ['/etc', '/root', '/home/misskey', '/var/lib/misskey-standin']), before, 'nothing changed on the host');
    const gone = await sb.world.hostExec(
      'h31',
      `umask 077; cat > /tmp/b.cfg; s3cmd -c /tmp/b.cfg info s3://mss-h31-new >/dev/null 2>&1; rc=$?; rm -f /tmp/b.cfg; exit $rc`,
      { input: cfgB },
    );
    assert.equal(gone.code, 12, 'the new bucket was not created');
  });

  it('--check before the move lists the phases to come and changes nothing', async () => {
    const before = await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc', '/home/misskey', '/var/lib/misskey-standin'])));
    const c = await move(['--check']);
    assert.equal(c.code, 3, c.all);
    for (const h of hosts) {
      assert.match(c.stdout, new RegExp(`\\[${h.name}\\] Bucket exists - create bucket mss-${h.name}-new`));
      // rclone is not there yet on these hosts: the check says so instead of counting.
      assert.match(
        c.stdout,
        new RegExp(
          `\\[${h.name}\\] Objects copied from the old bucket \\(first pass\\) - copy the objects of mss-${h.name}-drive/\\w+/ to mss-${h.name}-new \\(rclone not installed yet\\)`,
        ),
      );
    }
    assert.deepEqual(await Promise.all(hosts.map((h) => digest(sb.world, h.name, ['/etc', '/home/misskey', '/var/lib/misskey-standin']))), before);
    for (const v of [WORLD.s3.secretKey, WORLD.s3b.secretKey, TOKENS.admin]) assert.ok(!c.all.includes(v), 'a secret leaked');
  });

  it('an interrupted copy goes on where it stopped: the check counts what is left, the run copies only that', async () => {
    // What an interruption leaves: rclone copied 2 of the 4 objects (each object is atomic in S3).
    const keys = urls.h31!.slice(0, 2).map((u) => new URL(u.url).pathname.slice('/misskey/'.length));
    await sb.world.hostExecOk(
      'h31',
      `${RCLONE_ENV} DEBIAN_FRONTEND=noninteractive apt-get install -y rclone >/dev/null 2>&1; printf '%s\\n' ${keys.join(' ')} > /tmp/two; RCLONE_CONFIG_NEW_NO_CHECK_BUCKET=false rclone mkdir new:mss-h31-new && rclone copy --metadata --files-from /tmp/two old:mss-h31-drive/misskey new:mss-h31-new/misskey`,
      { input: worldRemotes() },
    );
    const json = runPath('move-interrupted.json');
    const c = await move(['--check', '--limit', 'h31', '--json', json]);
    assert.equal(c.code, 3, c.all);
    // Where the host stands: the first phase with something to do (s3cmd's config for the new keys here).
    assert.match(c.stdout, /^ {2}h31: next: Object storage \(s3cmd, bucket, policy\) - s3cmd config \(keys, endpoint, HTTPS\): update \/root\/.s3cfg/m);
    // The counts as fields of --json.
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as {
      hosts: Record<string, { next: { play: string }; tasks: { module: string; totals: unknown }[] }>;
    };
    const totals = (m: string) => report.hosts.h31!.tasks.find((t) => t.module === m)?.totals;
    assert.equal(report.hosts.h31!.next.play, 'Object storage (s3cmd, bucket, policy)');
    const check = totals('s3_move_check') as Record<string, number>;
    const copy = totals('s3_copy') as Record<string, number>;
    assert.deepEqual([check.objects, check.copied, check.left, copy.objects, copy.left], [4, 2, 2, 4, 2]);
    assert.ok(check.bytes > check.bytes_left && check.bytes_left > 0, JSON.stringify(check));
    assert.equal(copy.bytes_left, check.bytes_left);
    assert.match(
      c.stdout,
      /\[h31\] The old bucket is readable, the new keys work, nothing in the new bucket clashes - would run: old bucket: 4 object\(s\), \d+ bytes; 2 already in mss-h31-new, 2 left; a write test on mss-h31-new/,
    );
    assert.match(c.stdout, /\[h31\] Objects copied from the old bucket \(first pass\) - copy 2 of 4 object\(s\) \(\d+ bytes\)/);
  });

  it('moves all four (copy, fallback, Misskey to B, copy again, verify) with every URL answering 200 throughout; a second run changes nothing', async () => {
    // A poller per host: every URL through nginx, again and again, for the whole move.
    for (const h of hosts) await startPoller(sb.world, h.name, urls[h.name]!);
    const r = await move([]);
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) {
      assert.equal(recap(r.stdout, h.name).failed, 0, r.stdout);
      // h31's copy was interrupted before (the test above): only the rest is copied.
      assert.match(
        r.stdout,
        new RegExp(`changed: \\[${h.name}\\] Objects copied from the old bucket \\(first pass\\) - copied ${h.name === 'h31' ? 2 : 4} object\\(s\\)`),
      );
      // The copy's progress, live on the host's row: objects so far, then rclone's bytes, rate and ETA.
      assert.match(r.stdout, new RegExp(`\\[${h.name}\\] Objects copied from the old bucket \\(first pass\\): \\d/${h.name === 'h31' ? 2 : 4} object\\(s\\)`));
      assert.match(
        r.stdout,
        new RegExp(`ok: \\[${h.name}\\] Every object is in the new bucket \\(size, MD5, Content-Type\\) - all \\d+ object\\(s\\) of mss-${h.name}-drive/`),
      );
      // Misskey's smoke upload went to B, under the same baseUrl.
      assert.match(
        r.stdout,
        new RegExp(
          `ok: \\[${h.name}\\] File uploaded through Misskey, served through the proxy - Misskey v1[012] upload https://${base(h).replace(/\./g, '\\.')}/`,
        ),
      );
    }
    for (const v of [WORLD.s3.secretKey, WORLD.s3b.secretKey, WORLD.s3.accessKey, WORLD.s3b.accessKey, TOKENS.admin])
      assert.ok(!r.all.includes(v), 'a secret leaked');
    const again = await move([]);
    assert.equal(again.code, 0, again.all);
    for (const h of hosts) assert.equal(recap(again.stdout, h.name).changed, 0, again.stdout);
    // Misskey's settings: B's endpoint and bucket, the baseUrl unchanged.
    const v10 = JSON.parse(await sh('h32', 'curl -s http://127.0.0.1:3000/api/stand-in/config')).drive;
    assert.deepEqual([v10.config.endPoint, v10.bucket, v10.baseUrl], [WORLD.s3b.endpoint, 'mss-h32-new', 'https://s3.h32.test']);
    for (const h of ['h31', 'h33', 'h34']) {
      const meta = JSON.parse(await sh(h, `cat ${MISSKEY_PATHS.stateFile}`)).meta;
      assert.deepEqual([meta.objectStorageEndpoint, meta.objectStorageBucket], [WORLD.s3b.endpoint, `mss-${h}-new`]);
    }
    for (const h of hosts) {
      await assertPollerClean(sb.world, h.name, urls[h.name]!, 'the move');
      await assertAllServed(sb.world, h.name, urls[h.name]!);
    }
  });

  it('finishes: after a verify, the fallback goes, and every URL is served by the new bucket alone', async () => {
    const c = await move(['--check', '--diff', '-e', 'move_finish=true']);
    assert.equal(c.code, 3, c.all);
    assert.match(c.stdout, /^-\s+location @mskplay_old_bucket \{$/m);
    const r = await move(['-e', 'move_finish=true']);
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) {
      const conf = await sh(h.name, `grep -rl 'mskplay_old_bucket' /etc/nginx/ || true`);
      assert.equal(conf.trim(), '', `${h.name}: no fallback left`);
      // The old bucket no longer answers anonymous reads (the admin's step, not the tool's): every URL still does.
      await sh(
        h.name,
        `umask 077; printf '[default]\\naccess_key = ${WORLD.s3.accessKey}\\nsecret_key = ${WORLD.s3.secretKey}\\nhost_base = ${WORLD.s3.endpoint}\\nhost_bucket = %%(bucket)s.${WORLD.s3.endpoint}\\n' > /root/old.cfg; s3cmd -c /root/old.cfg delpolicy s3://mss-${h.name}-drive >/dev/null; rm -f /root/old.cfg; systemctl stop nginx; rm -rf /var/cache/nginx/proxy_cache_images/*; systemctl start nginx`,
      );
      await assertAllServed(sb.world, h.name, urls[h.name]!);
    }
    const json = runPath('move-final.json');
    const final = await move(['--check', '-e', 'move_finish=true', '--json', json]);
    assert.equal(final.code, 0, final.all);
  });

  it('moves again within one provider (same endpoint and keys): copied server-side, every URL unchanged', async () => {
    const h31 = hosts[0]!;
    const again = sb.world.writeInventory(
      inventoryPath('move-same-provider.yml'),
      hosts,
      {},
      {
        h31: { ...moveVars(h31, sb, ROLES.h31!, 'mss-h31-b2'), move_from_endpoint: WORLD.s3b.endpoint, move_from_bucket: 'mss-h31-new' },
      },
    );
    const same = { ...env, MSK_S3_OLD_ACCESS_KEY: WORLD.s3b.accessKey, MSK_S3_OLD_SECRET_KEY: WORLD.s3b.secretKey };
    const r = await play(['move', '-i', again, '--limit', 'h31'], { env: same, timeoutMs: 600_000 });
    assert.equal(r.code, 0, r.all);
    assert.match(
      r.stdout,
      /changed: \[h31\] Objects copied from the old bucket \(first pass\) - copied 4 object\(s\), \d+ bytes, .*\(server-side: both buckets on one endpoint with the same keys\)/,
    );
    assert.match(
      r.stdout,
      /ok: \[h31\] Every object is in the new bucket \(size, MD5, Content-Type\) - all 4 object\(s\) of mss-h31-new\/misskey\/ are in mss-h31-b2/,
    );
    for (const v of [WORLD.s3b.secretKey, WORLD.s3b.accessKey]) assert.ok(!r.all.includes(v), 'a secret leaked');
    await assertAllServed(sb.world, 'h31', urls.h31!);
  });
});
