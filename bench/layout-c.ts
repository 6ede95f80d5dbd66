// `npm run bench:layout-c`: which upstream should layout C ask first for a /files/<key> URL, the
// bucket (what the play deploys) or Misskey? On one world host (Misskey v12 stand-in, layout C):
// N files uploaded while Misskey stores locally ("old"), N after the play ("new", in the bucket),
// N unknown keys. For each order, every URL is fetched once through nginx (a true first request:
// every URL is new to the cache) and once more (cached); per kind: the answer, the upstream
// requests nginx made ($upstream_addr, one address per request), and the time of the first fetch.
// The Misskey-first variant is the deployed block with the two locations' roles swapped.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKENS, getSandbox, inventoryPath, siteEnv, startSiteHosts } from '../test/world/sandbox.js';
import { runScript } from './script.js';
import { median } from './measure.js';

const N = 20;
const HOST = 'h27';
const VHOST = '/etc/nginx/sites-available/misskey.conf';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The text of the `{ ... }` block that opens at `text.indexOf(head)`. */
function block(text: string, head: string): { start: number; end: number; body: string } {
  const start = text.indexOf(head);
  if (start < 0) throw new Error(`no "${head}" in the vhost`);
  let depth = 0;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return { start, end: i + 1, body: text.slice(text.indexOf('{', start) + 1, i) };
  }
  throw new Error(`unbalanced "${head}"`);
}

const TRACE = '    add_header X-Upstreams $upstream_addr always;\n';

/** The deployed order with a trace header; and the swapped one (Misskey first, the bucket on its 404). */
function variants(vhost: string): { bucketFirst: string; misskeyFirst: string } {
  const a = block(vhost, 'location /files/ {');
  const b = block(vhost, 'location @mskplay_misskey_files {');
  const bucketFirst =
    vhost.slice(0, a.start) +
    `location /files/ {${a.body}${TRACE}}` +
    vhost.slice(a.end, b.start) +
    `location @mskplay_misskey_files {${b.body}${TRACE}}` +
    vhost.slice(b.end);
  const bucketBody = a.body
    .replace(/\n\s*limit_except[^{]*\{[^}]*\}/, '')
    .replace(/\n\s*proxy_intercept_errors on;/, '')
    .replace(/\n\s*error_page 403 404 = @mskplay_misskey_files;/, '')
    .replace(/\n\s*if \(\$request_method = OPTIONS\) \{[^}]*\}/, '');
  // Misskey's 404 must not be kept under the shared key, or the bucket location would find it there.
  const misskeyBody = b.body.replace(/\n\s*proxy_cache_valid any [^;]*;/, '') + '    proxy_intercept_errors on;\n    error_page 404 = @mskplay_bucket_files;\n';
  const misskeyFirst =
    vhost.slice(0, a.start) +
    `location /files/ {${misskeyBody}${TRACE}}` +
    vhost.slice(a.end, b.start) +
    `location @mskplay_bucket_files {${bucketBody}${TRACE}}` +
    vhost.slice(b.end);
  return { bucketFirst, misskeyFirst };
}

async function main(): Promise<void> {
  const sb = await getSandbox((m) => console.log(`[world] ${m}`));
  const { inventory } = await startSiteHosts(sb, { [HOST]: { layout: 'files', misskey: 'v12' } }, inventoryPath('bench-layout-c.yml'));
  const sh = async (cmd: string, input?: string) => {
    const r = await sb.world.hostExec(HOST, cmd, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`${cmd.slice(0, 80)}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  // Uploads of distinct 4 KiB files through Misskey's API; their URLs, one per line.
  const upload = (n: number, tag: string) =>
    sh(
      `for i in $(seq 1 ${n}); do head -c 4096 /dev/urandom > /tmp/u.bin; printf %s '${TOKENS.admin}' | curl -sS -F 'i=<-' -F 'file=@/tmp/u.bin;filename=${tag}.png;type=image/png' http://127.0.0.1:3000/api/drive/files/create | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])'; done`,
    ).then((o) => o.trim().split('\n'));
  const old = await upload(N, 'old');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'play.js'), 'site', '-i', inventory], {
    env: { ...process.env, ...siteEnv() },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`site failed:\n${r.stdout}\n${r.stderr}`);
  await new Promise((res) => setTimeout(res, 11_000)); // Misskey's 10 s settings cache: new uploads go to the bucket
  const deployed = await sh(`cat ${VHOST}`);
  const { bucketFirst, misskeyFirst } = variants(deployed);
  const results: string[] = [];
  for (const [name, text] of [
    ['bucket first (deployed)', bucketFirst],
    ['Misskey first', misskeyFirst],
  ] as const) {
    await sh(`cat > ${VHOST} && nginx -t -q && systemctl reload nginx && sleep 1`, text);
    const fresh = await upload(N, 'new');
    const unknown = Array.from({ length: N }, () => `https://${HOST}.test/files/${crypto.randomUUID()}`);
    // Old URLs are new to the cache under each variant: a query string makes them distinct URLs for nginx, not for Misskey.
    const tag = name.startsWith('bucket') ? 'a' : 'b';
    const kinds: [string, string[]][] = [
      ['new upload (bucket)', fresh],
      ['old file (Misskey)', old.map((u) => `${u}?${tag}`)],
      ['unknown key', unknown],
    ];
    for (const [kind, urls] of kinds) {
      const script = urls
        .map(
          (u) =>
            `for n in 1 2; do w=$(curl -sk --resolve ${HOST}.test:443:127.0.0.1 -o /dev/null -D /tmp/h -w '%{http_code} %{time_total}' '${u}'); ` +
            `up=$(tr -d '\\r' < /tmp/h | sed -n 's/^x-upstreams: //p'); echo "$w $(printf '%s' "$up" | grep -o '[0-9.]*:[0-9][0-9]*' | wc -l)"; done`,
        )
        .join('\n');
      const lines = (await sh(script)).trim().split('\n');
      const first = lines.filter((_, i) => i % 2 === 0).map((l) => l.split(' '));
      const second = lines.filter((_, i) => i % 2 === 1).map((l) => l.split(' '));
      const codes = [...new Set(first.map((f) => f[0]))].join('/');
      const ups = median(first.map((f) => Number(f[2])));
      const ups2 = median(second.map((f) => Number(f[2])));
      const ms = median(first.map((f) => Number(f[1]) * 1000));
      results.push(`| ${name} | ${kind} | ${codes} | ${ups} | ${ups2} | ${ms.toFixed(1)} |`);
    }
  }
  console.log('\n| order | URL | answer | upstream requests, first fetch | upstream requests, second fetch | first fetch, ms (median of ' + N + ') |');
  console.log('|---|---|---|---|---|---|');
  for (const l of results) console.log(l);
}

runScript(main);
