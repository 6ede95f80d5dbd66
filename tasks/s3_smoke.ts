// s3_smoke: end-to-end proof on the host itself. Put a small object under the prefix, GET it twice
// through the proxy URL (curl --resolve to this host), expect 200 with X-Cache MISS then HIT and the
// same bytes, then delete the object. It only reads in effect, so it reports ok, never changed;
// in check mode it is skipped (it would write to the bucket).
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask } from '../src/task.js';
import { bucketParam, bucketUri, s3cmd } from './lib/s3cmd.js';
import { proxyCurlFlags } from './lib/curl.js';
import { bool, params, path, str, type Infer } from '../src/params-spec.js';

const spec = params({
  config: path().doc("s3cmd's config file"),
  bucket: bucketParam(),
  prefix: str({ pattern: '^[a-zA-Z0-9._-]+(/[a-zA-Z0-9._-]+)*$' }).doc('the drive prefix: the test object goes under it'),
  base_url: str({ pattern: '^https?://[^/]+(/.*[^/])?$' }).doc('the URL the proxy serves the bucket at'),
  resolve_to: str({ minLength: 1 }).optional().doc('address the proxy name resolves to for the test (default 127.0.0.1)'),
  validate_certs: bool().optional().doc('false: accept any certificate'),
});
type Params = Infer<typeof spec>;

export function smokeScript(p: Params): string {
  const curlFlags = proxyCurlFlags(p.base_url, p.resolve_to, p.validate_certs);
  return [
    'set -u',
    'd=$(mktemp -d)',
    `trap 'rm -rf "$d"' EXIT`,
    'name="mskplay-smoke-$(date +%s)-$$.txt"',
    sh`key=${p.prefix}/"$name"`,
    'printf "mskplay smoke test %s\\n" "$name" > "$d/src"',
    `if ! ${s3cmd(p.config, 'put --quiet --mime-type=text/plain "$d/src" ' + sh`${bucketUri(p.bucket)}`)}/"$key" >"$d/put.log" 2>&1; then echo "PUT_FAILED"; cat "$d/put.log"; exit 0; fi`,
    sh`url=${p.base_url.replace(/\/$/, '')}/"$key"`,
    `for i in 1 2; do code=$(curl ${sh`${curlFlags}`} -o "$d/body$i" -D "$d/head$i" -w '%{http_code}' "$url" 2>"$d/curl$i") || { code=curl-error; cat "$d/curl$i" >&2; }; xc=$(grep -i '^x-cache:' "$d/head$i" | tr -d '\\r' | awk '{print $2}'); echo "GET$i $code \${xc:-none}"; if cmp -s "$d/src" "$d/body$i"; then echo "BODY$i same"; else echo "BODY$i differs"; fi; done`,
    `echo "URL $url"`,
    `${s3cmd(p.config, sh`del --quiet ${bucketUri(p.bucket)}`)}/"$key" >/dev/null 2>&1 && echo "DEL ok" || echo "DEL failed"`,
  ].join('\n');
}

export interface SmokeOutcome {
  ok: boolean;
  message: string;
}

export function judgeSmoke(out: string): SmokeOutcome {
  if (out.includes('PUT_FAILED')) return { ok: false, message: `could not put the test object: ${out.split('\n').slice(1, 4).join(' ')}` };
  const get = (n: number) => /^GET\d (\S+) (\S+)$/.exec(out.split('\n').find((l) => l.startsWith(`GET${n} `)) ?? '') ?? [];
  const [, c1, x1] = get(1);
  const [, c2, x2] = get(2);
  const url = /^URL (.*)$/m.exec(out)?.[1] ?? '?';
  const same = out.includes('BODY1 same') && out.includes('BODY2 same');
  const problems: string[] = [];
  if (c1 !== '200' || c2 !== '200') problems.push(`HTTP ${c1}, ${c2} (want 200, 200)`);
  if (x1 !== 'MISS' || x2 !== 'HIT') problems.push(`X-Cache ${x1}, ${x2} (want MISS, HIT)`);
  if (c1 === '200' && !same) problems.push('the body differs from the object that was put');
  return problems.length ? { ok: false, message: `${url}: ${problems.join('; ')}` } : { ok: true, message: `${url}: 200 MISS then 200 HIT, same bytes` };
}

export default defineTask({
  name: 's3_smoke',
  doc: 'Put a test object, GET it twice through the proxy (expect MISS then HIT), delete it',
  params: spec,
  example: '- s3_smoke: { config: /root/.s3cfg, bucket: ex-drive, prefix: misskey, base_url: "https://s3.ex.social" }',
  probes: () => [],
  plan: (_ctx, p) => ({ action: 'run', summary: `smoke test ${p.base_url}/${p.prefix}/...` }),
  apply: async (ctx, p) => {
    const r = await ctx.conn.exec(smokeScript(p));
    const verdict = judgeSmoke(r.stdout);
    // Both GETs fail alike when the proxy is down: say curl's reason once.
    const detail = [
      ...new Set(
        r.stderr
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      ),
    ].join('\n');
    if (!verdict.ok) throw new TaskError(`smoke test failed: ${verdict.message}`, detail || undefined);
    return { changed: false, msg: verdict.message };
  },
});
