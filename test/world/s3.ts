// The world's S3 service: a single-node Ceph radosgw that looks like Vultr Object Storage from
// the hosts: HTTPS on <bindIp>:443 with a world-CA certificate, `rgw dns name` so that
// <bucket>.s3.world.test works (path-style keeps working too), one user with the fixed test keys.
// Ceph's mon and OSD (memstore: data in RAM) listen on 127.0.0.1 only. Recipe: reference/s3-testing.md.

import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { WORLD, runPath } from './config.js';
import { ensureWorldCa, issueServerCert } from './pki.js';
import { run, spawnDaemon, stopDaemon, tailFile, waitUntil } from './services-proc.js';

export interface S3Options {
  /** Address radosgw's HTTPS endpoint binds (the world passes WORLD.gatewayIp). */
  bindIp: string;
  /** State, logs and pid files; default runDir/s3. Removed by stopS3. */
  dir?: string;
  /** Run every daemon inside this network namespace (tests); default: this namespace. */
  netns?: string;
  httpsPort?: number;
  monPort?: number;
  /** Cap of the in-RAM object store. */
  memstoreBytes?: number;
  /** Address for the second provider's radosgw (WORLD.s3b); none: no second provider. */
  secondBindIp?: string;
}

/** The second provider: another radosgw of the cluster, its own name, certificate and user. */
export interface S3Second {
  endpoint: string;
  bindIp: string;
  baseUrl: string;
  accessKey: string;
  secretKey: string;
}

export interface S3Service {
  dir: string;
  bindIp: string;
  httpsPort: number;
  netns?: string;
  /** Endpoint name the hosts use (virtual-host style: <bucket>.<endpoint>). */
  endpoint: string;
  /** The world CA that signed radosgw's certificate. */
  caFile: string;
  /** `https://s3.world.test` (with `:port` when not 443). */
  baseUrl: string;
  startupMs: number;
  second?: S3Second;
}

export const S3_USER = 'world';
export const S3B_USER = 'worldb';
const RGW_NAME = 'client.rgw.a';
const RGWB_NAME = 'client.rgw.b';

export function defaultS3Dir(): string {
  return runPath('s3');
}

export function bucketHost(bucket: string): string {
  return `${bucket}.${WORLD.s3.endpoint}`;
}

/** Bucket policy that lets anyone GET objects (what the plays set with `s3cmd setpolicy`). */
export function publicReadPolicy(bucket: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PublicReadGetObject',
        Effect: 'Allow',
        Principal: '*',
        Action: ['s3:GetObject'],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  });
}

/**
 * An s3cmd config for the world endpoint with the test keys, virtual-host addressing, HTTPS.
 * caFile is for clients that do not trust the world CA system-wide (this machine in tests).
 * Holds a secret: write it with mode 0600.
 */
export function s3cmdConfig(o: { caFile?: string; httpsPort?: number } = {}): string {
  const port = o.httpsPort && o.httpsPort !== 443 ? `:${o.httpsPort}` : '';
  const lines = [
    '[default]',
    `access_key = ${WORLD.s3.accessKey}`,
    `secret_key = ${WORLD.s3.secretKey}`,
    `host_base = ${WORLD.s3.endpoint}${port}`,
    `host_bucket = %(bucket)s.${WORLD.s3.endpoint}${port}`,
    'use_https = True',
    'check_ssl_certificate = True',
    'check_ssl_hostname = True',
    'signature_v2 = False',
  ];
  if (o.caFile) lines.push(`ca_certs_file = ${o.caFile}`);
  return lines.join('\n') + '\n';
}

