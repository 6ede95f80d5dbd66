// service: systemd units through systemctl: started/stopped, enabled, restarted/reloaded (as handlers),
// daemon-reload. A host without systemd as PID 1 fails clearly: systemctl there only pretends.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';

interface Params {
  name?: string;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  enabled?: boolean;
  daemon_reload?: boolean;
}

interface Data {
  steps: string[];
}

export default defineTask<Params, Data>({
  name: 'service',
  doc: 'Manage a systemd unit: state started/stopped/restarted/reloaded, enabled, daemon_reload',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: '^[a-zA-Z0-9@._:-]+$' },
      state: { enum: ['started', 'stopped', 'restarted', 'reloaded'] },
      enabled: { type: 'boolean' },
      daemon_reload: { type: 'boolean' },
    },
  },
  validate: (p) => (!p.name && (p.state || p.enabled !== undefined) ? [{ param: 'name', message: 'state/enabled need a unit name' }] : !p.name && !p.daemon_reload ? [{ message: 'give a unit name or daemon_reload: true' }] : []),
  probes: (p) => (p.name ? [{ kind: 'cmd', cmd: sh`systemctl is-active -- ${p.name}; systemctl is-enabled -- ${p.name}` }] : []),
  plan: (ctx, p, r) => {
    if (!ctx.facts.systemd) throw new TaskError(`${ctx.host} does not run systemd as PID 1, so systemctl cannot manage ${p.name ?? 'units'} here`);
    const steps: string[] = [];
    if (p.daemon_reload) steps.push('daemon-reload');
    if (p.name) {
      const [active = '', enabled = ''] = (r[0] as CmdState).stdout.split('\n').map((s) => s.trim());
      if (enabled === '' && active === 'inactive' && (r[0] as CmdState).stderr.includes('not be found')) {
        throw new TaskError(`unit ${p.name} not found`);
      }
      if (p.enabled === true && enabled !== 'enabled' && enabled !== 'static' && enabled !== 'alias') steps.push('enable');
      if (p.enabled === false && enabled === 'enabled') steps.push('disable');
      if (p.state === 'started' && active !== 'active') steps.push('start');
      if (p.state === 'stopped' && active === 'active') steps.push('stop');
      if (p.state === 'restarted') steps.push('restart');
      if (p.state === 'reloaded') steps.push(active === 'active' ? 'reload' : 'start');
    }
    return steps.length ? { action: 'change', summary: steps.map((s) => (s === 'daemon-reload' ? s : `${s} ${p.name}`)).join(', '), data: { steps } } : { action: 'ok' };
  },
  apply: async (ctx, p, plan) => {
    if (plan.action !== 'change' || !plan.data) return { changed: false };
    for (const step of plan.data.steps) {
      const cmd = step === 'daemon-reload' ? 'systemctl daemon-reload' : sh`systemctl ${step} -- ${p.name!}`;
      const r = await ctx.conn.exec(cmd);
      if (r.code !== 0) {
        const journal = p.name ? await ctx.conn.exec(sh`journalctl -u ${p.name} -n 20 --no-pager -q`) : undefined;
        throw new TaskError(`systemctl ${step} ${p.name ?? ''} failed (exit ${r.code})`.trim(), [r.stderr.trim(), journal?.stdout.trim()].filter(Boolean).join('\n'));
      }
    }
    return { changed: true };
  },
});
