// nginx_mirror_types: the include that makes nginx send each mirrored file with the Content-Type it
// had in the bucket (mime.types guesses by extension: Misskey stores a .txt as
// application/octet-stream, and nosniff makes a wrong type stick). Written from the manifest of the
// verified mirror (s3_mirror_verify), atomically, in a rollback group so nginx -t can put it back.
import { TaskError } from '../src/errors.js';
import { params, path, str, type Infer } from '../src/params-spec.js';
import { defineTask, type FileState } from '../src/task.js';
import { applyContentFile, planContentFile, type ContentFileData } from './lib/content-file.js';
import { parseManifest, renderTypes } from './lib/mirror.js';

const spec = params({
  manifest: path().doc('the manifest of the verified mirror'),
  dest: path().doc('the include file (outside the directories nginx includes by itself)'),
  fallback: str({ pattern: '^(@[A-Za-z0-9_]+|=404)$' }).doc("try_files' last step for a file with a type of its own: the bucket's named location, or =404"),
  rollback_group: str().optional().doc('a later nginx_validate restores this file when it fails'),
});
type Params = Infer<typeof spec>;

export default defineTask<Params, ContentFileData>({
  name: 'nginx_mirror_types',
  doc: "Write nginx's types for a local mirror from its verified manifest (each file keeps the Content-Type it had in the bucket)",
  params: spec,
  example:
    "- nginx_mirror_types: { manifest: /var/lib/mskplay/retire/drive-misskey.json, dest: /etc/nginx/mskplay/s3.ex.social-types.conf, fallback: '@proxy' }",
  probes: (p) => [
    { kind: 'file', path: p.manifest, maxBytes: 256 * 1024 * 1024 },
    { kind: 'file', path: p.dest },
  ],
  plan: (ctx, p, [man, dest]) => {
    const m = parseManifest((man as FileState).content);
    const file = { dest: p.dest, mode: '0644', rollback_group: p.rollback_group };
    if (!m) {
      if (!ctx.check) throw new TaskError(`no verified mirror at ${p.manifest}`, 'the retire play mirrors and verifies the bucket before this task');
      // Check mode before the first verify: the types are not known yet, but the file will be there,
      // so nginx -t checks the vhost with an include of the same form (types from no object).
      const empty = { bucket: '(not verified yet)', endpoint: '-', prefix: '-', dest: '-', finished: false, objects: {} };
      const plan = planContentFile(file, renderTypes(empty, p.fallback), [dest as FileState]);
      return plan.action === 'change' ? { ...plan, summary: `write ${p.dest} once the mirror is verified (${p.manifest} not there yet)` } : plan;
    }
    return planContentFile(file, renderTypes(m, p.fallback), [dest as FileState]);
  },
  // /etc/nginx/mskplay/ is made with the file, in the same command.
  apply: (ctx, p, change) => applyContentFile(ctx, { dest: p.dest, mode: '0644', rollback_group: p.rollback_group }, change, { parents: true }),
});
