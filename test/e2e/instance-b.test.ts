// e2e: one v12 instance on three servers, layout B: a front nginx (h56, the admin's Misskey vhost,
// misskey_role proxy) and two app servers (h57, h58). The media location goes into the admin's
// vhost on the front host only; the bucket is made there once; the admin API is called once for
// the instance (from its first app server) and the Misskey smoke upload runs once.
// Each stand-in keeps its own state file, where real app servers share one database: what is
// counted is the admin API calls over both app servers (the stand-ins' moderation logs, as v12
// writes one per update-meta), which must be one after the first run and stay one.

import assert from 'node:assert/strict';
import { MISSKEY_PATHS } from '../world/misskey-seed.js';
import type { HostInfo } from '../world/world.js';
import { getSandbox, inventoryPath, seedFor, siteEnv, siteVars, type Sandbox } from '../world/sandbox.js';
import { play, recap, taskLine } from './play.js';

const FRONT = 'h56';
const APPS = ['h57', 'h58'];
const META = 'Object storage settings through the admin API (v11, v12)';

describe('one v12 instance on three servers, layout B: the media location on the front nginx, the admin API once', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let hosts: HostInfo[];
  let inv: string;
  const env = siteEnv();
  const site = (args: string[] = []) => play(['site', '-i', inv, ...args], { env, timeoutMs: 600_000 });
  const sh = (h: string, cmd: string) => sb.world.hostExecOk(h, cmd).then((r) => r.stdout);
  /** update-meta calls the app servers' stand-ins have logged. */
  const metaCalls = async () => {
    let n = 0;
    for (const h of APPS) {
      const st = JSON.parse(await sh(h, `cat ${MISSKEY_PATHS.stateFile} 2>/dev/null || echo '{}'`)) as { moderationLogs?: { type: string }[] };
      n += (st.moderationLogs ?? []).filter((l) => l.type === 'updateMeta').length;
    }
    return n;
  };

  before(async function () {
    this.timeout(1_200_000);
    sb = await getSandbox();
    hosts = [...(await sb.world.startHosts({ names: [FRONT], layer: 'pkgs', seedFiles: seedFor({ misskeyVhost: true }) }))];
    for (const h of APPS) hosts.push(...(await sb.world.startHosts({ names: [h], layer: 'pkgs', seedFiles: seedFor({ misskey: 'v12' }) })));
    const front = hosts[0]!;
    // The instance is the front host's name (h56.test resolves there): the admin's vhost serves it.
    const vars = (role: string) => ({
      ...siteVars(front, sb, { layout: 'directory', misskey: 'v12', bucket: 'mss-b-drive' }),
      misskey_instance: 'b',
      misskey_role: role,
      smoke_proxy_address: front.ip,
    });
    inv = sb.world.writeInventory(inventoryPath('instance-b.yml'), hosts, {}, { [FRONT]: vars('proxy'), h57: vars('app'), h58: vars('app') });
  });

  it('converges: the location in the front host vhost only, the bucket there once, the admin API and the smoke upload once', async () => {
    const r = await site();
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) assert.equal(recap(r.stdout, h.name).failed, 0, r.stdout);
    assert.match(taskLine(r.stdout, FRONT, 'Bucket exists')!, /^changed: \[h56\] Bucket exists - create bucket mss-b-drive/);
    assert.match(await sh(FRONT, 'cat /etc/nginx/sites-available/misskey.conf'), /# BEGIN mskplay s3-proxy[\s\S]*location \/storage\/ \{/);
    for (const h of APPS) {
      assert.match(taskLine(r.stdout, h, 'Bucket exists')!, /^skipping: /);
      assert.equal(
        (await sb.world.hostExec(h, 'ls /etc/nginx/conf.d/mskplay-s3-cache.conf /etc/nginx/sites-available/misskey.conf')).code,
        2,
        `${h}: no nginx file of ours`,
      );
    }
    assert.match(taskLine(r.stdout, 'h57', META)!, /^changed: \[h57\] /);
    assert.match(taskLine(r.stdout, 'h58', META)!, /^changed: \[h58\] .* - ran on h57/);
    assert.equal(taskLine(r.stdout, FRONT, META)?.startsWith('skipping: '), true, 'the front host has no Misskey');
    assert.equal(await metaCalls(), 1, 'the admin API once for the instance');
    assert.match(
      taskLine(r.stdout, 'h57', 'File uploaded through Misskey')!,
      /^ok: \[h57\] File uploaded through Misskey, served through the proxy - Misskey v12 upload https:\/\/h56\.test\/storage\//,
    );
    assert.match(taskLine(r.stdout, 'h58', 'File uploaded through Misskey')!, /ran on h57/);
  });

  it('a second run changes nothing and calls the admin API no more; --check reports no drift', async () => {
    const r = await site();
    assert.equal(r.code, 0, r.all);
    for (const h of hosts) assert.equal(recap(r.stdout, h.name).changed, 0, r.stdout);
    assert.equal(await metaCalls(), 1);
    const c = await site(['--check']);
    assert.equal(c.code, 0, c.all);
  });
});
