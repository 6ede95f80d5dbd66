// The whole sandbox the plays run against: world hosts + S3 (radosgw) + ACME (Pebble), each host
// trusting the world CA, optionally with a Misskey (stand-in) of a given line and, for layouts B and C,
// an existing Misskey vhost with TLS. Used by the e2e tests, `npm run demo` and the benchmark.

import fs from 'node:fs';
import path from 'node:path';
import { WORLD, runPath } from './config.js';
import { issueServerCert } from './pki.js';
import { startWorldServices, stopWorldServices, seedHostServices, type WorldServices } from './services.js';
import { ensureDebianPackages } from './packages.js';
import { PrereqError, addTeardown, getWorld, type HostInfo, type SeedFiles, type World } from './world.js';
import type { MisskeyLine, MisskeyTokens } from './misskey-seed.js';
import { DEFAULT_SUITE, type Suite } from './layers.js';
import { remoteEnv } from '../../tasks/lib/rclone.js';

/** Test-only tokens of the stand-in's users (not anyone's secrets). */
export const TOKENS: MisskeyTokens = { admin: 'AdminTokenWorld1', moderator: 'ModerTokenWorld1', user: 'PlainTokenWorld1' };

export interface Sandbox {
  world: World;
  services: WorldServices;
}

let sandbox: Promise<Sandbox> | null = null;

/** World + services, started once per process (torn down with the world). */
export function getSandbox(log?: (m: string) => void): Promise<Sandbox> {
  sandbox ??= (async () => {
    const why = ensureDebianPackages(log);
    if (why) throw new PrereqError(`the sandbox cannot start: ${why}`);
    const world = await getWorld(log);
    addTeardown(async () => {
      sandbox = null;
      await stopWorldServices();
    });
    const services = await startWorldServices();
    return { world, services };
  })().catch((e) => {
    sandbox = null;
    throw e;
  });
  return sandbox;
}

export interface HostRole {
  /** A Misskey of this line on the host (stand-in service + checkout). */
  misskey?: MisskeyLine;
  /** Layout B needs the admin's Misskey vhost (TLS, proxy to :3000) to be there already. */
  misskeyVhost?: boolean;
}

/** Seed hook for one host: CA trust, and what its role needs. */
export function seedFor(role: HostRole): SeedFiles {
  return async (upper, index, helpers) => {
    const domain = `h${index}.${WORLD.tld}`;
    await seedHostServices(upper, helpers.lowerDirs, role.misskey ? { misskey: { line: role.misskey, tokens: TOKENS, domain } } : {});
    if (role.misskeyVhost) {
      const cert = await issueServerCert({ outDir: runPath('certs'), name: domain, dnsNames: [domain], ips: [] });
      helpers.writeFile('/etc/ssl/mss/misskey.pem', fs.readFileSync(cert.chainFile));
      helpers.writeFile('/etc/ssl/mss/misskey.key', fs.readFileSync(cert.keyFile), { mode: 0o600 });
      helpers.writeFile('/etc/nginx/sites-available/misskey.conf', misskeyVhost(domain));
      const link = helpers.upperPath('/etc/nginx/sites-enabled/misskey.conf');
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync('/etc/nginx/sites-available/misskey.conf', link);
    }
  };
}

/** An admin's Misskey vhost, as the Misskey docs shape it (trimmed): 80 -> 443, proxy to :3000. */
export function misskeyVhost(domain: string): string {
  return [
    '# Misskey (written by the admin, not by mskplay)',
    'server {',
    '    listen 80;',
    '    listen [::]:80;',
    `    server_name ${domain};`,
    '    location / { return 301 https://$server_name$request_uri; }',
    '}',
    '',
    'server {',
    '    listen 443 ssl http2;',
    '    listen [::]:443 ssl http2;',
    `    server_name ${domain};`,
    '    ssl_certificate /etc/ssl/mss/misskey.pem;',
    '    ssl_certificate_key /etc/ssl/mss/misskey.key;',
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    '    client_max_body_size 80m;',
    '',
    '    location / {',
    '        proxy_pass http://127.0.0.1:3000;',
    '        proxy_set_header Host $host;',
    '        proxy_http_version 1.1;',
    '        proxy_redirect off;',
    '    }',
    '}',
    '',
  ].join('\n');
}

