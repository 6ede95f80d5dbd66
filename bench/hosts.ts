// The benchmark's hosts: world hosts from the `pkgs` layer, each a Misskey v12 (stand-in) behind
// layout A (s3.<domain>), with a certificate for s3.<domain> already in certbot's live folder.
//
// Why the certificate is seeded: certbot takes about 7 s of mostly CPU per host, the same for both
// tools (each just runs certbot), so on 2 cores it would bury the runners' own cost and blow the
// time budget at N=30. Both plays still run their certbot step; it finds a valid certificate and
// does nothing, as on any run after the first.

import fs from 'node:fs';
import path from 'node:path';
import { runPath } from '../test/world/config.js';
import { issueServerCert } from '../test/world/pki.js';
import { seedFor, siteVars, type Sandbox } from '../test/world/sandbox.js';
import type { HostInfo, SeedFiles } from '../test/world/world.js';

export const MAX_HOSTS = 30;

export const hostNames = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);

let certPromise: Promise<{ chain: Buffer; key: Buffer }> | null = null;

/** One world-CA certificate for s3.h1.test .. s3.h30.test (one key pair: issuing 30 costs seconds). */
function proxyCert(): Promise<{ chain: Buffer; key: Buffer }> {
  certPromise ??= (async () => {
    const names = hostNames(MAX_HOSTS).map((h) => `s3.${h}.test`);
    const c = await issueServerCert({ outDir: runPath('bench-certs'), name: 'bench-proxy', dnsNames: names, ips: [] });
    return { chain: fs.readFileSync(c.chainFile), key: fs.readFileSync(c.keyFile) };
  })();
  return certPromise;
}

/** Seed hook: the proxy certificate where certbot keeps it (fullchain.pem, privkey.pem). */
const seedProxyCert: SeedFiles = async (_upper, index, files) => {
  const { chain, key } = await proxyCert();
  const live = `/etc/letsencrypt/live/s3.h${index}.test`;
  files.writeFile(`${live}/fullchain.pem`, chain, { mode: 0o644 });
  files.writeFile(`${live}/privkey.pem`, key, { mode: 0o600 });
};

/** Start (or restart: always pristine) hosts h1..hN. */
export async function startBenchHosts(sb: Sandbox, n: number): Promise<HostInfo[]> {
  await proxyCert();
  return sb.world.startHosts({ names: hostNames(n), layer: 'pkgs', seedFiles: [seedFor({ misskey: 'v12' }), seedProxyCert] });
}

/** Pristine again: every host rebooted from an empty overlay (the seeds run again). */
export async function resetBenchHosts(sb: Sandbox, hosts: HostInfo[]): Promise<HostInfo[]> {
  return Promise.all(hosts.map((h) => sb.world.resetHost(h.name)));
}

/**
 * Inventory for both tools (the world's Ansible-style YAML). `tag` names the buckets: a reset host
 * forgets its bucket but the shared S3 service does not, so each converge gets new buckets.
 */
export function writeBenchInventory(sb: Sandbox, hosts: HostInfo[], dir: string, tag: string): string {
  const vars = Object.fromEntries(hosts.map((h) => [h.name, siteVars(h, sb, { layout: 'subdomain', misskey: 'v12', bucket: `mss-${h.name}-${tag}` })]));
  return sb.world.writeInventory(path.join(dir, `inventory-${tag}.yml`), hosts, {}, vars);
}
