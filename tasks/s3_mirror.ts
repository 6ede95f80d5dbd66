// s3_mirror: a retire's first step. Copy every object under the drive prefix from the bucket to the
// proxy's local root (<dest>/<prefix>/<name>, the path nginx tries before the bucket), with rclone.
// Before anything is written, the disk must hold what is left plus a margin (a clear refusal
// otherwise). Files are copied into a staging directory on the same disk and renamed into place
// when complete, so nginx never serves half a file (rclone before 1.63 writes in place), and an
// interrupted copy leaves nothing behind in the served tree. A local file that differs from the
// bucket's object is never replaced. Nothing in the bucket changes. Once the retire is finished and
// recorded, the bucket is not asked.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { nginxSizeBytes } from '../src/nginx-sizes.js';
import { params, str, type Infer } from '../src/params-spec.js';
import { defineTask, type CmdState, type Plan } from '../src/task.js';
import { COPY_FLAGS, RCLONE_ENV, parseLsjson, runRcloneCopy } from './lib/rclone.js';
import { FINISHED_MARK, bucketEnv, bucketListing, localDir, localSizesCommand, mirrorShape, parseLocalSizes, unsafeKey } from './lib/mirror.js';

const spec = params({
  ...mirrorShape,
  margin: str({ pattern: '^\\d+[kKmMgG]?$' }).optional().doc('disk space that must stay free after the mirror (nginx size: 500m, 2g; default 1g)'),
});
type Params = Infer<typeof spec>;

/** Where files are copied before they are renamed into place (inside dest: the same filesystem). */
export const stagingDir = (p: Params) => `${p.dest}/.mskplay-staging`;

/** Free bytes and block size of the filesystem the local dir is (or will be) on. */
const diskCommand = (p: Params) =>
  sh`d=${localDir(p)}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; ` + `echo "$d $(df -P -B1 "$d" | awk 'NR==2 {print $4}') $(stat -f -c %S "$d")"`;

