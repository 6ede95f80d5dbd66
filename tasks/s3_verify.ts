// s3_verify: every object under the prefix of the old bucket is in the new one with the same size,
// MD5 (S3's ETag of a single-part upload; skipped where either side has none) and Content-Type.
// A difference fails the task (exit 2) with a report of what differs; read-only.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';
import { RCLONE_ENV, moveSpec, parseLsjson, remotesEnv as env, type Entry, type MoveParams as Params } from './lib/rclone.js';
// With the type: rclone reads each object's Content-Type (a HEAD per object).
const listCommand = (remote: 'old' | 'new', bucket: string, prefix: string) =>
  `${RCLONE_ENV} rclone lsjson -R --files-only --hash --no-modtime ${sh`${remote}:${bucket}/${prefix}`}`;

export interface Difference {
  key: string;
  problem: string;
}

export function compare(src: Map<string, Entry>, dst: Map<string, Entry>): Difference[] {
  const out: Difference[] = [];
  for (const [k, a] of src) {
    const b = dst.get(k);
    if (!b) out.push({ key: k, problem: 'missing' });
    else if (a.size !== b.size) out.push({ key: k, problem: `size ${b.size}, old ${a.size}` });
    else if (a.md5 && b.md5 && a.md5 !== b.md5) out.push({ key: k, problem: `MD5 ${b.md5}, old ${a.md5}` });
    else if ((a.type ?? '') !== (b.type ?? '')) out.push({ key: k, problem: `Content-Type ${b.type}, old ${a.type}` });
  }
  return out;
}

export default defineTask<Params>({
  name: 's3_verify',
  doc: 'Check that every object under a prefix of the old bucket is in the new one (size, MD5, Content-Type); read-only',
  params: moveSpec,
  example: "- s3_verify: { from: { endpoint: ewr1.vultrobjects.com, bucket: old-drive, access_key: '…', secret_key: '…' }, to: { … }, prefix: misskey }",
  probes: (p) => [
    { kind: 'cmd', cmd: listCommand('old', p.from.bucket, p.prefix), stdin: env(p) },
    { kind: 'cmd', cmd: listCommand('new', p.to.bucket, p.prefix), stdin: env(p) },
  ],
  plan: (ctx, p, [o, n]) => {
    for (const [r, t] of [
      [o as CmdState, p.from],
      [n as CmdState, p.to],
    ] as const) {
      if (r.code !== 0) {
        // Check mode before rclone is installed: the run installs it before it gets here.
        if (ctx.check && r.code === 127) return { action: 'run', summary: `verify ${p.to.bucket} against ${p.from.bucket} (rclone not installed yet)` };
        throw new TaskError(`cannot list ${t.bucket} at ${t.endpoint} (rclone exit ${r.code})`, r.stderr.trim().split('\n').slice(-3).join('\n'));
      }
    }
    const src = parseLsjson((o as CmdState).stdout);
    const diffs = compare(src, parseLsjson((n as CmdState).stdout));
    const missing = diffs.filter((d) => d.problem === 'missing');
    const other = diffs.filter((d) => d.problem !== 'missing');
    const totals = { objects: src.size, missing: missing.length, different: other.length };
    if (!diffs.length)
      return {
        action: 'ok',
        totals,
        msg: `all ${src.size} object(s) of ${p.from.bucket}/${p.prefix}/ are in ${p.to.bucket} with the same size, MD5 and Content-Type`,
      };
    // Check mode: the copy before this task would bring the missing ones.
    if (ctx.check && !other.length)
      return { action: 'run', summary: `verify after the copy: ${missing.length} of ${src.size} object(s) not in ${p.to.bucket} yet`, totals };
    const report = diffs.slice(0, 20).map((d) => `${p.prefix}/${d.key}: ${d.problem}`);
    throw new TaskError(
      `verify failed: ${missing.length} object(s) missing and ${other.length} different in ${p.to.bucket} (of ${src.size})`,
      [
        ...report,
        ...(diffs.length > 20 ? [`... and ${diffs.length - 20} more`] : []),
        'run the move again: the copy brings what is missing; different objects are never overwritten',
      ].join('\n'),
    );
  },
  apply: async () => ({ changed: false }),
});
