// s3_bucket: the bucket exists (created with `s3cmd mb` when missing). Never deleted.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState, type Step } from '../src/task.js';
import { S3CMD_MISSING, S3_CONFIG_ERROR, S3_NOT_FOUND, bucketTaskParams, bucketUri, infoCommand, s3cmd } from './lib/s3cmd.js';

export default defineTask({
  name: 's3_bucket',
  doc: 'Ensure the bucket exists (s3cmd mb when missing; never deletes)',
  params: bucketTaskParams,
  example: '- s3_bucket: { bucket: ex-social-drive, config: /root/.s3cfg }',
  probes: (p) => [{ kind: 'cmd', cmd: infoCommand(p.config, p.bucket) }],
  plan: (ctx, p, [r]) => {
    const info = r as CmdState;
    const steps: Step[] = [{ cmd: s3cmd(p.config, sh`mb ${bucketUri(p.bucket)}`), what: `s3cmd mb ${bucketUri(p.bucket)}` }];
    if (info.code === 0) return { action: 'ok' };
    if (info.code === S3CMD_MISSING || info.code === S3_CONFIG_ERROR)
      return { action: 'change', summary: `create bucket ${p.bucket} (s3cmd not set up yet, so its state is unknown)`, steps };
    if (info.code === S3_NOT_FOUND) return { action: 'change', summary: `create bucket ${p.bucket}`, steps };
    // Check mode after a key rotation: s3cmd read through the old config, which the run rewrites
    // before it looks at the bucket. What the run will find is unknown, not a failure.
    if (ctx.willWrite(p.config))
      return {
        action: 'change',
        summary: `create bucket ${p.bucket} if missing (unknown until the s3cmd config is written; s3cmd exit ${info.code} with the current one)`,
        steps,
      };
    throw new TaskError(`cannot read bucket ${p.bucket} (s3cmd exit ${info.code})`, (info.stderr || info.stdout).trim().split('\n').slice(-5).join('\n'));
  },
  // No apply: the step is the whole change. plan read the bucket just before (probes are re-read
  // after s3cmd's config changes), so there is no second look.
});