const human = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GiB` : b >= 1024 ** 2 ? `${(b / 1024 ** 2).toFixed(1)} MiB` : `${b} bytes`);

export interface MirrorData {
  keys: string[];
  bytes: number;
}

export default defineTask<Params, MirrorData>({
  name: 's3_mirror',
  doc: "Copy a bucket's drive objects to the proxy's local root with rclone (disk space checked first; nothing in the bucket changes)",
  params: spec,
  example:
    "- s3_mirror: { from: { endpoint: ewr1.vultrobjects.com, bucket: drive, access_key: '{{ k }}', secret_key: '{{ s }}' }, prefix: misskey, dest: /var/www/s3.ex.social, manifest: /var/lib/mskplay/retire/drive-misskey.json }",
  validate: (p) => (p.margin !== undefined && nginxSizeBytes(p.margin) === null ? [{ param: 'margin', message: `not a size: ${p.margin}` }] : []),
  probes: (p) => [
    { kind: 'cmd', cmd: 'command -v rclone >/dev/null 2>&1 || exit 127; rclone version' },
    { kind: 'cmd', cmd: bucketListing(p, '--hash --no-mimetype --no-modtime'), stdin: bucketEnv(p) },
    { kind: 'cmd', cmd: localSizesCommand(p) },
    { kind: 'cmd', cmd: diskCommand(p) },
  ],
  plan: (ctx, p, [ver, ls, local, disk]): Plan<MirrorData> => {
    const listing = ls as CmdState;
    if (p.finish && listing.code === 0 && listing.stdout.startsWith(FINISHED_MARK))
      return { action: 'ok', msg: `the retire is finished: ${localDir(p)} is the drive, the bucket ${p.from.bucket} is not asked` };
    if ((ver as CmdState).code === 127) {
      if (ctx.check)
        return {
          action: 'change',
          summary: `mirror ${p.from.bucket}/${p.prefix}/ to ${localDir(p)} (rclone not installed yet)`,
          data: { keys: [], bytes: 0 },
        };
      throw new TaskError('rclone is not installed', 'the retire play installs it first (package: rclone)');
    }
    if (listing.code !== 0)
      throw new TaskError(
        `cannot list the bucket ${p.from.bucket} at ${p.from.endpoint} (rclone exit ${listing.code})`,
        `${listing.stderr.trim().split('\n').slice(-3).join('\n')}\nthe mirror reads the bucket with the drive's keys (MSK_S3_ACCESS_KEY / MSK_S3_SECRET_KEY): they need list and read access`,
      );
    const src = parseLsjson(listing.stdout);
    const unsafe = [...src.keys()].filter(unsafeKey);
    if (unsafe.length)
      throw new TaskError(`${unsafe.length} key(s) under ${p.prefix}/ are not plain paths (e.g. ${p.prefix}/${unsafe[0]}): they cannot be mirrored to files`);
    const have = parseLocalSizes((local as CmdState).stdout);
    const foreign = [...src].filter(([k, e]) => have.has(k) && have.get(k) !== e.size).map(([k]) => k);
    if (foreign.length)
      throw new TaskError(
        `${foreign.length} file(s) in ${localDir(p)} differ from the bucket's objects of the same name (e.g. ${foreign[0]}: ${have.get(foreign[0]!)} bytes, the object ${src.get(foreign[0]!)!.size}): never replaced`,
        'nginx serves these files instead of the objects today: compare them and move them away (or put the objects there) by hand, then run again',
      );
    const left = [...src].filter(([k]) => !have.has(k));
    const bytes = left.reduce((s, [, e]) => s + e.size, 0);
    if (!left.length)
      return {
        action: 'ok',
        msg: `all ${src.size} object(s) of ${p.from.bucket}/${p.prefix}/ are in ${localDir(p)}`,
        totals: { objects: src.size, left: 0, bytes_left: 0 },
      };
    // What the files take on disk (whole blocks), against what is free, with the margin kept.
    const [dir, freeS, blockS] = (disk as CmdState).stdout.trim().split(' ');
    const free = Number(freeS);
    const block = Number(blockS) || 4096;
    const need = left.reduce((s, [, e]) => s + Math.ceil(e.size / block) * block, 0);
    const margin = nginxSizeBytes(p.margin ?? '1g')!;
    if (!Number.isFinite(free)) throw new TaskError(`cannot tell the free space under ${localDir(p)}: ${(disk as CmdState).stderr.trim()}`);
    if (need + margin > free)
      throw new TaskError(
        `not enough disk for the mirror: ${left.length} object(s) take ${human(need)} on ${dir}, which has ${human(free)} free, and ${human(margin)} must stay free`,
        `free ${human(need + margin - free)} on ${dir}, or point proxy_local_root at a larger disk (or lower retire_disk_margin); nothing was copied`,
      );
    return {
      action: 'change',
      summary: `mirror ${left.length} of ${src.size} object(s) (${bytes} bytes) from ${p.from.bucket} at ${p.from.endpoint} to ${localDir(p)} (${human(free)} free on ${dir})`,
      data: { keys: left.map(([k]) => k), bytes },
      totals: { objects: src.size, left: left.length, bytes_left: bytes, disk_needed: need, disk_free: free },
    };
  },
  apply: async (ctx, p, change) => {
    const t0 = Date.now();
    const { keys, bytes } = change.data;
    const stage = stagingDir(p);
    await ctx.run({
      cmd: sh`set -e; umask 022; mkdir -p -- ${localDir(p)} ${`${stage}/data`}; cat > ${`${stage}/keys`}`,
      stdin: keys.join('\n') + '\n',
      what: 'listing the objects to mirror',
    });
    // Only the keys the plan counted; a partial file of an interrupted run differs in size and is copied again.
    const copy =
      `umask 022; ${RCLONE_ENV} rclone copy ${sh`--files-from=${`${stage}/keys`}`} ${COPY_FLAGS} ` +
      sh`${`old:${p.from.bucket}/${p.prefix}`} ${`${stage}/data/${p.prefix}`}`;
    const r = await runRcloneCopy(ctx, copy, bucketEnv(p), keys.length);
    if (r.code !== 0)
      throw new TaskError(`rclone copy failed (exit ${r.code}) after ${r.done} of ${keys.length} object(s); a re-run goes on where it stopped`, r.tail);
    // Whole files into place, each by a rename on the same disk; an existing file is never replaced.
    await ctx.run({
      cmd:
        `set -e; export RCLONE_CONFIG=/dev/null; rclone move --ignore-existing --delete-empty-src-dirs ${sh`${`${stage}/data/${p.prefix}`} ${localDir(p)}`}; ` +
        sh`rm -rf -- ${stage}`,
      what: 'moving the mirrored files into place',
    });
    const s = (Date.now() - t0) / 1000;
    return {
      changed: true,
      msg: `mirrored ${keys.length} object(s), ${bytes} bytes, in ${s.toFixed(1)} s`,
      totals: { copied: keys.length, bytes, seconds: Number(s.toFixed(1)) },
    };
  },
});
