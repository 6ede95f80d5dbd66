// misskey_smoke: the guide's last step, automated. Upload a small real PNG through Misskey's own
// API (drive/files/create, the admin token on stdin), check that the URL Misskey gives is an
// object's under the drive baseUrl and prefix (not a local file's: v11/v12 get one more try after
// their 10 s settings cache), fetch that URL through the proxy twice (200, MISS then HIT, the
// same bytes, image/png), then delete the drive file (and with it the object), also when a step
// failed. It proves Misskey's settings, not only the proxy: a wrong endpoint, key, prefix or
// baseUrl in Misskey fails here. Check mode: would run.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { bool, oneOf, params, path, str, type Infer } from '../src/params-spec.js';
import { defineTask, type ApplyContext, type FileState } from '../src/task.js';
import { resolveLine } from './lib/misskey.js';
import { proxyCurlFlags } from './lib/curl.js';
import { apiCallCommand, describeApiError, parseApiAnswer } from './lib/misskey-api.js';

const spec = params({
  version: oneOf(['v10', 'v11', 'v12', 'auto'] as const).doc('the Misskey line; auto reads package.json of the checkout'),
  path: path().doc('the Misskey checkout'),
  api_url: str({ pattern: '^https?://[^/]+$' }).doc("Misskey's own address on the host (http://127.0.0.1:3000)"),
  token: str().secret().doc("an admin's API token (on stdin only); empty: the test is skipped, saying so"),
  base_url: str({ pattern: '^https?://[^/]+$' }).doc('the drive baseUrl the returned URL must start with'),
  prefix: str({ pattern: '^[a-zA-Z0-9._-]+$' }).doc('the drive prefix'),
  resolve_to: str({ minLength: 1 }).optional().doc('address the proxy name resolves to for the test (default 127.0.0.1)'),
  validate_certs: bool().optional().doc('false: accept any certificate'),
  local: bool()
    .optional()
    .doc("a retire: Misskey stores uploads on its own disk; the URL must be a local file's under instance_url/files/, fetched from Misskey itself"),
  instance_url: str({ pattern: '^https?://[^/]+$' }).optional().doc("the instance's URL (https://<domain>), for local"),
});
type Params = Infer<typeof spec>;

