// nginx_validate: `nginx -t` after the files of a rollback group changed. When nginx rejects the
// new configuration, every file of the group is put back, so the running nginx keeps (and a later
// reload gets) the old, valid configuration; the task fails with nginx's own error lines.
// The current configuration is tested too (a probe, in the one batch): a host whose nginx config
// already fails (an admin's broken file) fails here, in a run and in check mode alike, naming the
// file and line nginx names, instead of later at a reload. In check mode the candidate files of
// the group are tested in a throwaway mount namespace (tasks/lib/nginx-check.ts), so a check
// fails exactly where the run would.
import { TaskError } from '../src/errors.js';
import { params, str, type Infer } from '../src/params-spec.js';
import { defineTask, type CmdState, type PlannedWrite } from '../src/task.js';
import { restoreGroup } from './lib/files.js';
import { NGINX_MISSING, SANDBOX_COMMAND, SANDBOX_UNAVAILABLE, nginxErrors, sandboxScript } from './lib/nginx-check.js';

const spec = params({ group: str().default('nginx').doc('the rollback_group of the nginx files to test') });

// The current config is tested in the sandbox too: a bare `nginx -t` creates the directories the
// config names (an admin's new proxy_cache_path), and a check must leave the host as it was.
const TEST_CURRENT = sandboxScript([]);

function failure(what: string, stderr: string, restored?: string[]): TaskError {
  const e = nginxErrors(stderr);
  const at = e.where ? ` at ${e.where}` : '';
  const tail = restored ? `; restored ${restored.length} file(s): ${restored.join(', ')}; nginx keeps its previous configuration` : '';
  return new TaskError(`${what}${at}${tail}`, e.lines.join('\n'));
}

interface Data {
  /** Check mode: the files the run would write, for the sandboxed nginx -t. */
  candidates?: [string, PlannedWrite][];
  /** A run: the probe's nginx -t, read after the group's files changed (the runner re-reads it). */
  tested?: CmdState;
}

export default defineTask<Infer<typeof spec>, Data>({
  name: 'nginx_validate',
  doc: "Run nginx -t: on the group's changed files (restored when it fails), on the current config otherwise; in check mode on the candidate files, in a throwaway mount namespace",
  params: spec,
  example: '- nginx_validate: { group: nginx }',
  probes: () => [{ kind: 'cmd', cmd: SANDBOX_COMMAND, stdin: TEST_CURRENT }],
  plan: (ctx, p, [r]) => {
    const current = r as CmdState;
    if (!ctx.check && ctx.state.changedGroups.has(p.group)) return { action: 'run', summary: 'nginx -t', data: { tested: current } };
    // The group's files, and every directory the run would create first (nginx -t wants the cache
    // directory's parent to exist).
    const candidates = [...ctx.state.planned].filter(([, w]) => w.group === p.group || w.dir);
    if (ctx.check && candidates.some(([, w]) => w.group === p.group))
      return { action: 'run', summary: `nginx -t on ${candidates.length} candidate file(s)`, data: { candidates } };
    if (current.code === NGINX_MISSING) return { action: 'ok', msg: 'nginx is not installed: nothing to test' };
    if (current.code === SANDBOX_UNAVAILABLE)
      return { action: 'ok', msg: `no nginx file changed; the current config was not tested: ${current.stderr.trim().split('\n').pop()}` };
    if (current.code !== 0) throw failure("nginx's current configuration fails nginx -t (no file of this run changed)", current.stderr);
    return { action: 'ok', msg: 'no nginx file changed; nginx -t passes' };
  },
  // The probe already ran nginx -t on the changed files (its results are read again after a
  // change): no second round trip, unless the sandbox was not available there.
  apply: async (ctx, p, change) => {
    const t = change.data.tested;
    const r = t && t.code !== SANDBOX_UNAVAILABLE && t.code !== NGINX_MISSING ? t : await ctx.conn.exec('nginx -t');
    if (r.code === 0) {
      ctx.state.rollback.delete(p.group);
      return { changed: false, msg: 'nginx -t: configuration is valid' };
    }
    const restored = await restoreGroup(ctx, p.group);
    const err = failure('nginx -t failed', r.stderr, restored);
    err.rolledBack = p.group;
    throw err;
  },
  verify: async (ctx, _p, plan) => {
    const files = plan.data.candidates ?? [];
    const r = await ctx.conn.exec(SANDBOX_COMMAND, { stdin: sandboxScript(files) });
    if (r.code === 0)
      return { msg: `nginx -t passes on the candidate config (${files.filter(([, w]) => !w.dir).length} file(s), tested in a throwaway mount namespace)` };
    if (r.code === NGINX_MISSING) return { msg: 'nginx is not installed yet: the candidate config is tested after the run installs it', status: 'skipped' };
    if (r.code === SANDBOX_UNAVAILABLE)
      return { msg: `would run nginx -t; the candidate files could not be tested here: ${r.stderr.trim().split('\n').pop()}`, status: 'skipped' };
    throw failure('the run would fail: nginx -t rejects the candidate config', r.stderr);
  },
});
