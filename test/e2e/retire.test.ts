// e2e: `retire` for a v12 and a v10 host on layout A and a v11 and a v12 host on layout B: files
// uploaded through Misskey while it stores in the bucket keep answering 200 with the same bytes and
// type through every phase (a poller on each host counts any other answer); Misskey's new uploads
// go to its own disk; a second run changes nothing; after finishing, every URL is served with the
// S3 service stopped, and a run then still changes nothing and never asks the bucket.

import assert from 'node:assert/strict';
import type { HostInfo } from '../world/world.js';
import { MISSKEY_PATHS } from '../world/misskey-seed.js';
import { startGatewayA, stopGatewayA } from '../world/s3.js';
import { WORLD } from '../world/config.js';
import { TOKENS, getSandbox, inventoryPath, siteEnv, siteVars, startSiteHosts, type Sandbox, type SiteHostVars } from '../world/sandbox.js';
import { digest } from './digest.js';
import { assertAllServed, makeFile, assertPollerClean, startPoller, upload, type Upload } from './drive.js';
import { play, recap } from './play.js';

const ROLES: Record<string, SiteHostVars> = {
  h41: { layout: 'subdomain', misskey: 'v12' },
  h42: { layout: 'subdomain', misskey: 'v10' },
  h43: { layout: 'directory', misskey: 'v11' },
  h44: { layout: 'directory', misskey: 'v12' },
};
const PREFIX: Record<string, string> = { subdomain: 'misskey', directory: 'storage' };
const root = (h: string) => `/var/www/s3.${h}.test`;
const DRIVE_PATHS = ['/etc/nginx', '/home/misskey', '/var/lib/misskey-standin', '/var/www', '/var/lib/mskplay'];

