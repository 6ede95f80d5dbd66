// The benchmark's results as one object (results.json) and as markdown (results.md, stdout).

import type { Machine } from './measure.js';
import { median } from './measure.js';
import type { RoundTrips } from './roundtrips.js';
import { TOOL_NAME, total, type Phase, type RunResult, type Tool } from './tools.js';

export const PHASES: Phase[] = ['converge', 'noop', 'check'];
const PHASE_NAME: Record<Phase, string> = { converge: 'converge (pristine hosts)', noop: 'no-op run', check: 'no-op --check' };

export interface CrossCheck {
  /** Who converged the hosts, and who then ran (a real no-op run). */
  convergedBy: Tool;
  checkedBy: Tool;
  hosts: number;
  changed: number;
  changedTasks: string[];
}

export interface OurTaskTimes {
  hosts: number;
  phase: Phase;
  /** Median over hosts of each host's run (connect, facts, every task), ms. */
  hostMs: number;
  commands: number;
  tasks: { task: string; ms: number }[];
}

export interface Results {
  machine: Machine;
  sizes: number[];
  reps: number;
  startedAt: string;
  totalWallS?: number;
  complete: boolean;
  aborted?: string;
  startup: { oursMs: number[]; ansibleMs: number[] };
  runs: RunResult[];
  crossChecks: CrossCheck[];
  roundTrips?: RoundTrips;
  ourTasks: OurTaskTimes[];
  /** Runs whose outcome was not what the phase expects (e.g. a no-op that changed something). */
  anomalies: string[];
  /** Seconds spent outside the timed runs, by kind. */
  spentS: Partial<Record<'startup' | 'world' | 'warmUp' | 'hosts' | 'crossChecks' | 'roundTrips' | 'teardown', number>>;
  /** Sessions of this run (more than one when an interrupted run was resumed): sizes done, code. */
  parts: { startedAt: string; wallS: number; sizes: number[]; code: string }[];
}

const s = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');

export function wallTimes(res: Results, n: number, phase: Phase, tool: Tool): number[] {
  return res.runs.filter((r) => r.hosts === n && r.phase === phase && r.tool === tool).map((r) => r.wallS);
}

/** The run whose wall time is the median one (the upper middle for an even count). */
export function medianRun(res: Results, n: number, phase: Phase, tool: Tool): RunResult | undefined {
  const runs = res.runs.filter((r) => r.hosts === n && r.phase === phase && r.tool === tool).sort((a, b) => a.wallS - b.wallS);
  return runs[Math.floor(runs.length / 2)];
}

export interface Target {
  name: string;
  measured: string;
  met: boolean | null;
}

export function targets(res: Results): Target[] {
  const med = (n: number, p: Phase, t: Tool) => median(wallTimes(res, n, p, t));
  const out: Target[] = [];
  const c3 = med(3, 'check', 'ours') / med(3, 'check', 'ansible');
  out.push({ name: 'no-op --check at N=3 <= 0.2x Ansible', measured: `${s(c3)}x`, met: Number.isFinite(c3) ? c3 <= 0.2 : null });
  const conv = res.sizes.map((n) => ({ n, r: med(n, 'converge', 'ours') / med(n, 'converge', 'ansible') })).filter((x) => Number.isFinite(x.r));
  out.push({
    name: 'converge <= 0.5x Ansible (every N)',
    measured: conv.map((x) => `N=${x.n}: ${s(x.r)}x`).join(', '),
    met: conv.length ? conv.every((x) => x.r <= 0.5) : null,
  });
  const big = Math.max(...res.sizes);
  const scale = med(big, 'check', 'ours') / med(1, 'check', 'ours');
  // What the shared cores allow at best: all CPU the run used (tool and hosts) spread over every core.
  const bigRun = medianRun(res, big, 'check', 'ours');
  const floor = bigRun ? (bigRun.toolCpuS + bigRun.hostsCpuS) / res.machine.cores : NaN;
  out.push({
    name: `our no-op --check on ${big} hosts <= 2x ours on 1 host`,
    measured: `${s(scale)}x (${s(med(big, 'check', 'ours'))} s vs ${s(med(1, 'check', 'ours'))} s); CPU floor at N=${big}: ${s(floor)} s = ${s(floor / med(1, 'check', 'ours'))}x (tool ${s(bigRun?.toolCpuS ?? NaN)} + hosts ${s(bigRun?.hostsCpuS ?? NaN)} CPU s / ${res.machine.cores} cores)`,
    met: Number.isFinite(scale) && big > 1 ? scale <= 2 : null,
  });
  const rt = res.roundTrips;
  out.push({
    name: '<= 3 SSH round trips per host for a no-op --check',
    measured: rt ? `${rt.ours.reported} (sshd saw ${rt.ours.sshdSessions})` : '–',
    met: rt ? Math.max(rt.ours.reported, rt.ours.sshdSessions) <= 3 : null,
  });
  return out;
}

