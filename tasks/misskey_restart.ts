// misskey_restart: `systemctl restart <service>`, then wait until Misskey answers HTTP again. On
// failure the last journal lines are shown. Used as a handler (v10 reads default.yml only at start).
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask } from '../src/task.js';

interface Params {
  service: string;
  url: string;
  timeout?: number;
}

export default defineTask<Params>({
  name: 'misskey_restart',
  doc: 'Restart the Misskey service and wait until it answers HTTP again',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['service', 'url'],
    properties: {
      service: { type: 'string', pattern: '^[a-zA-Z0-9@._-]+$' },
      url: { type: 'string', pattern: '^https?://' },
      timeout: { type: 'integer', minimum: 1, maximum: 3600, default: 120 },
    },
  },
  probes: () => [],
  plan: (ctx, p) => {
    if (!ctx.facts.systemd) throw new TaskError(`${ctx.host} does not run systemd as PID 1: cannot restart ${p.service}`);
    return { action: 'change', summary: `restart ${p.service}` };
  },
  apply: async (ctx, p) => {
    const t = p.timeout ?? 120;
    const script = [
      sh`systemctl restart -- ${p.service} || exit 10`,
      `i=0; while [ $i -lt ${t} ]; do`,
      sh`  if ! systemctl is-active --quiet -- ${p.service} && [ $i -gt 5 ]; then exit 11; fi`,
      sh`  code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' ${p.url}) && [ "$code" != 000 ] && exit 0`,
      '  sleep 1; i=$((i+1))',
      'done; exit 12',
    ].join('\n');
    const r = await ctx.conn.exec(script);
    if (r.code === 0) return { changed: true };
    const journal = await ctx.conn.exec(sh`journalctl -u ${p.service} -n 25 --no-pager -q`);
    const why = r.code === 10 ? 'systemctl restart failed' : r.code === 11 ? 'the service stopped after the restart' : `no HTTP answer from ${p.url} within ${t}s`;
    throw new TaskError(`${p.service}: ${why}`, [r.stderr.trim(), 'last journal lines:', journal.stdout.trim()].filter(Boolean).join('\n'));
  },
});