describe('retire: the drive back to local disk, every URL unchanged', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let hosts: HostInfo[];
  let siteInv: string;
  let inv: string;
  const env = siteEnv();
  const retire = (args: string[]) => play(['retire', '-i', inv, ...args], { env, timeoutMs: 600_000 });
  const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);
  const ups: Record<string, Upload[]> = {};
  const keyOf = (h: string, u: Upload) => new URL(u.url).pathname.slice(`/${PREFIX[ROLES[h]!.layout]}/`.length);

  before(async function () {
    this.timeout(1_200_000);
    sb = await getSandbox();
    const r = await startSiteHosts(sb, ROLES, inventoryPath('retire-before.yml'));
    hosts = r.hosts;
    siteInv = r.inventory;
    const site = await play(['site', '-i', siteInv], { env, timeoutMs: 600_000 });
    assert.equal(site.code, 0, site.all);
    for (const h of hosts) {
      ups[h.name] = [];
      for (let i = 0; i < 3; i++) {
        await makeFile(sb.world, h.name, `/tmp/r${i}.png`, i + 5, 1500 + i * 900);
        ups[h.name]!.push(await upload(sb.world, h.name, `/tmp/r${i}.png`, 'image/png'));
      }
      // Text Misskey stores as application/octet-stream (v10/v11 keep the .txt, v12 drops it), where
      // nginx's mime.types would say text/plain: the mirror must send what the bucket sent.
      await makeFile(sb.world, h.name, '/tmp/notes.txt', 7, 700, false);
      ups[h.name]!.push(await upload(sb.world, h.name, '/tmp/notes.txt', 'text/plain'));
      assert.equal(ups[h.name]![3]!.type, 'application/octet-stream');
    }
    inv = sb.world.writeInventory(
      inventoryPath('retire.yml'),
      hosts,
      {},
      Object.fromEntries(hosts.map((h) => [h.name, { ...siteVars(h, sb, ROLES[h.name]!), retire: true }])),
    );
  });

  after(async () => {
    // The other tests need provider A: back on, whatever happened here.
    if (sb && !(await gatewayUp())) await startGatewayA(sb.services.s3);
  });
  const gatewayUp = async () => (await sb.world.hostExec('h41', `curl -s -o /dev/null -w '%{http_code}' https://${WORLD.s3.endpoint}/`)).stdout === '200';

  it('refuses hosts without retire: true, and layout C, before anything changes', async () => {
    const plain = await play(['retire', '-i', siteInv, '--limit', 'h41'], { env });
    assert.equal(plain.code, 2, plain.all);
    assert.match(plain.all, /the retire play is for hosts with retire: true/);
    const c = await play(['retire', '-i', inv, '--limit', 'h41', '-e', 'proxy_layout=files'], { env });
    assert.equal(c.code, 5, c.all);
    assert.match(c.stderr, /layout C \(proxy_layout: files\) cannot be retired by mskplay/);
  });

  it('refuses a mirror the disk cannot hold (with the margin), before anything of the drive changes', async () => {
    const before = await digest(sb.world, 'h41', DRIVE_PATHS);
    const r = await retire(['--limit', 'h41', '-e', 'retire_disk_margin=100000g']);
    assert.equal(r.code, 2, r.all);
    assert.match(r.all, /not enough disk for the mirror: 4 object\(s\) take .+ on \/\S+, which has .+ free, and 100000\.0 GiB must stay free/);
    assert.match(r.all, /nothing was copied/);
    assert.equal(await digest(sb.world, 'h41', DRIVE_PATHS), before, 'nothing of the drive changed');
  });

  it('--check before the retire lists the phases to come and changes nothing', async () => {
    const before = await Promise.all(hosts.map((h) => digest(sb.world, h.name, DRIVE_PATHS)));
    const c = await retire(['--check', '--diff']);
    assert.equal(c.code, 3, c.all);
    for (const h of hosts) {
      // h41 has rclone from the refused run above; the others do not yet.
      const what =
        h.name === 'h41'
          ? `mirror 4 of 4 object\\(s\\) \\(\\d+ bytes\\) from mss-h41-drive at s3\\.world\\.test to ${root('h41')}/misskey`
          : `mirror mss-${h.name}-drive/\\w+/ to ${root(h.name)}/\\w+ \\(rclone not installed yet\\)`;
      assert.match(c.stdout, new RegExp(`\\[${h.name}\\] Objects mirrored to local disk \\(first pass\\) - ${what}`));
      assert.match(
        c.stdout,
        new RegExp(`\\[${h.name}\\] nginx types of the mirror \\(retire\\) - write /etc/nginx/mskplay/\\S+-types\\.conf once the mirror is verified`),
      );
    }
    // Misskey would store locally again: v10 in its file, v11/v12 through the admin API.
    assert.match(c.stdout, /^\+\s+storage: '?fs'?$/m);
    assert.match(c.stdout, /^\+useObjectStorage: false$/m);
    assert.deepEqual(await Promise.all(hosts.map((h) => digest(sb.world, h.name, DRIVE_PATHS))), before);
  });

  it('an interrupted mirror leaves no partial file where nginx serves, and the next run finishes it', async () => {
    // What a cut-off copy leaves on h42: one file in place, one half-written in the staging directory.
    const [a, b] = ups.h42!;
    await sh(
      'h42',
      `DEBIAN_FRONTEND=noninteractive apt-get install -y rclone >/dev/null 2>&1 && mkdir -p ${root('h42')}/misskey ${root('h42')}/.mskplay-staging/data/misskey && cp ${a!.file} ${root('h42')}/misskey/${keyOf('h42', a!)} && head -c 100 ${b!.file} > ${root('h42')}/.mskplay-staging/data/misskey/${keyOf('h42', b!)}`,
    );
    const c = await retire(['--check', '--limit', 'h42']);
    assert.match(c.stdout, /\[h42\] Objects mirrored to local disk \(first pass\) - mirror 3 of 4 object\(s\)/);
  });

  it('retires all four (mirror, local first, Misskey local, mirror again, verify) with every URL answering 200 throughout; a second run changes nothing', async () => {
    for (const h of hosts) await startPoller(sb.world, h.name, ups[h.name]!);
    const r = await retire([]);
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) {
      assert.equal(recap(r.stdout, h.name).failed, 0, r.stdout);
      assert.match(
        r.stdout,
        new RegExp(`changed: \\[${h.name}\\] Objects mirrored to local disk \\(first pass\\) - mirrored ${h.name === 'h42' ? 3 : 4} object\\(s\\)`),
      );
      assert.match(
        r.stdout,
        new RegExp(`changed: \\[${h.name}\\] The mirror holds every object \\(size, MD5\\), recorded with its type - all 4 object\\(s\\)`),
      );
      // Misskey's smoke upload landed on its own disk.
      assert.match(
        r.stdout,
        new RegExp(
          `ok: \\[${h.name}\\] File uploaded through Misskey, served through the proxy - Misskey v1[012] upload http://127\\.0\\.0\\.1:3000/files/\\S+: 200 from Misskey, image/png, same bytes`,
        ),
      );
    }
    for (const v of [WORLD.s3.secretKey, WORLD.s3.accessKey, TOKENS.admin]) assert.ok(!r.all.includes(v), 'a secret leaked');
    for (const h of hosts) {
      await assertPollerClean(sb.world, h.name, ups[h.name]!, 'the retire');
      // The mirror: every object a whole file under the local root, nothing left in staging.
      const files = (await sh(h.name, `cd ${root(h.name)} && find . -type f | sort`)).trim().split('\n');
      const prefix = PREFIX[ROLES[h.name]!.layout];
      assert.deepEqual(files, ups[h.name]!.map((u) => `./${prefix}/${keyOf(h.name, u)}`).sort());
    }
    const again = await retire([]);
    assert.equal(again.code, 0, again.all);
    for (const h of hosts) assert.equal(recap(again.stdout, h.name).changed, 0, again.stdout);
    // Misskey stores locally: v10's drive is fs, v11/v12 have object storage off.
    assert.equal(JSON.parse(await sh('h42', 'curl -s http://127.0.0.1:3000/api/stand-in/config')).drive.storage, 'fs');
    for (const h of ['h41', 'h43', 'h44']) assert.equal(JSON.parse(await sh(h, `cat ${MISSKEY_PATHS.stateFile}`)).meta.useObjectStorage, false);
  });

  it('serves the mirror first: the same bytes and the type from the bucket, with the bucket still behind', async () => {
    for (const h of hosts) {
      await sh(h.name, 'systemctl stop nginx; rm -rf /var/cache/nginx/proxy_cache_images/*; systemctl start nginx');
      await assertAllServed(sb.world, h.name, ups[h.name]!);
      const head = await sh(
        h.name,
        `curl -sk --resolve ${new URL(ups[h.name]![0]!.url).hostname}:443:127.0.0.1 -D - -o /dev/null '${ups[h.name]![0]!.url}' | tr -d '\\r'`,
      );
      // From disk (no X-Cache: the bucket's location was not asked), with the media headers.
      assert.doesNotMatch(head, /^x-cache:/im);
      assert.match(head, /^access-control-allow-origin: \*$/im);
      assert.match(head, /^x-content-type-options: nosniff$/im);
    }
  });

  it('finishes: after a verify, nginx stops asking the bucket; with the S3 service stopped every URL answers and a run changes nothing', async () => {
    const c = await retire(['--check', '--diff', '-e', 'retire_finish=true']);
    assert.equal(c.code, 3, c.all);
    assert.match(c.stdout, /^-\s+location @proxy \{$/m);
    assert.match(c.stdout, /^-\s*location @mskplay_bucket \{$/m);
    const r = await retire(['-e', 'retire_finish=true']);
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) {
      assert.equal(recap(r.stdout, h.name).failed, 0, r.stdout);
      const conf = await sh(h.name, `grep -rl 'mskplay_s3_upstream' /etc/nginx/ || true`);
      assert.equal(conf.trim(), '', `${h.name}: nginx no longer reaches the bucket`);
    }
    await stopGatewayA(sb.services.s3);
    try {
      assert.equal(await gatewayUp(), false, 'provider A is down');
      const down = await retire(['-e', 'retire_finish=true']);
      assert.equal(down.code, 0, down.all);
      for (const h of hosts) {
        assert.equal(recap(down.stdout, h.name).changed, 0, down.stdout);
        assert.match(down.stdout, new RegExp(`ok: \\[${h.name}\\] Objects mirrored to local disk \\(first pass\\) - the retire is finished`));
        assert.match(
          down.stdout,
          new RegExp(`ok: \\[${h.name}\\] The mirror holds every object \\(size, MD5\\), recorded with its type - retired: all 4 recorded file\\(s\\)`),
        );
      }
      for (const h of hosts) {
        await sh(h.name, 'systemctl stop nginx; rm -rf /var/cache/nginx/proxy_cache_images/*; systemctl start nginx');
        await assertAllServed(sb.world, h.name, ups[h.name]!);
        // A new upload goes to Misskey's disk and is served by Misskey.
        await makeFile(sb.world, h.name, '/tmp/after.png', 11, 1200);
        const u = await upload(sb.world, h.name, '/tmp/after.png', 'image/png');
        assert.match(u.url, new RegExp(`^https://${h.name}\\.test/files/`));
      }
      // `site` keeps the retired hosts as they are (retire: true in the inventory), S3 down or not.
      const site = await play(['site', '-i', inv, '-e', 'retire_finish=true'], { env, timeoutMs: 600_000 });
      assert.equal(site.code, 0, site.all);
      for (const h of hosts) assert.equal(recap(site.stdout, h.name).changed, 0, site.stdout);
    } finally {
      await startGatewayA(sb.services.s3);
    }
  });

  it('refuses to put a retired drive back on object storage without retire: true or force', async () => {
    const r = await play(['misskey', '-i', siteInv, '--check'], { env });
    assert.equal(r.code, 2, r.all);
    for (const h of hosts) assert.match(r.all, new RegExp(`\\[${h.name}\\][^\\n]*object storage was turned off for this drive by a retire`));
  });
});
