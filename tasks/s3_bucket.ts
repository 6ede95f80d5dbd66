// s3_bucket: the bucket exists (created with `s3cmd mb` when missing). Never deleted.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';
import { S3CMD_MISSING, S3_CONFIG_ERROR, S3_NOT_FOUND, bucketTaskSchema, bucketUri, infoCommand, s3cmd } from './lib/s3cmd.js';

interface Params {
  bucket: string;
  config: string;
}

export default defineTask<Params>({
  name: 's3_bucket',
  doc: 'Ensure the bucket exists (s3cmd mb when missing; never deletes)',
  schema: bucketTaskSchema,
  probes: (p) => [{ kind: 'cmd', cmd: infoCommand(p.config, p.bucket) }],
  plan: (ctx, p, [r]) => {
    const info = r as CmdState;
    if (info.code === 0) return { action: 'ok' };
    if (info.code === S3CMD_MISSING || info.code === S3_CONFIG_ERROR) return { action: 'change', summary: `create bucket ${p.bucket} (s3cmd not set up yet, so its state is unknown)` };
    if (info.code === S3_NOT_FOUND) return { action: 'change', summary: `create bucket ${p.bucket}` };
    // Check mode after a key rotation: s3cmd read through the old config, which the run rewrites
    // before it looks at the bucket. What the run will find is unknown, not a failure.
    if (ctx.willWrite(p.config)) return { action: 'change', summary: `create bucket ${p.bucket} if missing (unknown until the s3cmd config is written; s3cmd exit ${info.code} with the current one)` };
    throw new TaskError(`cannot read bucket ${p.bucket} (s3cmd exit ${info.code})`, (info.stderr || info.stdout).trim().split('\n').slice(-5).join('\n'));
  },
  // plan read the bucket just before (probes are re-read after s3cmd's config changes): no second look.
  apply: async (ctx, p) => {
    const r = await ctx.conn.exec(s3cmd(p.config, sh`mb ${bucketUri(p.bucket)}`));
    if (r.code !== 0) throw new TaskError(`s3cmd mb ${bucketUri(p.bucket)} failed (exit ${r.code})`, (r.stderr || r.stdout).trim());
    return { changed: true };
  },
});