// A PNG of its own, one pixel of a random colour: every run uploads new bytes (Misskey returns the
// existing file for bytes a user already has).
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
export function smokePng(rgb: Buffer = crypto.randomBytes(3)): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const pixel = zlib.deflateSync(Buffer.concat([Buffer.from([0]), rgb]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', pixel),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Upload: the token is the only line of stdin (read by the shell, handed to curl on its stdin). */
export function uploadCommand(apiUrl: string, png: Buffer): string {
  return [
    'set -u',
    'IFS= read -r tok',
    'd=$(mktemp -d)',
    `trap 'rm -rf "$d"' EXIT`,
    sh`printf %s ${png.toString('base64')} | base64 -d > "$d/mskplay-smoke.png"`,
    `printf %s "$tok" | curl -sS --max-time 30 -F 'i=<-' -F "file=@$d/mskplay-smoke.png;type=image/png" -w '\\n%{http_code}' ` +
      sh`${`${apiUrl}/api/drive/files/create`}`,
  ].join('\n');
}

/** Fetch twice through the proxy: status, X-Cache, Content-Type and the body's sha256 of each. */
export function fetchCommand(p: Params, url: string): string {
  const flags = proxyCurlFlags(url, p.resolve_to, p.validate_certs);
  return [
    'set -u',
    'd=$(mktemp -d)',
    `trap 'rm -rf "$d"' EXIT`,
    `for i in 1 2; do code=$(curl ${sh`${flags}`} -o "$d/b" -D "$d/h" -w '%{http_code}' ${sh`${url}`} 2>"$d/e") || { code=curl-error; cat "$d/e" >&2; }; ` +
      `xc=$(grep -i '^x-cache:' "$d/h" | tr -d '\\r' | awk '{print $2}'); ct=$(grep -i '^content-type:' "$d/h" | tr -d '\\r' | awk '{print $2}'); ` +
      `sum=$(sha256sum < "$d/b" | awk '{print $1}'); echo "GET$i $code \${xc:-none} \${ct:-none} $sum"; done`,
  ].join('\n');
}

export interface Verdict {
  ok: boolean;
  message: string;
}

/** Judge the two fetches of `url` (the lines fetchCommand prints) against the bytes uploaded. */
export function judgeFetch(out: string, url: string, png: Buffer, cached = true): Verdict {
  const want = crypto.createHash('sha256').update(png).digest('hex');
  const get = (n: number) => /^GET\d (\S+) (\S+) (\S+) (\S+)$/.exec(out.split('\n').find((l) => l.startsWith(`GET${n} `)) ?? '') ?? [];
  const [, c1, x1, t1, s1] = get(1);
  const [, c2, x2, t2, s2] = get(2);
  const problems: string[] = [];
  if (c1 !== '200' || c2 !== '200') problems.push(`HTTP ${c1 ?? '?'}, ${c2 ?? '?'} (want 200, 200)`);
  if (cached && (x1 !== 'MISS' || x2 !== 'HIT')) problems.push(`X-Cache ${x1 ?? '?'}, ${x2 ?? '?'} (want MISS, HIT)`);
  if (c1 === '200' && (t1 !== 'image/png' || t2 !== 'image/png')) problems.push(`Content-Type ${t1}, ${t2} (want image/png)`);
  if (c1 === '200' && (s1 !== want || s2 !== want)) problems.push('the bytes served differ from the bytes uploaded');
  return problems.length
    ? { ok: false, message: `${url}: ${problems.join('; ')}` }
    : { ok: true, message: `${url}: ${cached ? '200 MISS then 200 HIT' : '200 from Misskey'}, image/png, same bytes` };
}

/** v11/v12 fetchMeta() keeps the meta row 10 s per process (misc/fetch-meta.ts); one second more. */
const META_CACHE_MS = 11_000;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Where Misskey put an upload, by the URL it gave: an object of the bucket is <baseUrl>/<prefix>/<name>.png
 * (one segment, the PNG's extension kept). Local files have other shapes, even under /files (layout
 * C): v12 /files/<uuid>, v11 /files/<key>/<key>.png, v10 /files/<id>/<id>.png?web.
 */
export function uploadUrlProblem(url: string, baseUrl: string, prefix: string): string | null {
  const under = `${baseUrl}/${prefix}/`;
  if (!url.startsWith(under)) return `Misskey gave the URL ${url}, which is not under ${under}: its baseUrl or prefix is not the proxy's`;
  if (!new RegExp(`^${escapeRe(under)}[^/?#]+\\.png$`).test(url))
    return `Misskey gave the URL ${url}: a local file's, not an object's under ${under} (its object storage setting is not in effect)`;
  return null;
}

/** After a retire: a local file's URL under the instance (any of the local shapes above). */
export function localUrlProblem(url: string, instanceUrl: string): string | null {
  return url.startsWith(`${instanceUrl}/files/`)
    ? null
    : `Misskey gave the URL ${url}: not a local file's under ${instanceUrl}/files/ (its object storage is still on)`;
}

/** One upload, fetched through the proxy and deleted again (never left behind). */
async function uploadFetchDelete(ctx: ApplyContext, p: Params, line: string, png: Buffer): Promise<Verdict & { stale?: boolean }> {
  const up = parseApiAnswer({ kind: 'cmd', ...(await ctx.conn.exec(uploadCommand(p.api_url, png), { stdin: p.token + '\n' })) });
  if (up.status !== 200) throw new TaskError(`Misskey ${line} upload failed: ${describeApiError('drive/files/create', up)}`);
  const file = up.body as { id?: string; url?: string };
  if (!file.id || !file.url) throw new TaskError('drive/files/create answered without a file id or url', up.raw.slice(0, 300));
  try {
    const wrong = p.local ? localUrlProblem(file.url, p.instance_url ?? p.base_url) : uploadUrlProblem(file.url, p.base_url, p.prefix);
    if (wrong) return { ok: false, stale: true, message: wrong };
    // A local file is Misskey's own to serve (the admin's vhost in front of it is not ours): asked directly.
    const u = new URL(file.url);
    const at = p.local ? `${p.api_url}${u.pathname}${u.search}` : file.url;
    const r = await ctx.conn.exec(fetchCommand(p, at));
    const verdict = judgeFetch(r.stdout, at, png, !p.local);
    if (!verdict.ok && r.stderr.trim()) verdict.message += `\n${[...new Set(r.stderr.trim().split('\n'))].join('\n')}`;
    return verdict;
  } finally {
    const del = parseApiAnswer({
      kind: 'cmd',
      ...(await ctx.conn.exec(apiCallCommand(p.api_url, 'drive/files/delete'), { stdin: JSON.stringify({ i: p.token, fileId: file.id }) })),
    });
    if (del.status !== 204 && del.status !== 200)
      throw new TaskError(`the smoke file ${file.id} could not be deleted: ${describeApiError('drive/files/delete', del)}`);
  }
}

export default defineTask<Params, { line: string }>({
  name: 'misskey_smoke',
  doc: 'Upload a PNG through Misskey (drive/files/create), fetch the URL it gives through the proxy (MISS then HIT, same bytes), delete it',
  params: spec,
  example:
    "- misskey_smoke: { version: v12, path: /home/misskey/misskey, api_url: 'http://127.0.0.1:3000', token: \"{{ misskey_token }}\", base_url: 'https://s3.ex.social', prefix: misskey }",
  probes: (p) => [{ kind: 'file', path: `${p.path}/package.json` }],
  plan: (_ctx, p, [pkg]) => {
    let line: string;
    try {
      line = resolveLine(p.version, pkg as FileState, p.path);
    } catch (e) {
      throw new TaskError((e as Error).message);
    }
    if (!p.token) return { action: 'skip', msg: `no admin token (MSK_MISSKEY_TOKEN): the upload through Misskey ${line} is not tested` };
    const where = p.local ? `from Misskey's local storage (${p.instance_url ?? p.base_url}/files/)` : `through ${p.base_url}/${p.prefix}/`;
    return { action: 'run', summary: `upload a PNG through Misskey ${line} and fetch it ${where}`, data: { line } };
  },
  apply: async (ctx, p, change) => {
    const png = smokePng();
    const line = change.data.line;
    for (let attempt = 1; ; attempt++) {
      const r = await uploadFetchDelete(ctx, p, line, png);
      if (r.ok) return { changed: false, msg: `Misskey ${line} upload ${r.message}` };
      // v11/v12 read their storage settings through a cache (fetchMeta: 10 s in each process), so an
      // upload right after the admin API changed them may still go to the old storage: once more,
      // after that window, before calling it a failure.
      if (attempt === 1 && r.stale && line !== 'v10') {
        await new Promise((res) => setTimeout(res, META_CACHE_MS));
        continue;
      }
      const [first, ...rest] = r.message.split('\n');
      throw new TaskError(`Misskey smoke test failed: ${first}`, rest.join('\n') || undefined);
    }
  },
});
