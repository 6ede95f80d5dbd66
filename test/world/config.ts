// Fixed names and addresses of the test world. Every part of the harness reads them from here.
// Only addresses on this machine: the bridge in the root namespace and the hosts' namespaces.

import path from 'node:path';

const env = process.env;

export const WORLD = {
  /** Rootfs layers and other slow-to-build things, kept between runs (keyed on their inputs). */
  cacheDir: env.MSS_WORLD_CACHE ?? '/var/cache/mss-world',
  /** Per-run state: host overlays, PIDs, keys, logs, generated inventory. Removed by `down`. */
  runDir: env.MSS_WORLD_RUN ?? '/var/tmp/mss-world',

  bridge: 'mssbr0',
  /** Root-namespace side of the bridge; the world's services (DNS, apt proxy, S3, ACME) listen here. */
  gatewayIp: '10.231.0.1',
  prefixLen: 24,
  netnsPrefix: 'mss-',
  maxHosts: 200,

  aptProxyPort: 3142,
  dnsPort: 53,

  /** Test domain names: host i is `h<i>`, its Misskey domain `h<i>.test` (layout A proxy: `s3.h<i>.test`). */
  tld: 'test',

  s3: {
    /** Vultr-like endpoint name (virtual-host style: <bucket>.s3.world.test), HTTPS with the world CA. */
    endpoint: 's3.world.test',
    httpsPort: 443,
    /** Fixed test credentials of the radosgw user (test-only values, not secrets of anyone). */
    accessKey: 'MSSWORLDTESTACCESS01',
    secretKey: 'mss-world-test-secret-key-0000000000000001',
  },

  /**
   * A second S3 provider (a move's target): its own name, address, certificate and user with its
   * own keys, served by a second radosgw of the same Ceph cluster (see s3.ts).
   */
  s3b: {
    endpoint: 's3b.world.test',
    /** A second address of the gateway, on the bridge: radosgw B has its own port 443. */
    ip: '10.231.0.2',
    accessKey: 'MSSWORLDTESTACCESSB2',
    secretKey: 'mss-world-test-secret-key-b000000000000002',
  },

  acme: {
    name: 'acme.world.test',
    port: 14000,
    /** ACME directory URL as the hosts reach it. */
    get directory(): string {
      return `https://${this.name}:${this.port}/dir`;
    },
  },
};

export function hostName(i: number): string {
  return `h${i}`;
}
export function hostIp(i: number): string {
  if (i < 1 || i > WORLD.maxHosts) throw new Error(`host index ${i} out of range`);
  return `10.231.0.${10 + i}`;
}
export function hostDomain(i: number): string {
  return `h${i}.${WORLD.tld}`;
}
export function hostIndex(name: string): number {
  const m = /^h(\d+)$/.exec(name);
  if (!m) throw new Error(`not a world host name: ${name}`);
  return Number(m[1]);
}
export function runPath(...p: string[]): string {
  return path.join(WORLD.runDir, ...p);
}
export function cachePath(...p: string[]): string {
  return path.join(WORLD.cacheDir, ...p);
}
