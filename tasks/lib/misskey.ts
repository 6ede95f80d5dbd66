// Facts about Misskey lines shared by the Misskey tasks: which line a checkout is, the desired
// object-storage settings, and the baseUrl safety rules (baseUrl is federated: never silently moved).

import { bool, oneOf, path, str, type InferShape } from '../../src/params-spec.js';
import type { FileState } from '../../src/task.js';

export type MisskeyLine = 'v10' | 'v11' | 'v12';

/** The line of a checkout from its package.json (name + major version), or null when unknown. */
export function detectLine(pkg: FileState): MisskeyLine | null {
  if (!pkg.exists || pkg.content === undefined) return null;
  let j: { name?: string; version?: string };
  try {
    j = JSON.parse(pkg.content);
  } catch {
    return null;
  }
  const major = Number(/^(\d+)\./.exec(j.version ?? '')?.[1]);
  if (j.name === 'areionskey') return 'v11';
  if (j.name === 'misskey' && major === 10) return 'v10';
  if (j.name === 'misskey' && major === 11) return 'v11';
  if (j.name === 'misskey' && major === 12) return 'v12';
  return null;
}

export function resolveLine(wanted: MisskeyLine | 'auto', pkg: FileState, path: string): MisskeyLine {
  if (wanted !== 'auto') return wanted;
  const line = detectLine(pkg);
  if (!line) {
    throw new Error(
      pkg.exists
        ? `cannot tell the Misskey line from ${path}/package.json: set misskey_version to v10, v11 or v12`
        : `no Misskey checkout at ${path} (no package.json): set misskey_path, or misskey_version to v10, v11 or v12`,
    );
  }
  return line;
}

/** What the drive should point at, in one neutral shape (mapped to v10 YAML or v11/v12 meta). */
export interface DriveSettings {
  baseUrl: string;
  bucket: string;
  prefix: string;
  /** host[:port] of the S3 service, no scheme. */
  endpoint: string;
  region: string | null;
  useSSL: boolean;
  useProxy: boolean;
  setPublicRead: boolean;
  s3ForcePathStyle: boolean;
  accessKey: string;
  secretKey: string;
}

/** Params of the tasks that set Misskey's drive (v10 file, v11/v12 admin API): declared once. */
export const driveShape = {
  version: oneOf(['v10', 'v11', 'v12', 'auto'] as const).doc('the Misskey line (v10, v11, v12); auto reads package.json of the checkout'),
  path: path().doc('the Misskey checkout'),
  base_url: str({ pattern: '^https?://[^/]+$' }).doc('drive baseUrl: scheme and host only, no path, no trailing slash'),
  expect_base_url: str().optional().doc('the baseUrl the proxy layout serves; base_url must equal it'),
  bucket: str({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
  prefix: str({ pattern: '^[a-zA-Z0-9._-]+$' }).doc('key prefix of uploads in the bucket'),
  endpoint: str({ pattern: '^[a-zA-Z0-9.-]+(:[0-9]{1,5})?$' }).doc('S3 endpoint, host[:port], no scheme'),
  region: str().optional().doc('signing region; empty for none'),
  use_ssl: bool().optional().doc('default true'),
  use_proxy: bool().optional().doc('Misskey proxies remote files (default true)'),
  set_public_read: bool().optional().doc('default false (the bucket policy makes objects public)'),
  s3_force_path_style: bool().optional().doc('default true'),
  access_key: str({ minLength: 1 }).secret(),
  secret_key: str({ minLength: 1 }).secret(),
  force_base_url: bool().optional().doc('allow replacing a different existing baseUrl or storage target'),
  move_from_bucket: str().optional().doc('a move in progress: the old bucket, which the drive may be switched away from (same baseUrl only)'),
  move_from_endpoint: str().optional().doc("a move in progress: the old bucket's endpoint"),
  local: bool()
    .optional()
    .doc(
      "a retire: new uploads go to Misskey's own disk again (v10 drive.storage fs, v11/v12 useObjectStorage false); the files so far are served from the mirror",
    ),
};

export type DriveParams = InferShape<typeof driveShape>;

export function validateDrive(p: DriveParams): { param?: string; message: string }[] {
  const out: { param?: string; message: string }[] = [];
  if (p.base_url.endsWith('/')) out.push({ param: 'base_url', message: `base_url must not end with '/' (Misskey would build URLs with '//'): ${p.base_url}` });
  if (p.expect_base_url && p.base_url !== p.expect_base_url) {
    out.push({ param: 'base_url', message: `base_url ${p.base_url} does not match the proxy layout, which serves ${p.expect_base_url}` });
  }
  return out;
}

export function desiredDrive(p: DriveParams): DriveSettings {
  return {
    baseUrl: p.base_url,
    bucket: p.bucket,
    prefix: p.prefix,
    endpoint: p.endpoint,
    region: p.region ? p.region : null,
    useSSL: p.use_ssl ?? true,
    useProxy: p.use_proxy ?? true,
    setPublicRead: p.set_public_read ?? false,
    s3ForcePathStyle: p.s3_force_path_style ?? true,
    accessKey: p.access_key,
    secretKey: p.secret_key,
  };
}

/**
 * Refuse to move a baseUrl (or a storage target) that is already set to something else: those URLs
 * are federated and cannot be taken back. Returns the reason, or null when the change is safe.
 */
export function baseUrlConflict(
  current: { baseUrl?: string | null; bucket?: string | null; endpoint?: string | null; enabled: boolean },
  want: DriveSettings,
  moveFrom?: { bucket?: string; endpoint?: string },
): string | null {
  if (current.baseUrl && current.baseUrl !== want.baseUrl) {
    return `the drive baseUrl is already ${current.baseUrl}; changing it to ${want.baseUrl} breaks the URLs of files uploaded so far, which other servers have federated`;
  }
  // A move: exactly from the old target (as the proxy falls back to it) to the new, baseUrl kept.
  if (moveFrom?.bucket && current.bucket === moveFrom.bucket && (current.endpoint ?? '') === (moveFrom.endpoint ?? '')) return null;
  if (current.enabled && ((current.bucket && current.bucket !== want.bucket) || (current.endpoint && current.endpoint !== want.endpoint))) {
    return `object storage already points at bucket ${current.bucket ?? '?'} on ${current.endpoint ?? '?'}; moving it to ${want.bucket} on ${want.endpoint} strands the files stored there`;
  }
  return null;
}

/** Object storage back on for a drive a retire turned off: refused (its files live on the mirror now). */
export const RETIRED_PROBLEM =
  'object storage was turned off for this drive by a retire: uploads go to local storage and the old files are served from the mirror. Keep retire: true for this host (so site keeps it retired), or turn object storage back on with -e misskey_base_url_force=true';

export const FORCE_HINT = 'if you really mean it, run with -e misskey_base_url_force=true';
