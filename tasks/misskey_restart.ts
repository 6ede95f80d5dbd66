// misskey_restart: `systemctl restart <service>`, then wait until Misskey answers HTTP again. On
// failure the last journal lines are shown. Used as a handler (v10 reads default.yml only at start).
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { int, params, str } from '../src/params-spec.js';
import { defineTask } from '../src/task.js';

const spec = params({
  service: str({ pattern: '^[a-zA-Z0-9@._-]+$' }).doc('the systemd unit of Misskey'),
  url: str({ pattern: '^https?://' }).doc('a URL Misskey answers once it is up (e.g. http://127.0.0.1:3000)'),
  timeout: int({ minimum: 1, maximum: 3600 }).default(120).doc('seconds to wait for an answer'),
});

export default defineTask({
  name: 'misskey_restart',
  doc: 'Restart the Misskey service and wait until it answers HTTP again',
  params: spec,
  example: '- misskey_restart: { service: misskey, url: "http://127.0.0.1:3000" }',
  probes: () => [],
  plan: (ctx, p) => {
    if (!ctx.facts.systemd) throw new TaskError(`${ctx.host} does not run systemd as PID 1: cannot restart ${p.service}`);
    return { action: 'change', summary: `restart ${p.service}`, steps: [{ cmd: restartScript(p.service, p.url, p.timeout) }] };
  },
  // Its own apply for the exit codes of the script: each says what went wrong.
  apply: async (ctx, p, change) => {
    const r = await ctx.conn.exec(change.steps![0].cmd);
    if (r.code === 0) return { changed: true };
    const journal = await ctx.conn.exec(sh`journalctl -u ${p.service} -n 25 --no-pager -q`);
    const why =
      r.code === 10
        ? 'systemctl restart failed'
        : r.code === 11
          ? 'the service stopped after the restart'
          : `no HTTP answer from ${p.url} within ${p.timeout}s`;
    throw new TaskError(`${p.service}: ${why}`, [r.stderr.trim(), 'last journal lines:', journal.stdout.trim()].filter(Boolean).join('\n'));
  },
});

/** Restart, then wait until Misskey answers HTTP (any status) or the unit stops. */
export function restartScript(service: string, url: string, timeoutS: number): string {
  return [
    sh`systemctl restart -- ${service} || exit 10`,
    `i=0; while [ $i -lt ${timeoutS} ]; do`,
    sh`  if ! systemctl is-active --quiet -- ${service} && [ $i -gt 5 ]; then exit 11; fi`,
    sh`  code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' ${url}) && [ "$code" != 000 ] && exit 0`,
    '  sleep 1; i=$((i+1))',
    'done; exit 12',
  ].join('\n');
}
