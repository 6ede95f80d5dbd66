// s3_mirror_verify: every object under the drive prefix of the bucket is a file of the local mirror
// with the same size and MD5 (where S3 has one: a single-part upload's ETag), and its Content-Type
// is one nginx can send from disk. What differs fails the task (exit 2) with a report. When all is
// there, the manifest records each object (size, MD5, type): nginx's types for the mirror come from
// it, and once `finish` has been recorded the check is the manifest against the disk, with no
// request to the bucket.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';
import { parseLsjson } from './lib/rclone.js';
import {
  FINISHED_MARK,
  bucketEnv,
  bucketListing,
  localDir,
  localSizesCommand,
  mirrorSpec,
  parseLocalSizes,
  parseManifest,
  renderManifest,
  servableType,
  type Manifest,
  type MirrorParams as Params,
} from './lib/mirror.js';
import { writeFileAtomic } from './lib/files.js';

/** `<md5>  <path>` of every local file (md5sum reads them all: this is the verify). */
const localSumsCommand = (p: Params) => sh`if [ -d ${localDir(p)} ]; then cd ${localDir(p)} && find . -type f -printf '%P\\0' | xargs -0 -r md5sum; fi`;

export function parseSums(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of out.split('\n')) {
    const x = /^([0-9a-f]{32}) [ *](.+)$/.exec(l);
    if (x) m.set(x[2]!, x[1]!);
  }
  return m;
}

const report = (diffs: string[], fix: string) => [...diffs.slice(0, 20), ...(diffs.length > 20 ? [`... and ${diffs.length - 20} more`] : []), fix].join('\n');

export default defineTask<Params, { manifest: string }>({
  name: 's3_mirror_verify',
  doc: "Check that every object of a bucket's drive prefix is in the local mirror (size, MD5, a type nginx can send) and record the verified mirror",
  params: mirrorSpec,
  example:
    "- s3_mirror_verify: { from: { endpoint: ewr1.vultrobjects.com, bucket: drive, access_key: '…', secret_key: '…' }, prefix: misskey, dest: /var/www/s3.ex.social, manifest: /var/lib/mskplay/retire/drive-misskey.json }",
  probes: (p) => [
    // With the type: rclone reads each object's Content-Type (a HEAD per object).
    { kind: 'cmd', cmd: bucketListing(p, '--hash --no-modtime'), stdin: bucketEnv(p) },
    { kind: 'cmd', cmd: localSizesCommand(p) },
    { kind: 'file', path: p.manifest, maxBytes: 256 * 1024 * 1024 },
    // MD5 of the local files only when the bucket is asked (not once the retire is finished).
    { kind: 'cmd', cmd: sh`grep -qs ${'"finished": true'} ${p.manifest} && [ ${p.finish ? '1' : '0'} = 1 ] && exit 0; ` + localSumsCommand(p) },
  ],
  plan: (ctx, p, [ls, sizes, man, sums]) => {
    const listing = ls as CmdState;
    const have = parseLocalSizes((sizes as CmdState).stdout);
    const recorded = parseManifest(man.kind === 'file' ? man.content : undefined);
    if (p.finish && listing.code === 0 && listing.stdout.startsWith(FINISHED_MARK)) {
      // Finished: the manifest is the drive now; the disk must still hold all of it.
      const lost = Object.entries(recorded?.objects ?? {})
        .filter(([k, o]) => have.get(k) !== o.size)
        .map(([k, o]) => `${p.prefix}/${k}: ${have.has(k) ? `size ${have.get(k)}, recorded ${o.size}` : 'missing'}`);
      if (lost.length)
        throw new TaskError(
          `the mirror in ${localDir(p)} lost ${lost.length} of its ${Object.keys(recorded!.objects).length} recorded file(s)`,
          report(lost, 'restore them from a backup: the retire is finished, so the bucket is not asked (it may be gone)'),
        );
      return { action: 'ok', msg: `retired: all ${Object.keys(recorded!.objects).length} recorded file(s) are in ${localDir(p)}; the bucket is not asked` };
    }
    if (listing.code !== 0) {
      if (ctx.check && listing.code === 127) return { action: 'run', summary: `verify ${localDir(p)} against ${p.from.bucket} (rclone not installed yet)` };
      throw new TaskError(
        `cannot list the bucket ${p.from.bucket} at ${p.from.endpoint} (rclone exit ${listing.code})`,
        listing.stderr.trim().split('\n').slice(-3).join('\n'),
      );
    }
    const src = parseLsjson(listing.stdout);
    const md5 = parseSums((sums as CmdState).stdout);
    const missing: string[] = [];
    const other: string[] = [];
    const objects: Manifest['objects'] = {};
    for (const [k, e] of src) {
      const type = e.type || 'application/octet-stream';
      if (!have.has(k)) missing.push(`${p.prefix}/${k}: missing`);
      else if (have.get(k) !== e.size) other.push(`${p.prefix}/${k}: size ${have.get(k)}, in the bucket ${e.size}`);
      else if (e.md5 && md5.get(k) !== e.md5) other.push(`${p.prefix}/${k}: MD5 ${md5.get(k) ?? '?'}, in the bucket ${e.md5}`);
      else if (!servableType(type)) other.push(`${p.prefix}/${k}: its Content-Type ${JSON.stringify(type)} cannot be set from disk`);
      objects[k] = { size: e.size, md5: e.md5 ?? null, type };
    }
    if (missing.length || other.length) {
      // Check mode: the mirror before this task would bring the missing ones.
      if (ctx.check && !other.length)
        return { action: 'run', summary: `verify after the mirror: ${missing.length} of ${src.size} object(s) not in ${localDir(p)} yet` };
      throw new TaskError(
        `verify failed: ${missing.length} object(s) missing and ${other.length} different in ${localDir(p)} (of ${src.size} in ${p.from.bucket})`,
        report([...missing, ...other], 'run the retire again: the mirror brings what is missing; a different file is never replaced'),
      );
    }
    const want = renderManifest({ bucket: p.from.bucket, endpoint: p.from.endpoint, prefix: p.prefix, dest: p.dest, finished: p.finish ?? false, objects });
    const msg = `all ${src.size} object(s) of ${p.from.bucket}/${p.prefix}/ are in ${localDir(p)} with the same size and MD5`;
    if (man.kind === 'file' && man.content === want) return { action: 'ok', msg };
    return {
      action: 'change',
      summary: `${msg}: record the verified mirror in ${p.manifest}${p.finish ? ' (finished: the bucket is not asked again)' : ''}`,
      data: { manifest: want },
    };
  },
  apply: async (ctx, p, change) => {
    await writeFileAtomic(ctx.conn, { path: p.manifest, content: change.data.manifest, mode: '0600' }, { parents: true });
    return { changed: true };
  },
});
