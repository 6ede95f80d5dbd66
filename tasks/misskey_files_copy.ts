// misskey_files_copy: layout C's optional last step. Misskey's files from before object storage
// are on local disk and keep their URLs https://<domain>/files/<key>; copied into the bucket under
// files/<key>, nginx (bucket first) serves them from there, and Misskey's disk is no longer needed
// for them. Only where the URL -> key mapping is exact from the files alone:
//   v12: the file <repo>/files/<accessKey> is the URL /files/<accessKey> (add-file.ts, InternalStorage);
//   v11: the URL is /files/<key>/<key><ext>, its extension known only to the database: refused;
//   v10: URLs are keyed by the drive file's ObjectID, files by another key: refused.
// Type and disposition are taken from Misskey's own answer for each file (what its file server
// sends for that URL), so the bucket serves it the same. Never overwrites or deletes an object,
// never deletes a local file; every copied object is verified (MD5 = the bytes, Content-Type).
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { oneOf, params, path, str, type Infer } from '../src/params-spec.js';
import { defineTask, type CmdState, type FileState } from '../src/task.js';
import { resolveLine } from './lib/misskey.js';
import { bucketParam, bucketUri, parseLsRecursive, s3cmd } from './lib/s3cmd.js';

const spec = params({
  version: oneOf(['v10', 'v11', 'v12', 'auto'] as const).doc('the Misskey line; auto reads package.json of the checkout'),
  path: path().doc('the Misskey checkout (its files/ holds the local drive)'),
  api_url: str({ pattern: '^https?://[^/]+$' }).doc("Misskey's own address on the host, whose /files/<key> gives each file's type"),
  bucket: bucketParam(),
  config: path().doc("s3cmd's config file (keys, endpoint)"),
});
type Params = Infer<typeof spec>;

/** v12's local keys: the original's accessKey and its thumbnail/webpublic (add-file.ts). */
const V12_KEY = /^(?:thumbnail-|webpublic-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CACHE_CONTROL = 'max-age=31536000, immutable';

const REFUSED: Record<string, string> = {
  v11: "v11's local URLs are /files/<key>/<key><ext> with the extension of the original name, which only its database holds: the object key cannot be derived from the files on disk",
  v10: "v10's URLs are keyed by each drive file's ObjectID (/files/<id>/<id><ext>?web) and its files on disk by another key: only its database maps one to the other",
};

/** `<name> <size>` of each local file (none when the directory is missing). */
export const listLocalCommand = (dir: string) => sh`cd ${dir} 2>/dev/null || exit 0; find . -maxdepth 1 -type f -printf '%f %s\n'`;

export function parseLocal(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of out.split('\n')) {
    const [name, size] = l.trim().split(' ');
    if (name && V12_KEY.test(name)) m.set(name, Number(size));
  }
  return m;
}

/**
 * The copy, on the host: for each key (stdin), Misskey's headers for /files/<key>, then s3cmd put
 * with that type and disposition, then s3cmd info to verify MD5 and type. Prints OK/BAD per key.
 */
export function copyScript(p: Params): string {
  const dir = `${p.path}/files`;
  return [
    'set -u',
    'd=$(mktemp -d)',
    `trap 'rm -rf "$d"' EXIT`,
    'while read -r k; do',
    `  code=$(curl -sS --max-time 30 -o /dev/null -D "$d/h" -w '%{http_code}' ${sh`${p.api_url}`}/files/"$k") || code=curl-error`,
    '  if [ "$code" != 200 ]; then echo "BAD $k Misskey answered $code for /files/$k"; continue; fi',
    `  t=$(tr -d '\\r' < "$d/h" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p' | head -1)`,
    `  cd_=$(tr -d '\\r' < "$d/h" | sed -n 's/^[Cc]ontent-[Dd]isposition: *//p' | head -1)`,
    `  f=${sh`${dir}`}/"$k"`,
    `  if ${s3cmd(p.config, sh`info ${bucketUri(p.bucket)}/files/`)}"$k" >/dev/null 2>&1; then echo "BAD $k already in the bucket: not overwritten"; continue; fi`,
    `  ${s3cmd(p.config, '--quiet put --no-guess-mime-type -m "$t" ${cd_:+--add-header="Content-Disposition:$cd_"} ' + sh`--add-header=${'Cache-Control:' + CACHE_CONTROL}` + ' "$f" ' + sh`${bucketUri(p.bucket)}/files/`)}"$k" >"$d/put" 2>&1 || { echo "BAD $k s3cmd put: $(tail -1 "$d/put")"; continue; }`,
    `  info=$(${s3cmd(p.config, sh`info ${bucketUri(p.bucket)}/files/`)}"$k" 2>&1)`,
    `  md5=$(printf '%s\\n' "$info" | sed -n 's/^ *MD5 sum: *//p'); mime=$(printf '%s\\n' "$info" | sed -n 's/^ *MIME type: *//p')`,
    '  want=$(md5sum "$f" | cut -d" " -f1)',
    '  if [ "$md5" = "$want" ] && [ "$mime" = "$t" ]; then echo "OK $k"; else echo "BAD $k verify: MD5 $md5 (local $want), type $mime (Misskey $t)"; fi',
    'done',
  ].join('\n');
}

