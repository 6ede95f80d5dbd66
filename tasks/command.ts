// command: run a shell command. Idempotence comes from `creates`/`removes` (skip when the path
// does / does not exist) or from `changed_when: false` for read-only commands (Ansible semantics).
import { bool, params, path, str, type Infer } from '../src/params-spec.js';
import { defineTask, type FileState } from '../src/task.js';

const spec = params({
  cmd: str({ minLength: 1 }).doc('shell command line, run by /bin/sh'),
  creates: path().optional().doc('skip when this path exists'),
  removes: path().optional().doc('skip when this path does not exist'),
  changed_when: bool().optional().doc('false: the command only reads, report ok'),
  stdin: str().optional().secret().doc('fed to the command on stdin (for secrets)'),
});

export default defineTask<Infer<typeof spec>>({
  name: 'command',
  doc: 'Run a shell command (creates/removes make it idempotent; changed_when: false for read-only ones)',
  params: spec,
  example: '- command: { cmd: "mkdir -p /srv/x && touch /srv/x/done", creates: /srv/x/done }',
  probes: (p) => [
    ...(p.creates ? [{ kind: 'file' as const, path: p.creates, maxBytes: 0 }] : []),
    ...(p.removes ? [{ kind: 'file' as const, path: p.removes, maxBytes: 0 }] : []),
  ],
  plan: (_ctx, p, r) => {
    let i = 0;
    if (p.creates && (r[i++] as FileState).exists) return { action: 'ok', msg: `${p.creates} exists` };
    if (p.removes && !(r[i++] as FileState).exists) return { action: 'ok', msg: `${p.removes} does not exist` };
    return {
      action: 'run',
      summary: p.cmd.split('\n')[0],
      steps: [{ cmd: p.cmd, ...(p.stdin !== undefined ? { stdin: p.stdin } : {}), what: `command: ${p.cmd.split('\n')[0]}` }],
    };
  },
  apply: async (ctx, p, change) => {
    for (const s of change.steps ?? []) ctx.log((await ctx.run(s)).stdout.trim());
    return { changed: p.changed_when ?? true };
  },
});