function cephConf(
  d: string,
  fsid: string,
  o: Required<Pick<S3Options, 'bindIp' | 'httpsPort' | 'monPort' | 'memstoreBytes'>> & { secondBindIp?: string },
  cert: { certFile: string; keyFile: string },
  certB?: { certFile: string; keyFile: string },
): string {
  // Provider B: a second gateway of the same cluster. Its own users' buckets are theirs (other keys
  // cannot write them), its name and certificate are its own; the objects live in the same pools,
  // which a move test does not see. A second cluster would double the start-up (~15 s) and memory.
  const second =
    o.secondBindIp && certB
      ? `
[${RGWB_NAME}]
rgw frontends = beast ssl_endpoint=${o.secondBindIp}:${o.httpsPort} ssl_certificate=${certB.certFile} ssl_private_key=${certB.keyFile}
rgw dns name = ${WORLD.s3b.endpoint}
rgw data = ${d}/rgwb
`
      : '';
  return `# written by test/world/s3.ts: single-node test cluster, everything on loopback but rgw
[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${o.monPort}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = ${d}/keyring
run dir = ${d}/run
admin socket = ${d}/run/$name.asok
log file = ${d}/log/$name.log
pid file = ${d}/run/$name.pid
crash dir = ${d}/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon warn on insecure global id reclaim allowed = false

[mon]
mon data = ${d}/mon-$id

[osd]
osd data = ${d}/osd-$id
osd objectstore = memstore
memstore device bytes = ${o.memstoreBytes}
osd op num shards = 1
osd op num threads per shard = 2

[${RGW_NAME}]
rgw frontends = beast ssl_endpoint=${o.bindIp}:${o.httpsPort} ssl_certificate=${cert.certFile} ssl_private_key=${cert.keyFile}
rgw dns name = ${WORLD.s3.endpoint}
rgw data = ${d}/rgw
${second}`;
}

