// package: distro packages present (apt on Debian/Ubuntu, dnf on Fedora, from facts).
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';
import type { Facts } from '../src/facts/types.js';

interface Params {
  name: string | string[];
  update_cache?: boolean;
}

const names = (p: Params) => (Array.isArray(p.name) ? p.name : [p.name]);

/** One read-only query listing which of the packages are installed (one name per line). */
export function installedQuery(facts: Facts, pkgs: string[]): string {
  // The format string is a constant (dpkg's own ${...} fields), only the names are values.
  if (facts.pkg_mgr === 'apt') return "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' " + sh`-- ${pkgs}` + ` 2>/dev/null | awk '$2=="installed"{print $1}'`;
  return sh`rpm -q --qf '%{NAME}\n' -- ${pkgs} 2>/dev/null | grep -v 'is not installed' || true`;
}

export function installCommand(facts: Facts, pkgs: string[], update: boolean): string {
  if (facts.pkg_mgr === 'apt') {
    const install = sh`DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- ${pkgs}`;
    // A host whose package lists were never fetched cannot install: update first in that case.
    return update ? `apt-get update -q && ${install}` : `${install} || { apt-get update -q && ${install}; }`;
  }
  return sh`dnf install -y -q -- ${pkgs}`;
}

export default defineTask<Params, string[]>({
  name: 'package',
  doc: 'Install distro packages (apt or dnf, chosen from facts)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { anyOf: [{ type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9.+_-]*$' }, { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9.+_-]*$' } }] },
      update_cache: { type: 'boolean' },
    },
  },
  probes: (p, facts) => [{ kind: 'cmd', cmd: installedQuery(facts, names(p)) }],
  plan: (_ctx, p, [r]) => {
    const have = new Set((r as CmdState).stdout.split('\n').map((l) => l.trim()).filter(Boolean));
    const missing = names(p).filter((n) => !have.has(n));
    return missing.length ? { action: 'change', summary: `install ${missing.join(' ')}`, data: missing } : { action: 'ok' };
  },
  apply: async (ctx, p, plan) => {
    if (plan.action !== 'change' || !plan.data) return { changed: false };
    const r = await ctx.conn.exec(installCommand(ctx.facts, plan.data, p.update_cache ?? false));
    if (r.code !== 0) throw new TaskError(`installing ${plan.data.join(' ')} failed (exit ${r.code})`, (r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n'));
    return { changed: true };
  },
});