export default defineTask<Params, { keys: string[] }>({
  name: 'misskey_files_copy',
  doc: "Copy Misskey's local files into the bucket under files/<key> (layout C; v12 only), verified, never overwriting",
  params: spec,
  example:
    "- misskey_files_copy: { version: v12, path: /home/misskey/misskey, api_url: 'http://127.0.0.1:3000', bucket: ex-social-drive, config: /root/.s3cfg }",
  probes: (p) => [
    { kind: 'file', path: `${p.path}/package.json` },
    { kind: 'cmd', cmd: listLocalCommand(`${p.path}/files`) },
    { kind: 'cmd', cmd: s3cmd(p.config, sh`ls ${bucketUri(p.bucket)}/files/`) },
  ],
  plan: (_ctx, p, [pkg, local, listing]) => {
    let line: string;
    try {
      line = resolveLine(p.version, pkg as FileState, p.path);
    } catch (e) {
      throw new TaskError((e as Error).message);
    }
    if (REFUSED[line])
      throw new TaskError(`cannot copy Misskey ${line}'s local files into the bucket: ${REFUSED[line]}`, 'they stay served by Misskey through layout C');
    const ls = listing as CmdState;
    if (ls.code !== 0)
      throw new TaskError(
        `cannot list ${bucketUri(p.bucket)}/files/ (s3cmd exit ${ls.code})`,
        (ls.stderr || ls.stdout).trim().split('\n').slice(-3).join('\n'),
      );
    const have = parseLsRecursive(ls.stdout, p.bucket, 'files');
    const files = parseLocal((local as CmdState).stdout);
    const clash = [...files].filter(([k, size]) => have.has(k) && have.get(k) !== size).map(([k]) => k);
    if (clash.length)
      throw new TaskError(
        `the bucket already holds ${clash.length} object(s) under files/ with the key of a local file but another size (e.g. files/${clash[0]}): never overwritten`,
        'compare them by hand; the local files stay served by Misskey meanwhile',
      );
    const keys = [...files.keys()].filter((k) => !have.has(k)).sort();
    if (!keys.length) return { action: 'ok', msg: `${files.size} local file(s), all in ${bucketUri(p.bucket)}/files/` };
    const bytes = keys.reduce((n, k) => n + files.get(k)!, 0);
    return { action: 'change', summary: `copy ${keys.length} local file(s) (${bytes} bytes) into ${bucketUri(p.bucket)}/files/, verified`, data: { keys } };
  },
  apply: async (ctx, p, change) => {
    const r = await ctx.conn.exec(copyScript(p), { stdin: change.data.keys.join('\n') + '\n' });
    const lines = r.stdout.split('\n').filter(Boolean);
    const bad = lines.filter((l) => l.startsWith('BAD '));
    const ok = lines.filter((l) => l.startsWith('OK ')).length;
    if (bad.length || ok !== change.data.keys.length)
      throw new TaskError(
        `copied and verified ${ok} of ${change.data.keys.length} local file(s); ${bad.length} failed`,
        [...bad.slice(0, 10), ...(r.stderr.trim() ? [r.stderr.trim().split('\n').slice(-3).join('\n')] : [])].join('\n'),
      );
    return { changed: true, msg: `copied ${ok} local file(s) into ${bucketUri(p.bucket)}/files/, MD5 and type verified` };
  },
});
