// nginx_validate: `nginx -t` after the files of a rollback group changed. When nginx rejects the
// new configuration, every file of the group is put back, so the running nginx keeps (and a later
// reload gets) the old, valid configuration; the task fails with nginx's own error lines.
import { TaskError } from '../src/errors.js';
import { defineTask } from '../src/task.js';
import { restoreGroup } from './lib/files.js';

interface Params {
  group: string;
}

export default defineTask<Params>({
  name: 'nginx_validate',
  doc: "Run nginx -t when the group's files changed; on failure restore them and fail",
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { group: { type: 'string', default: 'nginx' } },
  },
  probes: () => [],
  plan: (ctx, p) => (ctx.state.changedGroups.has(p.group) ? { action: 'run', summary: 'nginx -t' } : { action: 'ok', msg: 'no nginx file changed' }),
  apply: async (ctx, p) => {
    const r = await ctx.conn.exec('nginx -t');
    if (r.code === 0) {
      ctx.state.rollback.delete(p.group);
      return { changed: false, msg: 'nginx -t: configuration is valid' };
    }
    const restored = await restoreGroup(ctx, p.group);
    const lines = r.stderr.split('\n').filter((l) => /emerg|alert|crit|error|failed/i.test(l));
    throw new TaskError(`nginx -t failed; restored ${restored.length} file(s): ${restored.join(', ')}; nginx keeps its previous configuration`, (lines.length ? lines : r.stderr.split('\n')).join('\n').trim());
  },
});
