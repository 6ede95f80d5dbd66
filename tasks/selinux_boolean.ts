// selinux_boolean: an SELinux boolean on, persistently (setsebool -P), where SELinux is enabled.
// On Fedora, nginx may not connect to an upstream (the bucket) unless httpd_can_network_connect is on:
// nginx logs "13: Permission denied while connecting to upstream" and answers 502 for every file.
// Hosts without SELinux: skipped. Output read: getsebool(8), "<name> --> on|off".
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { bool, params, str } from '../src/params-spec.js';
import { defineTask, type CmdState } from '../src/task.js';

export default defineTask({
  name: 'selinux_boolean',
  doc: 'Set an SELinux boolean, persistently (setsebool -P); skipped where SELinux is disabled',
  params: params({
    name: str({ pattern: '^[a-z0-9_]+$' }).doc('e.g. httpd_can_network_connect'),
    value: bool().default(true),
  }),
  example: '- selinux_boolean: { name: httpd_can_network_connect, value: true }',
  probes: (p, facts) => (facts.selinux === 'disabled' ? [] : [{ kind: 'cmd', cmd: sh`getsebool -- ${p.name}` }]),
  plan: (ctx, p, [r]) => {
    if (ctx.facts.selinux === 'disabled') return { action: 'skip', msg: 'SELinux is not enabled on this host' };
    const out = r as CmdState;
    const m = new RegExp(`^${p.name} --> (on|off)$`, 'm').exec(out.stdout);
    if (out.code !== 0 || !m) throw new TaskError(`cannot read the SELinux boolean ${p.name} (getsebool exit ${out.code})`, (out.stderr || out.stdout).trim());
    const want = p.value ? 'on' : 'off';
    if (m[1] === want) return { action: 'ok', msg: `${p.name} is ${want}` };
    return {
      action: 'change',
      summary: `${p.name} ${m[1]} -> ${want} (persistent)${ctx.facts.selinux === 'permissive' ? '; SELinux is permissive now, this matters once it enforces' : ''}`,
      steps: [{ cmd: sh`setsebool -P ${p.name} ${want}`, what: `setsebool -P ${p.name} ${want}` }],
    };
  },
});
