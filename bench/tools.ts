// The two tools under test, run the same way: one process per run, output to a log file, timed;
// then what each reported per host (our --json report, Ansible's PLAY RECAP).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { siteEnv } from '../test/world/sandbox.js';
import { hostsCpuS, machineBusyS, timed } from './measure.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ANSIBLE_DIR = path.join(ROOT, 'bench', 'ansible');

export type Tool = 'ours' | 'ansible';
export type Phase = 'converge' | 'noop' | 'check';
export const TOOL_NAME: Record<Tool, string> = { ours: 'mskplay', ansible: 'Ansible' };

export interface HostCounts {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
}

export interface RunResult {
  tool: Tool;
  phase: Phase;
  hosts: number;
  code: number;
  wallS: number;
  /** CPU seconds of the tool's own processes on this machine (ssh clients included). */
  toolCpuS: number;
  /** CPU seconds spent inside the world hosts during the run (sshd, modules, commands). */
  hostsCpuS: number;
  /** Busy CPU seconds of the whole machine during the run (both cores). */
  machineCpuS: number;
  counts: Record<string, HostCounts>;
  /** Names of the tasks (and handlers) that reported changed on any host. */
  changedTasks: string[];
  log: string;
  /** Our --json report (ours only). */
  report?: string;
}

export interface RunSpec {
  tool: Tool;
  phase: Phase;
  inventory: string;
  hostNames: string[];
  /** Files of this run go to <logDir>/<tag>.* */
  logDir: string;
  tag: string;
  extraArgs?: string[];
}

const baseEnv = (): NodeJS.ProcessEnv => ({ ...process.env, ...siteEnv(), CI: 'true', NO_COLOR: '1' });

export function ansibleEnv(controlDir: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, 'ansible.cfg'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_NOCOLOR: '1',
  };
}

export function controlDir(logDir: string): string {
  return path.join(logDir, 'cp');
}

export async function runTool(spec: RunSpec): Promise<RunResult> {
  const log = path.join(spec.logDir, `${spec.tag}.log`);
  const check = spec.phase === 'check' ? ['--check'] : [];
  let argv: string[];
  let env: NodeJS.ProcessEnv;
  let report: string | undefined;
  if (spec.tool === 'ours') {
    report = path.join(spec.logDir, `${spec.tag}.json`);
    // The Misskey upload smoke test has no twin in bench/ansible/site.yml yet: left out, so both
    // tools do the same work.
    argv = [
      process.execPath,
      path.join(ROOT, 'bin', 'play.js'),
      'site',
      '-i',
      spec.inventory,
      ...check,
      '--skip-tags',
      'misskey_smoke',
      '--json',
      report,
      ...(spec.extraArgs ?? []),
    ];
    env = baseEnv();
  } else {
    argv = ['ansible-playbook', '-i', spec.inventory, path.join(ANSIBLE_DIR, 'site.yml'), ...check, ...(spec.extraArgs ?? [])];
    env = ansibleEnv(controlDir(spec.logDir));
  }
  const h0 = hostsCpuS(spec.hostNames);
  const m0 = machineBusyS();
  const t = await timed(argv, { env, cwd: spec.tool === 'ours' ? ROOT : ANSIBLE_DIR, log });
  const res: RunResult = {
    tool: spec.tool,
    phase: spec.phase,
    hosts: spec.hostNames.length,
    code: t.code,
    wallS: t.wallS,
    toolCpuS: t.cpuS,
    hostsCpuS: hostsCpuS(spec.hostNames) - h0,
    machineCpuS: machineBusyS() - m0,
    counts: {},
    changedTasks: [],
    log,
    report,
  };
  if (spec.tool === 'ours') readOurReport(res);
  else readAnsibleOutput(res);
  return res;
}

function readOurReport(res: RunResult): void {
  if (!res.report || !fs.existsSync(res.report)) return;
  const j = JSON.parse(fs.readFileSync(res.report, 'utf8')) as { hosts: Record<string, OurHost> };
  const changed = new Set<string>();
  for (const [h, r] of Object.entries(j.hosts)) {
    res.counts[h] = { ok: r.counts.ok, changed: r.counts.changed, failed: r.counts.failed, unreachable: r.counts.unreachable, skipped: r.counts.skipped };
    for (const t of r.tasks) if (t.changed) changed.add(t.task + (t.handler ? ' (handler)' : ''));
  }
  res.changedTasks = [...changed];
}

export interface OurHost {
  counts: HostCounts;
  commands: number;
  durationMs: number;
  tasks: { task: string; handler: boolean; status: string; changed: boolean; durationMs: number; msg: string | null }[];
}

/** PLAY RECAP counts and, from the task headers, which tasks said "changed". */
function readAnsibleOutput(res: RunResult): void {
  Object.assign(res, parseAnsibleOutput(fs.readFileSync(res.log, 'utf8')));
}

/** ansible-playbook's default output -> per-host recap counts and the tasks that changed something. */
export function parseAnsibleOutput(text: string): Pick<RunResult, 'counts' | 'changedTasks'> {
  const counts: Record<string, HostCounts> = {};
  const changed = new Set<string>();
  let task = '';
  for (const line of text.split('\n')) {
    const head = /^(TASK|RUNNING HANDLER) \[(.*)\] \*+$/.exec(line);
    if (head) task = head[2] + (head[1] === 'RUNNING HANDLER' ? ' (handler)' : '');
    if (/^changed: \[/.test(line)) changed.add(task);
    const recap = /^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)/.exec(line);
    if (recap) {
      const [, h, ok, ch, un, fa, sk] = recap;
      counts[h!] = { ok: +ok!, changed: +ch!, unreachable: +un!, failed: +fa!, skipped: +sk! };
    }
  }
  return { counts, changedTasks: [...changed] };
}

export const total = (r: RunResult, k: keyof HostCounts) => Object.values(r.counts).reduce((a, c) => a + c[k], 0);

/** A run is usable when every host answered, nothing failed and the tool exited cleanly. */
export function runProblem(r: RunResult): string | null {
  const missing = r.hosts - Object.keys(r.counts).length;
  if (missing > 0) return `${missing} host(s) missing from the report (exit ${r.code}); see ${r.log}`;
  if (total(r, 'failed') || total(r, 'unreachable')) return `failed=${total(r, 'failed')} unreachable=${total(r, 'unreachable')}; see ${r.log}`;
  // Our --check exits 3 on drift; that is a finding, not a broken run.
  if (r.code !== 0 && !(r.tool === 'ours' && r.phase === 'check' && r.code === 3)) return `exit ${r.code}; see ${r.log}`;
  return null;
}

/** Close Ansible's ControlPersist masters (before hosts are reset: a master to a dead host hangs). */
export function closeMasters(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const s of fs.readdirSync(dir)) {
    spawnSync('ssh', ['-O', 'exit', '-o', `ControlPath=${path.join(dir, s)}`, 'bench-master'], { stdio: 'ignore', timeout: 10_000 });
  }
}

/** Debian's ansible-core, installed with apt-get when ansible-playbook is missing. Returns its version line. */
export function ensureAnsible(log: (m: string) => void): string {
  const version = () => spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  let v = version();
  if (v.error || v.status !== 0) {
    log('ansible-playbook is missing: apt-get install ansible-core');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'ansible-core'], { stdio: 'inherit', env });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
      if (install().status !== 0) throw new Error('apt-get install ansible-core failed');
    }
    v = version();
    if (v.error || v.status !== 0) throw new Error('ansible-playbook still does not run after installing ansible-core');
  }
  return v.stdout.split('\n')[0]!.trim();
}