export interface SiteHostVars {
  layout: 'subdomain' | 'directory' | 'files';
  misskey?: MisskeyLine;
  bucket?: string;
  /** The host's Debian (default: the startSiteHosts call's). */
  suite?: Suite;
  /** More inventory vars of the host. */
  vars?: Record<string, unknown>;
}

/** Inventory vars that point one world host's plays at the sandbox's S3 and ACME. */
export function siteVars(h: HostInfo, s: Sandbox, o: SiteHostVars): Record<string, unknown> {
  return {
    misskey_domain: h.domain,
    proxy_layout: o.layout,
    s3_endpoint: WORLD.s3.endpoint,
    s3_bucket: o.bucket ?? `mss-${h.name}-drive`,
    acme_server: s.services.pebble.directoryUrl,
    acme_email: `admin@${h.domain}`,
    // certbot's certificates come from Pebble, whose root the hosts do not trust: the smoke test
    // checks the proxy, the tests check the served certificate against Pebble's root themselves.
    smoke_validate_certs: o.layout !== 'subdomain',
    ...(o.misskey ? { misskey_version: o.misskey } : {}),
    ...o.vars,
  };
}

/**
 * Start hosts for site runs (one role each: proxy layout, Misskey line; layouts B and C get the admin's
 * Misskey vhost) and write their inventory. Returns the hosts and the inventory path.
 */
export async function startSiteHosts(
  s: Sandbox,
  roles: Record<string, SiteHostVars>,
  inventory: string,
  suite: Suite = DEFAULT_SUITE,
): Promise<{ hosts: HostInfo[]; inventory: string }> {
  const hosts: HostInfo[] = [];
  for (const [name, r] of Object.entries(roles)) {
    const seed = seedFor({ misskey: r.misskey, misskeyVhost: r.layout !== 'subdomain' });
    hosts.push(...(await s.world.startHosts({ names: [name], layer: 'pkgs', suite: r.suite ?? suite, seedFiles: seed })));
  }
  s.world.writeInventory(inventory, hosts, {}, Object.fromEntries(hosts.map((h) => [h.name, siteVars(h, s, roles[h.name])])));
  return { hosts, inventory };
}

/** Environment a run needs: the S3 keys and the admin token, the way a user provides them. */
export function siteEnv(): Record<string, string> {
  return { MSK_S3_ACCESS_KEY: WORLD.s3.accessKey, MSK_S3_SECRET_KEY: WORLD.s3.secretKey, MSK_MISSKEY_TOKEN: TOKENS.admin };
}

export function inventoryPath(name: string): string {
  fs.mkdirSync(runPath('inventories'), { recursive: true });
  return path.join(runPath('inventories'), name);
}

/** Vars of a host whose drive moves from its bucket of the first S3 provider to `newBucket` of the second. */
export function moveVars(h: HostInfo, s: Sandbox, o: SiteHostVars, newBucket: string): Record<string, unknown> {
  return {
    ...siteVars(h, s, o),
    s3_endpoint: WORLD.s3b.endpoint,
    s3_bucket: newBucket,
    move_from_endpoint: WORLD.s3.endpoint,
    move_from_bucket: o.bucket ?? `mss-${h.name}-drive`,
  };
}

/** Environment of a move from the first provider to the second: the new keys as usual, the old ones beside. */
export function moveEnv(): Record<string, string> {
  return {
    ...siteEnv(),
    MSK_S3_ACCESS_KEY: WORLD.s3b.accessKey,
    MSK_S3_SECRET_KEY: WORLD.s3b.secretKey,
    MSK_S3_OLD_ACCESS_KEY: WORLD.s3.accessKey,
    MSK_S3_OLD_SECRET_KEY: WORLD.s3.secretKey,
  };
}

/** stdin for rclone on a host (after RCLONE_ENV): remote `old` is the first provider, `new` the second. */
export function worldRemotes(): string {
  const a = { endpoint: WORLD.s3.endpoint, bucket: '', access_key: WORLD.s3.accessKey, secret_key: WORLD.s3.secretKey };
  const b = { endpoint: WORLD.s3b.endpoint, bucket: '', access_key: WORLD.s3b.accessKey, secret_key: WORLD.s3b.secretKey };
  return `${remoteEnv('OLD', a)}\n${remoteEnv('NEW', b)}\n`;
}
