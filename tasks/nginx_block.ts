// nginx_block: a marked, managed block inside one server block of an existing vhost (the admin's
// own Misskey vhost for layout B). Only the lines between the markers are ever written.
import { TaskError } from '../src/errors.js';
import { defineTask, type FileState } from '../src/task.js';
import { applyContentFile, planContentFile, type ContentFileData } from './lib/content-file.js';
import { params, path, str, type Infer } from '../src/params-spec.js';
import { upsertServerBlock } from './lib/nginx-conf.js';

const spec = params({
  path: path().doc('the existing vhost file'),
  id: str({ pattern: '^[a-zA-Z0-9._-]+$' }).doc('names the markers (# BEGIN mskplay <id>)'),
  server_name: str({ minLength: 1 }).doc('the server block to put it in (the one with TLS when there are several)'),
  block: str({ minLength: 1 }).doc('the lines between the markers'),
  rollback_group: str().optional().doc('a later validate task restores the file when it fails'),
});

export default defineTask<Infer<typeof spec>, ContentFileData>({
  name: 'nginx_block',
  doc: 'Keep a marked, managed block inside the server block of an existing nginx vhost',
  params: spec,
  example:
    '- nginx_block: { path: /etc/nginx/sites-available/misskey.conf, id: s3-proxy, server_name: ex.social, block: "location /storage/ { ... }", rollback_group: nginx }',
  probes: (p) => [{ kind: 'file', path: p.path }],
  plan: (_ctx, p, r) => {
    const have = r[0] as FileState;
    if (!have.exists) throw new TaskError(`${p.path} does not exist: layout B adds a location to the existing Misskey vhost (set misskey_vhost to its path)`);
    const res = upsertServerBlock(have.content ?? '', p.id, p.server_name, p.block);
    if ('error' in res) throw new TaskError(`${p.path}: ${res.error}`);
    return planContentFile({ dest: p.path }, res.text, r);
  },
  apply: (ctx, p, plan) => applyContentFile(ctx, { dest: p.path, rollback_group: p.rollback_group }, plan),
});
