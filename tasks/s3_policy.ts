// s3_policy: the bucket's policy is public-read for objects (s3:GetObject on arn:aws:s3:::<bucket>/*).
// The current policy is read with `s3cmd info` and compared as JSON, not text.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState, type Step } from '../src/task.js';
import {
  S3CMD_MISSING,
  S3_CONFIG_ERROR,
  S3_NOT_FOUND,
  bucketTaskParams,
  bucketUri,
  infoCommand,
  policyFromInfo,
  publicReadPolicy,
  s3cmd,
  samePolicy,
} from './lib/s3cmd.js';

/** The policy goes through a private temp file (s3cmd reads it from a path), its text on stdin. */
function setPolicy(p: { bucket: string; config: string }, policy: unknown): Step[] {
  const cmd = [
    'set -e',
    'umask 077',
    'f=$(mktemp)',
    `trap 'rm -f "$f"' EXIT`,
    'cat > "$f"',
    s3cmd(p.config, 'setpolicy "$f" ' + sh`${bucketUri(p.bucket)}`),
  ].join('\n');
  return [{ cmd, stdin: JSON.stringify(policy), what: `s3cmd setpolicy ${bucketUri(p.bucket)}` }];
}

const pretty = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

export default defineTask({
  name: 's3_policy',
  doc: 'Set the public-read GetObject bucket policy when the current one differs (compared as JSON)',
  params: bucketTaskParams,
  example: '- s3_policy: { bucket: ex-social-drive, config: /root/.s3cfg }',
  probes: (p) => [{ kind: 'cmd', cmd: infoCommand(p.config, p.bucket) }],
  plan: (ctx, p, [r]) => {
    const info = r as CmdState;
    const want = publicReadPolicy(p.bucket);
    const path = `${bucketUri(p.bucket)} (policy)`;
    if (info.code === S3CMD_MISSING || info.code === S3_CONFIG_ERROR || info.code === S3_NOT_FOUND) {
      return {
        action: 'change',
        summary: `set public-read policy on ${p.bucket} (bucket not there yet)`,
        diffs: [{ path, before: '', after: pretty(want) }],
        steps: setPolicy(p, want),
      };
    }
    if (info.code !== 0 && ctx.willWrite(p.config)) {
      // Check mode after a key rotation: read through the old config, which the run rewrites first.
      return {
        action: 'change',
        summary: `set public-read policy on ${p.bucket} if it differs (unknown until the s3cmd config is written; s3cmd exit ${info.code} with the current one)`,
        steps: setPolicy(p, want),
      };
    }
    if (info.code !== 0)
      throw new TaskError(`cannot read bucket ${p.bucket} (s3cmd exit ${info.code})`, (info.stderr || info.stdout).trim().split('\n').slice(-5).join('\n'));
    const text = policyFromInfo(info.stdout);
    if (text?.startsWith('Not available')) throw new TaskError(`cannot read the policy of ${p.bucket}: ${text}`);
    let have: unknown = null;
    if (text) {
      try {
        have = JSON.parse(text);
      } catch {
        have = text;
      }
    }
    if (have && samePolicy(have, want)) return { action: 'ok' };
    return {
      action: 'change',
      summary: have ? `replace the policy of ${p.bucket} with public-read GetObject` : `set public-read policy on ${p.bucket}`,
      diffs: [{ path, before: have ? pretty(have) : '', after: pretty(want) }],
      steps: setPolicy(p, want),
    };
  },
});
