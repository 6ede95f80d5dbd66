// SSH round trips of one no-op --check on one host, counted two ways:
//  - as the tool reports them: `commands` in our --json report (one exec channel each); for
//    Ansible, the `SSH: EXEC` lines of -vvv (one ssh client process each, a channel on its master);
//  - on the host, whatever the client says: sshd's ForceCommand is pointed at a tiny wrapper that
//    appends $SSH_CONNECTION to a file and then runs the requested command with the user's shell,
//    exactly as sshd would have. One line per exec session; distinct client ports = connections.
//    (sshd's own LogLevel VERBOSE "Starting session" lines were tried first: on these hosts
//    journald drops them under load, so they undercount.)
// Also what the expensive probes of a check cost on the host itself (no SSH involved).

import fs from 'node:fs';
import type { Sandbox } from '../test/world/sandbox.js';
import { TOKENS } from '../test/world/sandbox.js';
import { WORLD } from '../test/world/config.js';
import { closeMasters, controlDir, runTool, runProblem, type OurHost, type RunResult } from './tools.js';

export interface RoundTrips {
  host: string;
  ours: { reported: number; sshdSessions: number; sshdConnections: number; wallS: number };
  ansible: { vvvExec: number; sshdSessions: number; sshdConnections: number; wallS: number };
  /** Host-side time of single probe commands (ms), run directly in the host. */
  probeMs: Record<string, number>;
}

const SESSIONS = '/run/bench-ssh-sessions';
const WRAPPER = '/usr/local/sbin/bench-ssh-session';

async function sshdLog(sb: Sandbox, host: string): Promise<{ sessions: number; connections: number }> {
  const lines = (await sb.world.hostExecOk(host, `cat ${SESSIONS} 2>/dev/null || true`)).stdout.split('\n').filter(Boolean);
  return { sessions: lines.length, connections: new Set(lines.map((l) => l.split(' ')[1])).size };
}

async function counted(sb: Sandbox, host: string, run: () => Promise<RunResult>) {
  const before = await sshdLog(sb, host);
  const r = await run();
  const problem = runProblem(r);
  if (problem) throw new Error(`round-trip run (${r.tool}): ${problem}`);
  // sshd writes its last lines as the connection closes: give journald a moment.
  await new Promise((res) => setTimeout(res, 500));
  const after = await sshdLog(sb, host);
  // Connections: client ports that appear only after the run started.
  return { r, sessions: after.sessions - before.sessions, connections: after.connections - before.connections };
}

/** Time one command inside the host (its own clock, so no nsenter or SSH overhead). */
async function hostMs(sb: Sandbox, host: string, cmd: string, input?: string): Promise<number> {
  const r = await sb.world.hostExecOk(host, `s=$(date +%s%N); { ${cmd}; } >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`, { input });
  return Number(r.stdout.trim().split('\n').pop());
}

/**
 * `host` must be converged (by both tools' standards: ours runs first, then one unmeasured Ansible
 * run settles the vhost to Ansible's rendering). Leaves the counting wrapper in place on that host.
 */
export async function countRoundTrips(sb: Sandbox, host: string, inventory: string, logDir: string, bucket: string): Promise<RoundTrips> {
  const wrapper = `#!/bin/sh\necho "$SSH_CONNECTION" >> ${SESSIONS}\nexec "\${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND"\n`;
  await sb.world.hostExecOk(
    host,
    `cat > ${WRAPPER} && chmod 0755 ${WRAPPER} && printf 'ForceCommand ${WRAPPER}\\n' > /etc/ssh/sshd_config.d/zz-bench-count.conf && systemctl reload ssh.service`,
    { input: wrapper },
  );
  const cp = controlDir(logDir);
  const base = { inventory, hostNames: [host], logDir, extraArgs: ['--limit', host] };
  const ours = await counted(sb, host, () => runTool({ ...base, tool: 'ours', phase: 'check', tag: 'roundtrips-ours' }));
  const reported = (JSON.parse(fs.readFileSync(ours.r.report!, 'utf8')).hosts[host] as OurHost).commands;

  const settle = await runTool({ ...base, tool: 'ansible', phase: 'noop', tag: 'roundtrips-ansible-settle' });
  const p = runProblem(settle);
  if (p) throw new Error(`round trips: Ansible settle run: ${p}`);
  closeMasters(cp); // count from a cold start: the connection is made inside the measured run
  const ans = await counted(sb, host, () =>
    runTool({ ...base, tool: 'ansible', phase: 'check', tag: 'roundtrips-ansible', extraArgs: [...base.extraArgs, '-vvv'] }),
  );
  const vvvExec = fs
    .readFileSync(ans.r.log, 'utf8')
    .split('\n')
    .filter((l) => /\bSSH: EXEC\b/.test(l)).length;

  const s3 = `s3cmd --config=/root/.s3cfg --no-progress info s3://${bucket}`;
  const api = (ep: string) => `curl -sS --max-time 15 -X POST -H 'Content-Type: application/json' --data-binary @- http://127.0.0.1:3000/api/${ep}`;
  const probeMs: Record<string, number> = {
    's3cmd info (bucket + policy)': await hostMs(sb, host, s3),
    'curl Misskey admin/meta': await hostMs(sb, host, api('admin/meta'), JSON.stringify({ i: TOKENS.admin })),
    'dpkg-query (3 package tasks)': await hostMs(
      sb,
      host,
      `for p in s3cmd nginx 'certbot python3-certbot-nginx'; do dpkg-query -W -f='\${Package} \${db:Status-Status}\\n' -- $p; done`,
    ),
    'openssl x509 -checkend': await hostMs(sb, host, `openssl x509 -checkend 2592000 -noout -in /etc/letsencrypt/live/s3.${host}.${WORLD.tld}/fullchain.pem`),
    'python3 -c pass (an Ansible module starts one)': await hostMs(sb, host, 'python3 -c pass'),
  };
  return {
    host,
    ours: { reported, sshdSessions: ours.sessions, sshdConnections: ours.connections, wallS: ours.r.wallS },
    ansible: { vvvExec, sshdSessions: ans.sessions, sshdConnections: ans.connections, wallS: ans.r.wallS },
    probeMs,
  };
}
