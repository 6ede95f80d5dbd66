// s3_copy: copy every object under a prefix from one bucket/endpoint to another (a drive move),
// with rclone from the distribution: two endpoints at once, bytes streamed through the host (or
// server-side, when both buckets share an endpoint and keys), and Content-Type, Content-Disposition and Cache-Control kept (--metadata). Only objects the target
// does not have are copied; an object of the same key but another size or MD5 in the target is
// refused before anything is copied (never overwritten); nothing is ever deleted.
// Check mode says what is left (objects, bytes). Re-running resumes where a copy stopped.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';
import {
  METADATA_SINCE,
  COPY_FLAGS,
  RCLONE_ENV,
  moveSpec,
  parseLsjson,
  rcloneVersion,
  remotesEnv as env,
  runRcloneCopy,
  sameTargetProblem,
  serverSide,
  type Entry,
  type MoveParams as Params,
} from './lib/rclone.js';
const path = (remote: 'old' | 'new', t: { bucket: string }, prefix: string) => `${remote}:${t.bucket}/${prefix}`;
const listCommand = (remote: 'old' | 'new', p: Params) =>
  `${RCLONE_ENV} rclone lsjson -R --files-only --hash --no-mimetype --no-modtime ${sh`${path(remote, remote === 'old' ? p.from : p.to, p.prefix)}`}`;

const sameObject = (a: Entry, b: Entry) => a.size === b.size && (!a.md5 || !b.md5 || a.md5 === b.md5);

export default defineTask<Params, { keys: number; bytes: number }>({
  name: 's3_copy',
  doc: 'Copy the objects under a prefix from one S3 bucket/endpoint to another with rclone (headers kept, never overwriting or deleting)',
  params: moveSpec,
  example:
    "- s3_copy: { from: { endpoint: ewr1.vultrobjects.com, bucket: old-drive, access_key: '{{ k1 }}', secret_key: '{{ s1 }}' }, to: { endpoint: sgp1.vultrobjects.com, bucket: new-drive, access_key: '{{ k2 }}', secret_key: '{{ s2 }}' }, prefix: misskey }",
  validate: sameTargetProblem,
  probes: (p) => [
    { kind: 'cmd', cmd: 'command -v rclone >/dev/null 2>&1 || exit 127; rclone version' },
    { kind: 'cmd', cmd: listCommand('old', p), stdin: env(p) },
    { kind: 'cmd', cmd: listCommand('new', p), stdin: env(p) },
  ],
  plan: (ctx, p, [ver, oldLs, newLs]) => {
    const v = ver as CmdState;
    if (v.code === 127) {
      if (ctx.check)
        return {
          action: 'change',
          summary: `copy the objects of ${p.from.bucket}/${p.prefix}/ to ${p.to.bucket} (rclone not installed yet)`,
          data: { keys: 0, bytes: 0 },
        };
      throw new TaskError('rclone is not installed', 'the move play installs it first (package: rclone)');
    }
    const have = rcloneVersion(v.stdout);
    if (!have || have[0] < METADATA_SINCE[0] || (have[0] === METADATA_SINCE[0] && have[1] < METADATA_SINCE[1]))
      throw new TaskError(
        `rclone ${have ? have.join('.') : '(unknown version)'} cannot carry Content-Type, Content-Disposition and Cache-Control across (--metadata needs ${METADATA_SINCE.join('.')} or later)`,
        'install a newer rclone (Debian 12 ships 1.60): copying without those headers would change how every file is served',
      );
    const o = oldLs as CmdState;
    if (o.code !== 0)
      throw new TaskError(
        `cannot list the old bucket ${p.from.bucket} at ${p.from.endpoint} (rclone exit ${o.code})`,
        `${o.stderr.trim().split('\n').slice(-3).join('\n')}\nthe old keys need list and read access to the old bucket (move_from_* and MSK_S3_OLD_* keys)`,
      );
    const n = newLs as CmdState;
    // rclone's exit 3 is "directory not found": a new bucket not created yet (check mode) is empty.
    const newMissing = n.code === 3;
    if (n.code !== 0 && !newMissing)
      throw new TaskError(
        `cannot list the new bucket ${p.to.bucket} at ${p.to.endpoint} (rclone exit ${n.code})`,
        `${n.stderr.trim().split('\n').slice(-3).join('\n')}\nthe new keys need list, read and write access to it`,
      );
    const src = parseLsjson(o.stdout);
    const dst = newMissing ? new Map<string, Entry>() : parseLsjson(n.stdout);
    const clash = [...src].filter(([k, e]) => dst.has(k) && !sameObject(e, dst.get(k)!)).map(([k]) => k);
    if (clash.length)
      throw new TaskError(
        `the new bucket ${p.to.bucket} already holds ${clash.length} object(s) under ${p.prefix}/ that differ from the old ones with the same key (e.g. ${p.prefix}/${clash[0]}): never overwritten`,
        'point the move at an empty bucket, or compare and remove those objects by hand',
      );
    const left = [...src].filter(([k]) => !dst.has(k));
    const bytes = left.reduce((s, [, e]) => s + e.size, 0);
    const totals = { objects: src.size, left: left.length, bytes_left: bytes };
    if (!left.length) return { action: 'ok', msg: `all ${src.size} object(s) of ${p.from.bucket}/${p.prefix}/ are in ${p.to.bucket}`, totals };
    return {
      action: 'change',
      summary: `copy ${left.length} of ${src.size} object(s) (${bytes} bytes) from ${p.from.bucket} at ${p.from.endpoint} to ${p.to.bucket} at ${p.to.endpoint}`,
      data: { keys: left.length, bytes },
      totals,
    };
  },
  apply: async (ctx, p, change) => {
    const t0 = Date.now();
    // --ignore-existing: an object already in the target is never touched (its upload may be newer).
    // The output streams: each copied object (INFO) and a stats line every 2 s, shown live.
    const same = serverSide(p);
    const cmd = `${RCLONE_ENV} rclone copy --ignore-existing --metadata ${COPY_FLAGS} ${sh`${path('old', p.from, p.prefix)} ${path(same ? 'old' : 'new', p.to, p.prefix)}`}`;
    const { code, done, tail } = await runRcloneCopy(ctx, cmd, env(p), change.data.keys);
    const total = change.data.keys;
    if (code !== 0) throw new TaskError(`rclone copy failed (exit ${code}) after ${done} of ${total} object(s); a re-run goes on where it stopped`, tail);
    const s = (Date.now() - t0) / 1000;
    const rate = s > 0 ? ` (${(change.data.bytes / 1024 / 1024 / s).toFixed(1)} MiB/s)` : '';
    return {
      changed: true,
      msg: `copied ${total} object(s), ${change.data.bytes} bytes, in ${s.toFixed(1)} s${rate}${same ? ' (server-side: both buckets on one endpoint with the same keys)' : ''}`,
      totals: { copied: total, bytes: change.data.bytes, seconds: Number(s.toFixed(1)) },
    };
  },
});
