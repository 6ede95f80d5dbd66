// A retire's local mirror of a bucket: the params its tasks share, the listings they read, and the
// manifest the verify writes. The manifest (outside the web root) records every object as verified
// on disk with its size, MD5 and Content-Type; nginx's types for the mirror are written from it,
// and once a retire is finished it is what the tasks check against, so the bucket is never asked
// again (it may be gone).

import { sh } from '../../src/connection/quote.js';
import { bool, params, path, str, type Infer } from '../../src/params-spec.js';
import { RCLONE_ENV, remoteEnv, s3Target } from './rclone.js';

export const mirrorShape = {
  from: s3Target().doc('the bucket being retired (its keys need list and read)'),
  prefix: str({ pattern: '^[a-zA-Z0-9._-]+$' }).doc('the drive prefix: objects <prefix>/<name> become files <dest>/<prefix>/<name>'),
  dest: path().doc("the proxy's local root (proxy_local_root), which nginx serves before the bucket"),
  manifest: path().doc('where the verified mirror is recorded (outside the web root)'),
  finish: bool().optional().doc('the retire is finished: once recorded so, the bucket is not asked again'),
};
export const mirrorSpec = params(mirrorShape);
export type MirrorParams = Infer<typeof mirrorSpec>;

/** stdin of a command on the bucket (remote `old`). */
export const bucketEnv = (p: MirrorParams) => `${remoteEnv('OLD', p.from)}\n`;

export const localDir = (p: MirrorParams) => `${p.dest}/${p.prefix}`;

/** The first line a probe prints instead of asking the bucket, when the manifest says finished. */
export const FINISHED_MARK = '#mskplay-retired';

/** Ask the bucket (`rclone lsjson` with these flags) unless the retire is finished and recorded so. */
export function bucketListing(p: MirrorParams, flags: string): string {
  const ask = `${RCLONE_ENV} rclone lsjson -R --files-only ${flags} ${sh`${`old:${p.from.bucket}/${p.prefix}`}`}`;
  if (!p.finish) return ask;
  return sh`if grep -qs '"finished": true' ${p.manifest}; then echo ${FINISHED_MARK}; exit 0; fi; ` + ask;
}

/** `<size>\t<path>` of every file under the local dir (nothing when it does not exist yet). */
export const localSizesCommand = (p: MirrorParams) => sh`if [ -d ${localDir(p)} ]; then cd ${localDir(p)} && find . -type f -printf '%s\t%P\n'; fi`;

export function parseLocalSizes(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of out.split('\n')) {
    const t = l.indexOf('\t');
    if (t > 0) m.set(l.slice(t + 1), Number(l.slice(0, t)));
  }
  return m;
}

/** A key that would not stay under the local dir as a path: never written or removed. */
export const unsafeKey = (k: string) => k.startsWith('/') || k.split('/').some((s) => s === '..' || s === '.' || s === '');

// --- The manifest ----------------------------------------------------------------------------

export interface MirroredObject {
  size: number;
  md5: string | null;
  type: string;
}

export interface Manifest {
  bucket: string;
  endpoint: string;
  prefix: string;
  dest: string;
  finished: boolean;
  objects: Record<string, MirroredObject>;
}

/** Deterministic text (sorted keys), so an unchanged mirror is an unchanged file. */
export function renderManifest(m: Manifest): string {
  const objects = Object.fromEntries(
    Object.keys(m.objects)
      .sort()
      .map((k) => [k, m.objects[k]]),
  );
  return JSON.stringify({ ...m, objects }, null, 1) + '\n';
}

export function parseManifest(text: string | undefined): Manifest | null {
  if (!text) return null;
  try {
    const m = JSON.parse(text) as Manifest;
    return m && typeof m.objects === 'object' ? m : null;
  } catch {
    return null;
  }
}

// --- nginx types for the mirror ---------------------------------------------------------------

/** A Content-Type nginx's types block can carry as it is (type/subtype, optional parameters). */
const TYPE_RE = /^[A-Za-z0-9][\w.+-]*\/[\w.+-]+(\s*;\s*[\w.-]+=("[\w .-]*"|[\w.-]+))*$/;
export const servableType = (t: string) => TYPE_RE.test(t);

/** nginx's extension of a URI: after the last dot of the last segment, lower-cased (ngx_http_set_exten). */
export function extensionOf(key: string): string {
  const last = key.slice(key.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot < 0 ? '' : last.slice(dot + 1).toLowerCase();
}

const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const DEFAULT_TYPE = 'application/octet-stream';

/**
 * The nginx include for the mirror's location: one `types` entry per extension (the type most of its
 * files had in the bucket), `default_type` for files without one, and an exact location for each
 * file whose type differs from its extension's (`fallback` is what try_files does for it otherwise).
 */
export function renderTypes(m: Manifest, fallback: string): string {
  const byExt = new Map<string, Map<string, number>>();
  for (const [k, o] of Object.entries(m.objects)) {
    const e = extensionOf(k);
    const counts = byExt.get(e) ?? new Map<string, number>();
    counts.set(o.type, (counts.get(o.type) ?? 0) + 1);
    byExt.set(e, counts);
  }
  // The commonest type of each extension; ties go to the type that sorts first (stable output).
  const main = new Map<string, string>();
  for (const [e, counts] of byExt) {
    const best = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    main.set(e, best);
  }
  const lines = [
    `# Managed by mskplay: the Content-Type of each file mirrored from bucket ${m.bucket} (${m.prefix}/ at ${m.endpoint}),`,
    '# as the verified mirror recorded it. Edits are reported as drift and replaced.',
    'types {',
  ];
  for (const e of [...main.keys()].filter(Boolean).sort()) lines.push(`    ${quote(main.get(e)!)} ${quote(e)};`);
  lines.push('}');
  lines.push(`default_type ${quote(main.get('') ?? DEFAULT_TYPE)};`);
  for (const k of Object.keys(m.objects).sort()) {
    const t = m.objects[k]!.type;
    if (t === (main.get(extensionOf(k)) ?? DEFAULT_TYPE)) continue;
    lines.push(`location = ${quote(`/${m.prefix}/${k}`)} {`, '    types { }', `    default_type ${quote(t)};`, `    try_files $uri ${fallback};`, '}');
  }
  return lines.join('\n') + '\n';
}
