// The world's test CA (openssl) and the server certificates it issues (S3, Pebble's API).
// The CA lives in cacheDir so it survives runs; hosts get it through seedCaTrust (pki-trust.ts),
// so the cached rootfs layers never need to change when the CA does.

import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { WORLD, cachePath } from './config.js';
import { run } from './services-proc.js';

export interface WorldCa {
  certFile: string;
  keyFile: string;
}

export interface ServerCert {
  certFile: string;
  keyFile: string;
  /** Leaf followed by the CA certificate. */
  chainFile: string;
}

const CA_SUBJECT = '/O=mss test world/CN=MSS World Test CA';
const CA_DAYS = 3650;
/** Renew the cached CA when it has less than this left. */
const CA_MIN_LEFT_S = 30 * 24 * 3600;

export function caDir(cacheDir = WORLD.cacheDir): string {
  return cacheDir === WORLD.cacheDir ? cachePath('pki') : path.join(cacheDir, 'pki');
}

async function usable(ca: WorldCa): Promise<boolean> {
  try {
    await fsp.access(ca.keyFile);
    const r = await run(['openssl', 'x509', '-checkend', String(CA_MIN_LEFT_S), '-noout', '-in', ca.certFile], {
      allowFail: true,
    });
    return r.code === 0;
  } catch {
    return false;
  }
}

/**
 * Returns the cached CA, creating it on first use. Built in a temp dir and renamed into place,
 * so two processes racing here both end up with the same CA.
 */
export async function ensureWorldCa(cacheDir = WORLD.cacheDir): Promise<WorldCa> {
  const dir = caDir(cacheDir);
  const ca = { certFile: path.join(dir, 'ca.pem'), keyFile: path.join(dir, 'ca.key') };
  if (await usable(ca)) return ca;
  await fsp.mkdir(path.dirname(dir), { recursive: true });
  // An expiring CA is moved aside (not deleted) and replaced; a missing one is simply created.
  const present = await fsp.access(ca.certFile).then(
    () => true,
    () => false,
  );
  if (present) await fsp.rename(dir, `${dir}.old-${Date.now()}`).catch(() => {});
  const tmp = await fsp.mkdtemp(`${dir}.tmp-`);
  try {
    await run([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-keyout',
      path.join(tmp, 'ca.key'),
      '-out',
      path.join(tmp, 'ca.pem'),
      '-days',
      String(CA_DAYS),
      '-subj',
      CA_SUBJECT,
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'subjectKeyIdentifier=hash',
    ]);
    await fsp.chmod(path.join(tmp, 'ca.key'), 0o600);
    await fsp.chmod(path.join(tmp, 'ca.pem'), 0o644);
    await fsp.chmod(tmp, 0o755); // the key stays 0600; the certificate is public
    await fsp.rename(tmp, dir);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    if (await usable(ca)) return ca; // another process won the race
    throw e;
  }
  return ca;
}

/**
 * Issues a server certificate signed by the world CA into outDir as <name>.pem / <name>.key /
 * <name>-chain.pem. dnsNames may hold wildcards ("*.s3.world.test").
 */
export async function issueServerCert(opts: {
  outDir: string;
  name: string;
  dnsNames: string[];
  ips: string[];
  days?: number;
  cacheDir?: string;
}): Promise<ServerCert> {
  const ca = await ensureWorldCa(opts.cacheDir);
  await fsp.mkdir(opts.outDir, { recursive: true });
  const base = path.join(opts.outDir, opts.name);
  const out: ServerCert = { certFile: `${base}.pem`, keyFile: `${base}.key`, chainFile: `${base}-chain.pem` };
  const san = [...new Set(opts.dnsNames)].map((d) => `DNS:${d}`).concat([...new Set(opts.ips)].map((i) => `IP:${i}`));
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${san.join(',')}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
  ].join('\n');
  const extFile = `${base}.ext`;
  const csrFile = `${base}.csr`;
  await fsp.writeFile(extFile, ext + '\n');
  try {
    await run([
      'openssl',
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-keyout',
      out.keyFile,
      '-out',
      csrFile,
      '-subj',
      `/CN=${opts.dnsNames[0] ?? opts.ips[0]}`,
    ]);
    // A random serial instead of -CAcreateserial: no shared serial file next to the cached CA.
    await run([
      'openssl',
      'x509',
      '-req',
      '-sha256',
      '-in',
      csrFile,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      '0x' +
        crypto
          .randomBytes(16)
          .toString('hex')
          .replace(/^[89a-f]/, '1'),
      '-days',
      String(opts.days ?? 397),
      '-extfile',
      extFile,
      '-out',
      out.certFile,
    ]);
  } finally {
    await fsp.rm(extFile, { force: true });
    await fsp.rm(csrFile, { force: true });
  }
  await fsp.chmod(out.keyFile, 0o600);
  const chain = (await fsp.readFile(out.certFile, 'utf8')) + (await fsp.readFile(ca.certFile, 'utf8'));
  await fsp.writeFile(out.chainFile, chain, { mode: 0o644 });
  return out;
}
