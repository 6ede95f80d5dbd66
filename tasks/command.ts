// command: run a shell command. Idempotence comes from `creates`/`removes` (skip when the path
// does / does not exist) or from `changed_when: false` for read-only commands (Ansible semantics).
import { TaskError } from '../src/errors.js';
import { defineTask, type FileState } from '../src/task.js';

interface Params {
  cmd: string;
  creates?: string;
  removes?: string;
  changed_when?: boolean;
  stdin?: string;
}

export default defineTask<Params>({
  name: 'command',
  doc: 'Run a shell command (creates/removes make it idempotent; changed_when: false for read-only ones)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['cmd'],
    properties: {
      cmd: { type: 'string', minLength: 1 },
      creates: { type: 'string', pattern: '^/' },
      removes: { type: 'string', pattern: '^/' },
      changed_when: { type: 'boolean' },
      stdin: { type: 'string', secret: true, description: 'fed to the command on stdin (for secrets)' },
    },
  },
  probes: (p) => [
    ...(p.creates ? [{ kind: 'file' as const, path: p.creates, maxBytes: 0 }] : []),
    ...(p.removes ? [{ kind: 'file' as const, path: p.removes, maxBytes: 0 }] : []),
  ],
  plan: (_ctx, p, r) => {
    let i = 0;
    if (p.creates && (r[i++] as FileState).exists) return { action: 'ok', msg: `${p.creates} exists` };
    if (p.removes && !(r[i++] as FileState).exists) return { action: 'ok', msg: `${p.removes} does not exist` };
    return { action: 'run', summary: p.cmd.split('\n')[0] };
  },
  apply: async (ctx, p) => {
    const r = await ctx.conn.exec(p.cmd, { stdin: p.stdin });
    if (r.code !== 0) throw new TaskError(`command failed (exit ${r.code}): ${p.cmd.split('\n')[0]}`, (r.stderr || r.stdout).trim().split('\n').slice(-20).join('\n'));
    ctx.log(r.stdout.trim());
    return { changed: p.changed_when ?? true };
  },
});
