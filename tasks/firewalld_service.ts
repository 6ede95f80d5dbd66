// firewalld_service: services open in every active firewalld zone, at runtime and permanently
// (Fedora's firewalld lets in only ssh: certbot's HTTP-01 challenge and the proxy are unreachable
// until http and https are open). Only adds; every other rule stays. Hosts without a running
// firewalld: skipped. Outputs read: firewall-cmd(1) --get-active-zones (a zone name at the start of
// a line, its interfaces indented below; empty when no interface is bound to a zone, as on a Debian
// host without NetworkManager: then the default zone, --get-default-zone, takes all traffic) and
// --query-service (exit 0 "yes", 1 "no").
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { list, params, str } from '../src/params-spec.js';
import { defineTask, type CmdState, type Step } from '../src/task.js';

export default defineTask({
  name: 'firewalld_service',
  doc: 'Open firewalld services (http, https) in every active zone, runtime and permanent; skipped without firewalld',
  params: params({ services: list(str({ pattern: '^[a-z0-9-]+$' }), { minItems: 1 }).doc('firewalld service names') }),
  example: '- firewalld_service: { services: [http, https] }',
  // One probe: the active zones, then for each zone and service "Z S runtime permanent".
  probes: (p, facts) =>
    facts.firewalld
      ? [
          {
            kind: 'cmd',
            cmd:
              `zones=$(firewall-cmd --get-active-zones | sed -n 's/^\\([^[:space:]][^[:space:]]*\\).*/\\1/p') || exit 2; ` +
              // No interface bound to a zone (no NetworkManager): the default zone takes all traffic.
              `[ -n "$zones" ] || zones=$(firewall-cmd --get-default-zone) || exit 2; ` +
              `for z in $zones; do for s in ${p.services.map((s) => sh`${s}`).join(' ')}; do ` +
              `rt=$(firewall-cmd --zone="$z" --query-service="$s"); pm=$(firewall-cmd --permanent --zone="$z" --query-service="$s"); echo "$z $s $rt $pm"; done; done`,
          },
        ]
      : [],
  plan: (ctx, p, [r]) => {
    if (!ctx.facts.firewalld) return { action: 'skip', msg: 'firewalld is not running on this host' };
    const out = r as CmdState;
    if (out.code !== 0) throw new TaskError(`cannot read firewalld's zones (exit ${out.code})`, (out.stderr || out.stdout).trim());
    const rows = out.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => w.length === 4);
    if (!rows.length) throw new TaskError('firewalld runs but names no zone (neither an active nor a default one)', out.stdout.trim() || undefined);
    const steps: Step[] = [];
    const opened: string[] = [];
    for (const [zone, service, runtime, permanent] of rows) {
      if (runtime !== 'yes') steps.push({ cmd: sh`firewall-cmd --zone=${zone} --add-service=${service}` });
      if (permanent !== 'yes') steps.push({ cmd: sh`firewall-cmd --permanent --zone=${zone} --add-service=${service}` });
      if (runtime !== 'yes' || permanent !== 'yes') opened.push(`${service} in ${zone}`);
    }
    if (!steps.length) return { action: 'ok', msg: `${p.services.join(', ')} open in ${[...new Set(rows.map((r) => r[0]))].join(', ')}` };
    return { action: 'change', summary: `open ${opened.join(', ')} (runtime and permanent)`, steps };
  },
});
