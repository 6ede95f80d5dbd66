// PLAY RECAP in Ansible's layout: "host : ok=N changed=N unreachable=N failed=N skipped=N rescued=N ignored=N".
import type { ChalkInstance } from 'chalk';
import type { HostReport } from '../runner/types.js';

export function recapLines(reports: HostReport[], c: ChalkInstance): string[] {
  const lines = [c.bold('PLAY RECAP ' + '*'.repeat(60))];
  for (const r of [...reports].sort((a, b) => a.host.localeCompare(b.host, undefined, { numeric: true }))) {
    const k = r.counts;
    const hostColor = k.failed || k.unreachable ? c.red : k.changed ? c.yellow : c.green;
    const field = (name: string, n: number, color: (s: string) => string) => {
      const s = `${name}=${String(n).padEnd(4)}`;
      return n ? color(s) : s;
    };
    lines.push(
      [
        hostColor(r.host.padEnd(26)),
        ':',
        field('ok', k.ok, c.green),
        field('changed', k.changed, c.yellow),
        field('unreachable', k.unreachable, c.red),
        field('failed', k.failed, c.red),
        field('skipped', k.skipped, c.cyan),
        field('rescued', 0, c.magenta),
        field('ignored', k.ignored, c.magenta),
      ]
        .join(' ')
        .trimEnd(),
    );
  }
  return lines;
}