/** Starts mon, OSD and radosgw, creates the test user; ~15 s. Start once per test run. */
export async function startS3(opts: S3Options): Promise<S3Service> {
  const t0 = Date.now();
  const dir = path.resolve(opts.dir ?? defaultS3Dir());
  const o = {
    bindIp: opts.bindIp,
    httpsPort: opts.httpsPort ?? WORLD.s3.httpsPort,
    monPort: opts.monPort ?? 6789,
    memstoreBytes: opts.memstoreBytes ?? 1024 ** 3,
    secondBindIp: opts.secondBindIp,
  };
  const ns = opts.netns;
  await stopS3(dir); // leftovers of a crashed run
  for (const sub of ['run', 'log', 'crash', 'rgw', 'rgwb', 'pids']) await fsp.mkdir(path.join(dir, sub), { recursive: true });

  const ca = await ensureWorldCa();
  const cert = await issueServerCert({
    outDir: path.join(dir, 'tls'),
    name: 'rgw',
    dnsNames: [WORLD.s3.endpoint, `*.${WORLD.s3.endpoint}`],
    ips: [o.bindIp, '127.0.0.1', WORLD.gatewayIp],
  });
  const certB = o.secondBindIp
    ? await issueServerCert({
        outDir: path.join(dir, 'tls'),
        name: 'rgwb',
        dnsNames: [WORLD.s3b.endpoint, `*.${WORLD.s3b.endpoint}`],
        ips: [o.secondBindIp],
      })
    : undefined;
  const conf = path.join(dir, 'ceph.conf');
  const fsid = crypto.randomUUID();
  await fsp.writeFile(conf, cephConf(dir, fsid, o, cert, certB));
  const C = ['-c', conf];
  // Some answers carry cephx keys (auth get-or-create): never quoted in errors.
  const ceph = (args: string[], input?: string) =>
    run(['ceph', ...C, '--connect-timeout', '20', ...args], { netns: ns, input, timeoutMs: 60_000, secretOutput: true });
  const keyring = path.join(dir, 'keyring');

  try {
    // Keys and the mon.
    const monKeyring = path.join(dir, 'mon.keyring');
    await run(['ceph-authtool', '--create-keyring', monKeyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run([
      'ceph-authtool',
      '--create-keyring',
      keyring,
      '--gen-key',
      '-n',
      'client.admin',
      '--cap',
      'mon',
      'allow *',
      '--cap',
      'osd',
      'allow *',
      '--cap',
      'mds',
      'allow *',
      '--cap',
      'mgr',
      'allow *',
    ]);
    await run(['ceph-authtool', monKeyring, '--import-keyring', keyring]);
    const monmap = path.join(dir, 'monmap');
    await run(['monmaptool', '--create', '--fsid', fsid, '--add', 'a', `127.0.0.1:${o.monPort}`, monmap]);
    await run(['ceph-mon', ...C, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', monKeyring]);
    await spawnDaemon({ name: 'mon', argv: ['ceph-mon', ...C, '-i', 'a', '-f'], dir, netns: ns });

    // One OSD on memstore; its cephx secret travels on stdin, its key goes into the shared keyring.
    const osdUuid = crypto.randomUUID();
    const secret = (await run(['ceph-authtool', '--gen-print-key'], { secretOutput: true })).stdout.trim();
    const osdId = (await ceph(['osd', 'new', osdUuid, '-i', '-'], JSON.stringify({ cephx_secret: secret }))).stdout.trim();
    if (!/^\d+$/.test(osdId)) throw new Error(`unexpected osd id from 'ceph osd new': ${osdId}`);
    await fsp.mkdir(path.join(dir, `osd-${osdId}`));
    const osdKeyring = path.join(dir, 'osd.keyring');
    await fsp.writeFile(osdKeyring, `[osd.${osdId}]\n\tkey = ${secret}\n`, { mode: 0o600 });
    await run(['ceph-authtool', keyring, '--import-keyring', osdKeyring]);
    await fsp.rm(osdKeyring);
    await run(['ceph-osd', ...C, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid], { netns: ns });
    await spawnDaemon({ name: 'osd', argv: ['ceph-osd', ...C, '-i', osdId, '-f'], dir, netns: ns });
    await waitUntil(`osd.${osdId} up`, async () => new RegExp(`^osd\\.${osdId} up`, 'm').test((await ceph(['osd', 'dump'])).stdout), {
      timeoutMs: 60_000,
      intervalMs: 500,
      diag: () => tailFile(path.join(dir, 'log', `osd.${osdId}.log`)),
    });

    // radosgw; it creates its pools on first start, which is most of the start-up time.
    const rgwKey = (await ceph(['auth', 'get-or-create', RGW_NAME, 'mon', 'allow rw', 'osd', 'allow rwx'])).stdout;
    await fsp.appendFile(keyring, rgwKey);
    await spawnDaemon({ name: 'rgw', argv: ['radosgw', ...C, '-n', RGW_NAME, '-f'], dir, netns: ns });
    const svc: S3Service = {
      dir,
      bindIp: o.bindIp,
      httpsPort: o.httpsPort,
      netns: ns,
      endpoint: WORLD.s3.endpoint,
      caFile: ca.certFile,
      baseUrl: `https://${WORLD.s3.endpoint}${o.httpsPort === 443 ? '' : `:${o.httpsPort}`}`,
      startupMs: 0,
    };
    await waitUntil('radosgw answering HTTPS', async () => (await s3Status(svc, '/')) === 200, {
      timeoutMs: 90_000,
      intervalMs: 500,
      diag: () => tailFile(path.join(dir, 'log', `${RGW_NAME}.log`)),
    });

    await createTestUser(dir, ns, S3_USER, WORLD.s3.accessKey, WORLD.s3.secretKey);
    if (o.secondBindIp) {
      // Started after A created the pools: B only joins them.
      const rgwbKey = (await ceph(['auth', 'get-or-create', RGWB_NAME, 'mon', 'allow rw', 'osd', 'allow rwx'])).stdout;
      await fsp.appendFile(keyring, rgwbKey);
      await spawnDaemon({ name: 'rgwb', argv: ['radosgw', ...C, '-n', RGWB_NAME, '-f'], dir, netns: ns });
      svc.second = {
        endpoint: WORLD.s3b.endpoint,
        bindIp: o.secondBindIp,
        baseUrl: `https://${WORLD.s3b.endpoint}${o.httpsPort === 443 ? '' : `:${o.httpsPort}`}`,
        accessKey: WORLD.s3b.accessKey,
        secretKey: WORLD.s3b.secretKey,
      };
      const b = { ...svc, endpoint: WORLD.s3b.endpoint, bindIp: o.secondBindIp };
      await waitUntil('radosgw B answering HTTPS', async () => (await s3Status(b, '/')) === 200, {
        timeoutMs: 60_000,
        intervalMs: 300,
        diag: () => tailFile(path.join(dir, 'log', `${RGWB_NAME}.log`)),
      });
      await createTestUser(dir, ns, S3B_USER, WORLD.s3b.accessKey, WORLD.s3b.secretKey);
    }
    svc.startupMs = Date.now() - t0;
    return svc;
  } catch (e) {
    await stopS3(dir, { keep: true }).catch(() => {});
    throw e;
  }
}

/** A user with fixed keys. Keys go in through `metadata put` on stdin, never in argv. */
async function createTestUser(dir: string, ns: string | undefined, uid: string, accessKey: string, secretKey: string): Promise<void> {
  const admin = (args: string[], input?: string) =>
    run(['radosgw-admin', '-c', path.join(dir, 'ceph.conf'), ...args], { netns: ns, input, timeoutMs: 60_000, secretOutput: true });
  await admin(['user', 'create', `--uid=${uid}`, `--display-name=World test user ${uid}`]);
  const meta = JSON.parse((await admin(['metadata', 'get', `user:${uid}`])).stdout) as {
    data: { keys: { user: string; access_key: string; secret_key: string }[] };
  };
  meta.data.keys = [{ user: uid, access_key: accessKey, secret_key: secretKey }];
  await admin(['metadata', 'put', `user:${uid}`], JSON.stringify(meta));
  const info = (await admin(['user', 'info', `--access-key=${accessKey}`])).stdout;
  if (!info.includes(`"user_id": "${uid}"`)) throw new Error(`radosgw user ${uid} with its test access key not found`);
}

/** HTTP status of an anonymous HTTPS request to the endpoint (curl, inside the service's netns). */
/**
 * Stop the first provider's gateway alone (radosgw A; B and the cluster go on): what a host sees
 * when its S3 service is gone. startGatewayA brings it back with the same config and data.
 */
export async function stopGatewayA(svc: S3Service): Promise<void> {
  await stopDaemon(path.join(svc.dir, 'pids', 'rgw.pid'));
}

export async function startGatewayA(svc: S3Service): Promise<void> {
  await spawnDaemon({ name: 'rgw', argv: ['radosgw', '-c', path.join(svc.dir, 'ceph.conf'), '-n', RGW_NAME, '-f'], dir: svc.dir, netns: svc.netns });
  await waitUntil('radosgw answering HTTPS again', async () => (await s3Status(svc, '/')) === 200, {
    timeoutMs: 60_000,
    intervalMs: 300,
    diag: () => tailFile(path.join(svc.dir, 'log', `${RGW_NAME}.log`)),
  });
}

export async function s3Status(svc: S3Service, urlPath: string, host = svc.endpoint): Promise<number> {
  const r = await run(
    [
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--max-time',
      '10',
      '--cacert',
      svc.caFile,
      '--resolve',
      `${host}:${svc.httpsPort}:${svc.bindIp}`,
      `https://${host}:${svc.httpsPort}${urlPath}`,
    ],
    { netns: svc.netns, allowFail: true },
  );
  return Number(r.stdout.trim()) || 0;
}

/** Stops radosgw, the OSD and the mon by their recorded PIDs; removes dir unless keep. */
export async function stopS3(dir = defaultS3Dir(), o: { keep?: boolean } = {}): Promise<void> {
  for (const name of ['rgwb', 'rgw', 'osd', 'mon']) await stopDaemon(path.join(dir, 'pids', `${name}.pid`));
  if (!o.keep) await fsp.rm(dir, { recursive: true, force: true });
}
