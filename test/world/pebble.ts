// The world's ACME server: Pebble (Debian package) on <bindIp>:14000 with a world-CA TLS
// certificate (SAN acme.world.test), validating http-01 on port 80 of whatever the world's DNS
// returns. Pitfalls from reference/acme-testing.md: Debian ships no test certs (we issue one),
// default httpPort is 5002 (we set 80), Pebble's issuing root changes on every start (fetch it).

import fsp from 'node:fs/promises';
import path from 'node:path';
import { WORLD, runPath } from './config.js';
import { ensureWorldCa, issueServerCert } from './pki.js';
import { run, spawnDaemon, stopDaemon, tailFile, waitUntil } from './services-proc.js';

export interface PebbleOptions {
  /** Address for the ACME API and the management API (the world passes WORLD.gatewayIp). */
  bindIp: string;
  /** DNS server Pebble's validator asks, host:port (the world's dnsmasq: 10.231.0.1:53). */
  dnsServer: string;
  dir?: string;
  netns?: string;
  port?: number;
  managementPort?: number;
  /** Port Pebble connects to for http-01 / tls-alpn-01 on the validated host. */
  httpPort?: number;
  tlsPort?: number;
}

export interface PebbleService {
  dir: string;
  bindIp: string;
  netns?: string;
  port: number;
  managementPort: number;
  /** What the hosts use: https://acme.world.test:14000/dir */
  directoryUrl: string;
  /** Same directory by address (the TLS cert has the IP SANs too). */
  directoryUrlByIp: string;
  /** The world CA: verifies Pebble's API certificate (REQUESTS_CA_BUNDLE for certbot). */
  caFile: string;
  startupMs: number;
}

export const PEBBLE_MANAGEMENT_PORT = 15000;

export function defaultPebbleDir(): string {
  return runPath('pebble');
}

export async function startPebble(opts: PebbleOptions): Promise<PebbleService> {
  const t0 = Date.now();
  const dir = path.resolve(opts.dir ?? defaultPebbleDir());
  const port = opts.port ?? WORLD.acme.port;
  const managementPort = opts.managementPort ?? PEBBLE_MANAGEMENT_PORT;
  await stopPebble(dir);
  await fsp.mkdir(dir, { recursive: true });

  const ca = await ensureWorldCa();
  const cert = await issueServerCert({
    outDir: path.join(dir, 'tls'),
    name: 'pebble',
    dnsNames: [WORLD.acme.name],
    ips: [opts.bindIp, '127.0.0.1', WORLD.gatewayIp],
  });
  const config = {
    pebble: {
      listenAddress: `${opts.bindIp}:${port}`,
      managementListenAddress: `${opts.bindIp}:${managementPort}`,
      certificate: cert.certFile,
      privateKey: cert.keyFile,
      httpPort: opts.httpPort ?? 80,
      tlsPort: opts.tlsPort ?? 443,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  };
  const configFile = path.join(dir, 'pebble-config.json');
  await fsp.writeFile(configFile, JSON.stringify(config, null, 2) + '\n');

  const svc: PebbleService = {
    dir,
    bindIp: opts.bindIp,
    netns: opts.netns,
    port,
    managementPort,
    directoryUrl: `https://${WORLD.acme.name}:${port}/dir`,
    directoryUrlByIp: `https://${opts.bindIp}:${port}/dir`,
    caFile: ca.certFile,
    startupMs: 0,
  };
  // No sleeps in the validator, no random nonce rejections: tests stay fast and deterministic.
  const env = { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' };
  const d = await spawnDaemon({
    name: 'pebble',
    argv: ['pebble', '-config', configFile, '-dnsserver', opts.dnsServer, '-strict=false'],
    dir,
    netns: opts.netns,
    env,
  });
  try {
    await waitUntil('pebble directory', async () => (await pebbleGet(svc, svc.directoryUrlByIp)).includes('newAccount'), {
      timeoutMs: 20_000,
      diag: () => tailFile(d.logFile),
    });
  } catch (e) {
    await stopPebble(dir, { keep: true });
    throw e;
  }
  svc.startupMs = Date.now() - t0;
  return svc;
}

async function pebbleGet(svc: PebbleService, url: string): Promise<string> {
  const r = await run(['curl', '-sf', '--max-time', '10', '--cacert', svc.caFile, url], { netns: svc.netns });
  return r.stdout;
}

/** PEM of the root that signs the certificates Pebble issues (new on every Pebble start). */
export function pebbleIssuingRoot(svc: PebbleService): Promise<string> {
  return pebbleGet(svc, `https://${svc.bindIp}:${svc.managementPort}/roots/0`);
}

/** PEM of the intermediate that issued the leaf certificates. */
export function pebbleIntermediate(svc: PebbleService): Promise<string> {
  return pebbleGet(svc, `https://${svc.bindIp}:${svc.managementPort}/intermediates/0`);
}

export async function stopPebble(dir = defaultPebbleDir(), o: { keep?: boolean } = {}): Promise<void> {
  await stopDaemon(path.join(dir, 'pids', 'pebble.pid'), 5000);
  if (!o.keep) await fsp.rm(dir, { recursive: true, force: true });
}
