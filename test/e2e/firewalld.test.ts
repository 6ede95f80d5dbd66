// e2e: firewalld for real (Debian packages it): on a host whose firewalld lets in only ssh, the
// proxy play's firewalld task opens http and https (runtime and permanent) in the zone that takes
// the traffic, check mode reports it first, and nothing else changes. (Fedora's SELinux cannot run
// here: no SELinux kernel in the test world; its fixtures are in test/tasks/selinux_*.)

import assert from 'node:assert/strict';
import { run } from '../world/proc.js';
import { inventoryPath, getSandbox, siteEnv, startSiteHosts, type Sandbox } from '../world/sandbox.js';
import type { HostInfo } from '../world/world.js';
import { play, recap } from './play.js';

describe('firewalld on a real host: http and https opened by the proxy play', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let host: HostInfo;
  let inv: string;
  const env = siteEnv();
  const sh = (cmd: string, timeoutMs = 60_000) => sb.world.hostExecOk(host.name, cmd, { timeoutMs }).then((r) => r.stdout.trim());
  const site = (...args: string[]) => play(['site', '-i', inv, '--tags', 'firewall', ...args], { env, timeoutMs: 300_000 });
  const reach = async () => (await run('curl', ['-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://${host.ip}/`])).stdout;

  before(async function () {
    this.timeout(900_000);
    sb = await getSandbox();
    ({
      hosts: [host],
      inventory: inv,
    } = await startSiteHosts(sb, { h10: { layout: 'subdomain' } }, inventoryPath('firewalld.yml')));
    await sh('DEBIAN_FRONTEND=noninteractive apt-get install -y -q firewalld >/tmp/fw.log 2>&1 && systemctl enable --now firewalld', 240_000);
    await sh('for i in $(seq 1 20); do firewall-cmd --state >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1');
  });

  it('blocks http before, check reports the change, the run opens it runtime and permanent, then no drift', async () => {
    assert.equal(await sh('systemctl is-active nginx'), 'active');
    assert.equal(await reach(), '000', 'firewalld blocks http at first');
    const c = await site('--check');
    assert.equal(c.code, 3, c.all);
    assert.match(c.stdout, /changed: \[h10\] http and https open in firewalld's active zones - open http in public, https in public \(runtime and permanent\)/);
    assert.equal(await reach(), '000', 'check changed nothing');
    const r = await site();
    assert.equal(r.code, 0, r.all);
    assert.equal(recap(r.stdout, 'h10').changed, 1);
    assert.equal(await reach(), '200');
    await sh('firewall-cmd --reload');
    assert.equal(await sh('firewall-cmd --zone=public --query-service=https'), 'yes', 'permanent: still open after a reload');
    assert.equal(await sh('firewall-cmd --zone=public --query-service=ssh'), 'yes', 'every other rule stays');
    const again = await site('--check');
    assert.equal(again.code, 0, again.all);
    assert.match(again.stdout, /no drift/);
  });
});