export function toMarkdown(res: Results): string {
  const m = res.machine;
  const L: string[] = [];
  L.push('# Benchmark: mskplay vs Ansible on the same hosts', '');
  L.push(
    `Written by \`npm run bench\` (bench/bench.ts); how it works: [README.md](README.md).${res.complete ? '' : ' **Incomplete run' + (res.aborted ? `: ${res.aborted}` : '') + '.**'}`,
    '',
  );
  L.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, ${m.os}`);
  L.push(`- Date: ${m.date}; node ${m.node}; ${m.ansible}`);
  L.push(
    `- Hosts: N world hosts (Debian 12, systemd, \`pkgs\` layer) on the same machine as both tools; median of ${res.reps} runs per cell, the tools alternating.`,
  );
  if (res.totalWallS !== undefined) L.push(`- Whole benchmark: ${(res.totalWallS / 60).toFixed(1)} min`);
  if (res.parts.length > 1) {
    L.push(
      `- Run in ${res.parts.length} parts (an interrupted run resumed with --resume): ${res.parts.map((p) => `N=${p.sizes.join(',') || '–'} from ${p.startedAt.slice(0, 16)}Z, ${(p.wallS / 60).toFixed(1)} min, code ${p.code}`).join('; ')}`,
    );
  } else if (res.parts[0]) L.push(`- Code: ${res.parts[0].code}`);
  L.push('');
  L.push('## Wall time (seconds, median; every run in brackets)', '');
  L.push('| N | phase | mskplay | Ansible | mskplay / Ansible |', '|---:|---|---:|---:|---:|');
  for (const n of res.sizes) {
    for (const p of PHASES) {
      const o = wallTimes(res, n, p, 'ours');
      const a = wallTimes(res, n, p, 'ansible');
      if (!o.length && !a.length) continue;
      const list = (xs: number[]) => `${s(median(xs))} <sub>[${xs.map((x) => x.toFixed(1)).join(', ')}]</sub>`;
      L.push(`| ${n} | ${PHASE_NAME[p]} | ${list(o)} | ${list(a)} | **${s(median(o) / median(a))}** |`);
    }
  }
  L.push('');
  L.push('## Where the time goes (CPU seconds of the median run)', '');
  L.push(
    "Tool: the tool's processes on this machine (ssh clients included). Hosts: everything inside the N hosts (sshd, commands, Ansible's modules). Both share the same 2 cores, so wall time is bounded below by (tool + hosts + S3 service) / cores.",
    '',
  );
  L.push('| N | phase | mskplay tool | mskplay hosts | Ansible tool | Ansible hosts |', '|---:|---|---:|---:|---:|---:|');
  for (const n of res.sizes) {
    for (const p of PHASES) {
      const o = medianRun(res, n, p, 'ours');
      const a = medianRun(res, n, p, 'ansible');
      if (!o && !a) continue;
      L.push(`| ${n} | ${PHASE_NAME[p]} | ${s(o?.toolCpuS ?? NaN)} | ${s(o?.hostsCpuS ?? NaN)} | ${s(a?.toolCpuS ?? NaN)} | ${s(a?.hostsCpuS ?? NaN)} |`);
    }
  }
  L.push('');
  if (res.ourTasks.length) {
    L.push('## mskplay per host (median run): time of each host, its exec round trips, slowest tasks', '');
    L.push(
      '| N | phase | host total (ms) | execs per host | slowest tasks (ms; a task that triggers a probe batch carries its time) |',
      '|---:|---|---:|---:|---|',
    );
    for (const t of res.ourTasks) {
      L.push(
        `| ${t.hosts} | ${PHASE_NAME[t.phase]} | ${ms(t.hostMs)} | ${t.commands} | ${t.tasks
          .slice(0, 5)
          .map((x) => `${x.task} ${ms(x.ms)}`)
          .join('; ')} |`,
      );
    }
    L.push('');
  }
  const rt = res.roundTrips;
  if (rt) {
    L.push(`## SSH round trips of one no-op --check (host ${rt.host})`, '');
    L.push('| tool | as the tool reports | exec sessions sshd started | SSH connections | wall (s) |', '|---|---:|---:|---:|---:|');
    L.push(`| mskplay | ${rt.ours.reported} (\`commands\` in --json) | ${rt.ours.sshdSessions} | ${rt.ours.sshdConnections} | ${s(rt.ours.wallS)} |`);
    L.push(
      `| Ansible | ${rt.ansible.vvvExec} (\`SSH: EXEC\` lines, -vvv) | ${rt.ansible.sshdSessions} | ${rt.ansible.sshdConnections} | ${s(rt.ansible.wallS)} |`,
    );
    L.push('', 'Host-side cost of single probe commands (run inside the host, no SSH):', '');
    for (const [k, v] of Object.entries(rt.probeMs)) L.push(`- ${k}: ${v} ms`);
    L.push('');
  }
  L.push(...timeBudget(res));
  L.push('## Start-up', '');
  L.push(
    `- \`node bin/play.js --version\`: median ${ms(median(res.startup.oursMs))} ms over ${res.startup.oursMs.length} runs [${res.startup.oursMs.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  L.push(`- \`ansible-playbook --version\` (for comparison): median ${ms(median(res.startup.ansibleMs))} ms over ${res.startup.ansibleMs.length} runs`, '');
  L.push('## Targets', '');
  L.push('| target | measured | met |', '|---|---|---|');
  for (const t of targets(res)) L.push(`| ${t.name} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
  L.push('');
  if (res.crossChecks.length) {
    L.push("## Each tool on the other's result (a real no-op run right after the other tool converged)", '');
    L.push('| converged by | then run by | hosts | changed | changed tasks |', '|---|---|---:|---:|---|');
    for (const c of res.crossChecks)
      L.push(`| ${TOOL_NAME[c.convergedBy]} | ${TOOL_NAME[c.checkedBy]} | ${c.hosts} | ${c.changed} | ${c.changedTasks.join('; ') || '–'} |`);
    const same = res.crossChecks.every((c) => c.changed === 0);
    L.push(
      '',
      same
        ? "Each tool finds the other's hosts converged: same files, same services."
        : 'A change here means the two tools do not leave the same state: see README.md ("Cross-check").',
      '',
    );
  }
  if (res.anomalies.length) {
    L.push('## Anomalies', '');
    for (const a of res.anomalies) L.push(`- ${a}`);
    L.push('');
  }
  return L.join('\n');
}

export function summarizeRun(r: RunResult): string {
  return `${TOOL_NAME[r.tool]} ${r.phase} N=${r.hosts}: ${r.wallS.toFixed(2)} s (tool CPU ${r.toolCpuS.toFixed(1)} s, hosts CPU ${r.hostsCpuS.toFixed(1)} s), changed=${total(r, 'changed')}`;
}

/** Where the whole run's time went: each tool's timed runs (per N), and the rest by kind. */
export function timeBudget(res: Results): string[] {
  const min = (x: number) => `${(x / 60).toFixed(1)} min`;
  const sum = (f: (r: RunResult) => boolean) => res.runs.filter(f).reduce((a, r) => a + r.wallS, 0);
  const L = ['## Time of the whole run', ''];
  L.push('| part | ' + res.sizes.map((n) => `N=${n}`).join(' | ') + ' | all |', '|---|' + res.sizes.map(() => '---:|').join('') + '---:|');
  for (const t of ['ansible', 'ours'] as Tool[]) {
    L.push(
      `| ${TOOL_NAME[t]}'s timed runs | ` +
        res.sizes.map((n) => min(sum((r) => r.tool === t && r.hosts === n))).join(' | ') +
        ` | ${min(sum((r) => r.tool === t))} |`,
    );
  }
  const names: Record<keyof Results['spentS'], string> = {
    startup: 'start-up timing',
    world: 'world start (S3, ACME)',
    warmUp: 'warm-up runs',
    hosts: 'host starts and resets',
    crossChecks: 'cross-checks',
    roundTrips: 'round-trip count',
    teardown: 'teardown',
  };
  const other = (Object.entries(res.spentS) as [keyof Results['spentS'], number][]).map(([k, v]) => `${names[k] ?? k} ${min(v)}`);
  L.push('', `Outside the timed runs: ${other.join(', ') || '–'}.${res.totalWallS !== undefined ? ` Whole run: ${min(res.totalWallS)}.` : ''}`, '');
  return L;
}
