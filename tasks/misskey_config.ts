// misskey_config: Misskey v10's drive settings in .config/default.yml (object storage through the
// proxy's baseUrl). Only the `drive:` entry changes; comments, order and every other key stay. A
// timestamped backup is kept next to the file; owner and mode are kept. Other lines: skipped.
import { TaskError } from '../src/errors.js';
import { defineTask, type FileState } from '../src/task.js';
import { planContentFile } from './lib/content-file.js';
import { FORCE_HINT, RETIRED_PROBLEM, baseUrlConflict, desiredDrive, driveShape, resolveLine, validateDrive, type MisskeyLine } from './lib/misskey.js';
import { applyContentFile as applyFile, type ContentFileData } from './lib/content-file.js';
import { params, type Infer } from '../src/params-spec.js';
import { LOCAL_DRIVE, MANAGED_MARK, parseV10, sameDrive, v10Drive, withDrive } from './lib/v10-config.js';

const spec = params(driveShape);

export const configPath = (p: { path: string }) => `${p.path}/.config/default.yml`;

export default defineTask<Infer<typeof spec>, ContentFileData>({
  name: 'misskey_config',
  doc: "Set Misskey v10's drive: section in .config/default.yml (comments and other keys kept, backup made)",
  params: spec,
  example:
    "- misskey_config: { version: v10, path: /home/misskey/misskey, base_url: 'https://s3.ex.social', bucket: ex-drive, prefix: misskey, endpoint: ewr1.vultrobjects.com, access_key: ..., secret_key: ... }",
  validate: validateDrive,
  probes: (p) => [
    { kind: 'file', path: `${p.path}/package.json` },
    { kind: 'file', path: configPath(p) },
  ],
  plan: (_ctx, p, [pkg, cfg]) => {
    let line: MisskeyLine;
    try {
      line = resolveLine(p.version, pkg as FileState, p.path);
    } catch (e) {
      throw new TaskError((e as Error).message);
    }
    if (line !== 'v10') return { action: 'skip', msg: `Misskey ${line} keeps drive settings in its database (see misskey_meta)` };
    const file = cfg as FileState;
    if (!file.exists) throw new TaskError(`${configPath(p)} does not exist: is ${p.path} the Misskey checkout?`);
    const parsed = parseV10(file.content ?? '');
    if (!parsed.ok) throw new TaskError(`${configPath(p)} does not parse, left untouched: ${parsed.error}${parsed.line ? ` (line ${parsed.line})` : ''}`);
    const want = desiredDrive(p);
    // A retire: Misskey stores uploads on its own disk again (the bucket's files come from the mirror).
    const wantYaml = p.local ? LOCAL_DRIVE : v10Drive(want);
    if (sameDrive(parsed.drive, wantYaml)) return { action: 'ok' };
    const cur = parsed.drive;
    if (cur?.storage === 'fs' && !p.local && !p.force_base_url && (file.content ?? '').includes(`${MANAGED_MARK}\ndrive:`))
      throw new TaskError(`${configPath(p)}: ${RETIRED_PROBLEM}`);
    if (cur?.storage === 'minio' && !p.force_base_url && !p.local) {
      const conflict = baseUrlConflict(
        { baseUrl: cur.baseUrl, bucket: cur.bucket, endpoint: cur.config?.endPoint as string | undefined, enabled: true },
        want,
        {
          bucket: p.move_from_bucket,
          endpoint: p.move_from_endpoint,
        },
      );
      if (conflict) throw new TaskError(`${configPath(p)}: ${conflict}`, FORCE_HINT);
    }
    const text = withDrive(file.content ?? '', parsed, wantYaml);
    return planContentFile({ dest: configPath(p) }, text, [file]);
  },
  apply: (ctx, p, plan) => applyFile(ctx, { dest: configPath(p), backup: true }, plan),
});
