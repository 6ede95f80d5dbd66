// nginx_block: a marked, managed block inside one server block of an existing vhost (the admin's
// own Misskey vhost for layout B). Only the lines between the markers are ever written.
import { TaskError } from '../src/errors.js';
import { defineTask, type FileState } from '../src/task.js';
import { applyContentFile, planContentFile } from './lib/content-file.js';
import { upsertServerBlock } from './lib/nginx-conf.js';

interface Params {
  path: string;
  id: string;
  server_name: string;
  block: string;
  rollback_group?: string;
}

export default defineTask<Params>({
  name: 'nginx_block',
  doc: 'Keep a marked, managed block inside the server block of an existing nginx vhost',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'id', 'server_name', 'block'],
    properties: {
      path: { type: 'string', pattern: '^/' },
      id: { type: 'string', pattern: '^[a-zA-Z0-9._-]+$' },
      server_name: { type: 'string', minLength: 1 },
      block: { type: 'string', minLength: 1 },
      rollback_group: { type: 'string' },
    },
  },
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
