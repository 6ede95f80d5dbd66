// service: systemd units through systemctl: started/stopped, enabled, restarted/reloaded (as handlers),
// daemon-reload. A host without systemd as PID 1 fails clearly: systemctl there only pretends.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { bool, oneOf, params, str } from '../src/params-spec.js';
import { defineTask, type CmdState } from '../src/task.js';

const spec = params({
  name: str({ pattern: '^[a-zA-Z0-9@._:-]+$' }).optional().doc('the unit (nginx, nginx.service)'),
  state: oneOf(['started', 'stopped', 'restarted', 'reloaded'] as const).optional(),
  enabled: bool().optional().doc('started at boot'),
  daemon_reload: bool().optional().doc('systemctl daemon-reload first (after a unit file or drop-in changed)'),
});

export default defineTask({
  name: 'service',
  doc: 'Manage a systemd unit: state started/stopped/restarted/reloaded, enabled, daemon_reload',
  params: spec,
  example: '- service: { name: nginx, state: started, enabled: true }',
  validate: (p) =>
    !p.name && (p.state || p.enabled !== undefined)
      ? [{ param: 'name', message: 'state/enabled need a unit name' }]
      : !p.name && !p.daemon_reload
        ? [{ message: 'give a unit name or daemon_reload: true' }]
        : [],
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
    if (!steps.length) return { action: 'ok' };
    return {
      action: 'change',
      summary: steps.map((s) => (s === 'daemon-reload' ? s : `${s} ${p.name}`)).join(', '),
      steps: steps.map((step) =>
        step === 'daemon-reload'
          ? { cmd: 'systemctl daemon-reload' }
          : { cmd: sh`systemctl ${step} -- ${p.name!}`, what: `systemctl ${step} ${p.name}`, explain: sh`journalctl -u ${p.name!} -n 20 --no-pager -q` },
      ),
    };
  },
});
