// Seeds a host's upper dir so the host trusts the world CA system-wide, without running anything
// inside the host: the same files `update-ca-certificates` would produce. curl/OpenSSL read the
// bundle (and the hashed dir), s3cmd uses Python's default paths, certbot's requests uses
// Debian's python3-certifi, which points at /etc/ssl/certs/ca-certificates.crt as well.

import fsp from 'node:fs/promises';
import { ensureWorldCa } from './pki.js';
import { run } from './services-proc.js';
import { Layers, ownerOf, readMerged, statMerged, symlinkUpper, writeUpper } from './services-upper.js';

export const CA_TRUST_NAME = 'mss-world-ca';
const LOCAL_CRT = `/usr/local/share/ca-certificates/${CA_TRUST_NAME}.crt`;
const BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const ROOT_FILE = { mode: 0o644, uid: 0, gid: 0 };

/**
 * upperDir: the host's overlay upper dir; lowerDirs: its lower layers, topmost first.
 * Idempotent: a second call changes nothing. A later `update-ca-certificates` in the host keeps
 * the CA, because the .crt sits in /usr/local/share/ca-certificates.
 */
export async function seedCaTrust(upperDir: string, lowerDirs: string[], cacheDir?: string): Promise<void> {
  const l: Layers = { upperDir, lowerDirs };
  const ca = await ensureWorldCa(cacheDir);
  const pem = normalizePem(await fsp.readFile(ca.certFile, 'utf8'));

  await writeUpper(l, LOCAL_CRT, pem, ROOT_FILE);
  await symlinkUpper(l, `/etc/ssl/certs/${CA_TRUST_NAME}.pem`, LOCAL_CRT);

  // OpenSSL's hashed lookup (-CApath, Python's capath): <subject hash>.<n> -> the pem.
  const hash = (await run(['openssl', 'x509', '-hash', '-noout', '-in', ca.certFile])).stdout.trim();
  for (let n = 0; n < 10; n++) {
    const rel = `/etc/ssl/certs/${hash}.${n}`;
    const m = await statMerged(l, rel);
    const mine = m?.stat.isSymbolicLink() && (await fsp.readlink(m.file)) === `${CA_TRUST_NAME}.pem`;
    if (!m || mine) {
      await symlinkUpper(l, rel, `${CA_TRUST_NAME}.pem`);
      break;
    }
  }

  const base = (await readMerged(l, BUNDLE))?.toString() ?? '';
  if (!base.includes(pem.trim())) {
    const joined = base === '' || base.endsWith('\n') ? base : base + '\n';
    await writeUpper(l, BUNDLE, joined + pem, await ownerOf(l, BUNDLE, ROOT_FILE));
  }
}

function normalizePem(s: string): string {
  return s.replace(/\r\n/g, '\n').trim() + '\n';
}
