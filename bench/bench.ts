// `npm run bench [-- --quick] [-- --json] [-- --sizes 1,3] [-- --reps 3]`: mskplay's `site` against
// its Ansible twin (bench/ansible/) on the same world hosts. For each N: three converge blocks per
// tool, the tools alternating (ours, Ansible / Ansible, ours / ours, Ansible); a block is pristine
// hosts -> converge -> no-op run -> no-op --check, timed from process start to exit. Then round
// trips of one no-op check, start-up time, the table (stdout, bench/results.md) and the targets.
// See bench/README.md.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getSandbox, type Sandbox } from '../test/world/sandbox.js';
import { stopAll, type HostInfo } from '../test/world/world.js';
import { MAX_HOSTS, resetBenchHosts, startBenchHosts, writeBenchInventory } from './hosts.js';
import { describeMachine, median } from './measure.js';
import { countRoundTrips } from './roundtrips.js';
import { summarizeRun, toMarkdown, targets, medianRun, PHASES, type OurTaskTimes, type Results } from './report.js';
import {
  ROOT,
  TOOL_NAME,
  closeMasters,
  controlDir,
  ensureAnsible,
  runProblem,
  runTool,
  total,
  type OurHost,
  type Phase,
  type RunResult,
  type RunSpec,
  type Tool,
} from './tools.js';

const FULL_SIZES = [1, 3, 10, 30];
const t0 = Date.now();
const clock = () => {
  const sec = Math.round((Date.now() - t0) / 1000);
  return `${String(Math.floor(sec / 60)).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}`;
};
const say = (m: string) => console.log(`[${clock()}] ${m}`);

function options() {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, json: { type: 'boolean' }, sizes: { type: 'string' }, reps: { type: 'string' }, resume: { type: 'string' } },
    strict: true,
  });
  const sizes = values.sizes ? values.sizes.split(',').map(Number) : values.quick ? [1, 3] : FULL_SIZES;
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_HOSTS)) throw new Error(`--sizes: whole numbers from 1 to ${MAX_HOSTS}`);
  const reps = Number(values.reps ?? 3);
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps: a whole number >= 1');
  return { sizes, reps, json: values.json ?? false, full: sizes.join() === FULL_SIZES.join() && reps >= 3, resume: values.resume };
}

/** The code under test: commit and whether the runner's files differ from it. */
function codeVersion(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const head = git(['rev-parse', '--short', 'HEAD']) || 'unknown';
  return git(['status', '--porcelain', '--', 'src', 'tasks', 'playbooks', 'templates', 'bin']) ? `${head}+local changes` : head;
}

/** Median of several start-ups of a command, in ms. */
function startup(argv: string[], runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

function ourTaskTimes(r: RunResult): OurTaskTimes | null {
  if (!r.report || !fs.existsSync(r.report)) return null;
  const hosts = Object.values(JSON.parse(fs.readFileSync(r.report, 'utf8')).hosts as Record<string, OurHost>);
  const byTask = new Map<string, number[]>();
  for (const h of hosts) for (const t of h.tasks) byTask.set(t.task, [...(byTask.get(t.task) ?? []), t.durationMs]);
  const tasks = [...byTask].map(([task, xs]) => ({ task, ms: median(xs) })).sort((a, b) => b.ms - a.ms);
  return { hosts: r.hosts, phase: r.phase, hostMs: median(hosts.map((h) => h.durationMs)), commands: median(hosts.map((h) => h.commands)), tasks };
}

class Bench {
  readonly logDir = path.join(ROOT, '.sandbox', 'bench', 'logs');
  res: Results;
  private sb!: Sandbox;

  constructor(
    private readonly opts: ReturnType<typeof options>,
    ansibleVersion: string,
  ) {
    this.res = {
      machine: describeMachine(ansibleVersion),
      sizes: opts.sizes,
      reps: opts.reps,
      startedAt: new Date().toISOString(),
      complete: false,
      startup: { oursMs: [], ansibleMs: [] },
      runs: [],
      crossChecks: [],
      ourTasks: [],
      anomalies: [],
      parts: [],
      spentS: {},
    };
    if (opts.resume) {
      // Go on with an interrupted run: keep its results, run the sizes it does not have yet.
      const prev = JSON.parse(fs.readFileSync(opts.resume, 'utf8')) as Results;
      const done = (n: number) =>
        PHASES.every((p) =>
          (['ours', 'ansible'] as Tool[]).every((t) => prev.runs.filter((r) => r.hosts === n && r.phase === p && r.tool === t).length >= opts.reps),
        );
      this.res = {
        ...prev,
        spentS: prev.spentS ?? {},
        parts: prev.parts ?? [{ startedAt: prev.startedAt, wallS: prev.totalWallS ?? 0, sizes: prev.sizes.filter(done), code: 'unknown' }],
        aborted: undefined,
        complete: false,
      };
      this.res.sizes = opts.sizes;
      this.todo = opts.sizes.filter((n) => !done(n));
      say(`resuming ${opts.resume}: sizes done ${opts.sizes.filter(done).join(',') || 'none'}; to run ${this.todo.join(',')}`);
    } else this.todo = opts.sizes;
    this.res.parts.push({ startedAt: new Date().toISOString(), wallS: 0, sizes: [], code: codeVersion() });
  }

  private todo: number[];

  /** Time outside the timed runs (world start, host starts and resets, cross-checks, ...). */
  private async spend<T>(what: keyof NonNullable<Results['spentS']>, fn: () => Promise<T> | T): Promise<T> {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      this.res.spentS[what] = (this.res.spentS[what] ?? 0) + (Date.now() - t) / 1000;
    }
  }

  async run(): Promise<void> {
    fs.rmSync(this.logDir, { recursive: true, force: true });
    fs.mkdirSync(controlDir(this.logDir), { recursive: true });
    // Start-up first, while the machine is idle.
    if (!this.res.startup.oursMs.length) {
      await this.spend('startup', () => {
        this.res.startup.oursMs = startup([process.execPath, path.join(ROOT, 'bin', 'play.js'), '--version'], 11);
        this.res.startup.ansibleMs = startup(['ansible-playbook', '--version'], 5);
      });
    }
    say(`start-up: mskplay ${median(this.res.startup.oursMs).toFixed(0)} ms, ansible-playbook ${median(this.res.startup.ansibleMs).toFixed(0)} ms`);
    say('starting the sandbox (world hosts network, S3, ACME)');
    this.sb = await this.spend('world', () => getSandbox((m) => say(`world: ${m}`)));
    for (const n of this.todo) {
      await this.size(n, n === this.opts.sizes[0]);
      this.res.parts.at(-1)!.sizes.push(n);
      this.write();
    }
    this.res.complete = true;
  }

  private async size(n: number, first: boolean): Promise<void> {
    say(`N=${n}: starting ${n} pristine host(s)`);
    closeMasters(controlDir(this.logDir));
    let hosts = await this.spend('hosts', () => startBenchHosts(this.sb, n));
    let fresh = true;
    if (first) {
      await this.spend('warmUp', () => this.warmUp(hosts));
      fresh = false;
    }
    let inv = '';
    for (let rep = 0; rep < this.opts.reps; rep++) {
      const order: Tool[] = rep % 2 === 0 ? ['ours', 'ansible'] : ['ansible', 'ours'];
      for (const tool of order) {
        if (!fresh) {
          closeMasters(controlDir(this.logDir));
          const t = Date.now();
          hosts = await this.spend('hosts', () => resetBenchHosts(this.sb, hosts));
          say(`N=${n}: ${n} host(s) reset in ${((Date.now() - t) / 1000).toFixed(1)} s`);
        }
        fresh = false;
        inv = writeBenchInventory(this.sb, hosts, this.logDir, `n${n}-r${rep + 1}-${tool}`);
        for (const phase of PHASES) await this.measure(tool, phase, inv, hosts, `n${n}-r${rep + 1}-${tool}-${phase}`);
        if (first && rep === 0)
          await this.spend('crossChecks', () => this.crossCheck(tool === 'ours' ? 'ansible' : 'ours', tool, inv, hosts, `n${n}-cross-${tool}`));
      }
    }
    for (const p of ['check', 'converge'] as Phase[]) {
      const r = medianRun(this.res, n, p, 'ours');
      const t = r && ourTaskTimes(r);
      if (t) this.res.ourTasks.push(t);
    }
    if (first) await this.spend('roundTrips', () => this.roundTrips(n, inv, hosts));
  }

  /** Round trips on converged hosts: the last block's converge, then our real run settles them. */
  private async roundTrips(n: number, inv: string, hosts: HostInfo[]): Promise<void> {
    say(`N=${n}: round trips of a no-op --check on ${hosts[0]!.name}`);
    await this.untimed('round trips: our settle run', {
      tool: 'ours',
      phase: 'noop',
      inventory: inv,
      hostNames: hosts.map((h) => h.name),
      logDir: this.logDir,
      tag: 'roundtrips-ours-settle',
    });
    const bucket = /s3_bucket: (\S+)/.exec(fs.readFileSync(inv, 'utf8'))![1]!;
    this.res.roundTrips = await countRoundTrips(this.sb, hosts[0]!.name, inv, this.logDir, bucket);
    const rt = this.res.roundTrips;
    say(`round trips: mskplay ${rt.ours.reported} (sshd: ${rt.ours.sshdSessions}), Ansible ${rt.ansible.vvvExec} (sshd: ${rt.ansible.sshdSessions})`);
  }

  private async measure(tool: Tool, phase: Phase, inventory: string, hosts: HostInfo[], tag: string): Promise<void> {
    const r = await runTool({ tool, phase, inventory, hostNames: hosts.map((h) => h.name), logDir: this.logDir, tag });
    say(summarizeRun(r));
    const problem = runProblem(r);
    if (problem) throw new Error(`${TOOL_NAME[tool]} ${phase} on ${hosts.length} host(s) failed: ${problem}`);
    const changed = total(r, 'changed');
    if (phase !== 'converge' && changed > 0) this.res.anomalies.push(`${tag}: ${changed} change(s) in a no-op ${phase}: ${r.changedTasks.join('; ')}`);
    if (phase === 'converge' && changed === 0) this.res.anomalies.push(`${tag}: the converge changed nothing (were the hosts pristine?)`);
    this.res.runs.push(r);
  }

  /** A run that is not measured but must work (warm-up, cross-check, settling). */
  private async untimed(what: string, spec: RunSpec): Promise<RunResult> {
    const r = await runTool(spec);
    const problem = runProblem(r);
    if (problem) throw new Error(`${what}: ${problem}`);
    return r;
  }

  /**
   * One untimed converge of each tool on the first host before anything is timed: the shared S3
   * service creates its first bucket and object far slower than later ones (seconds), and each
   * tool's files get into the page cache. Without it the first timed converge pays for both. h1 is
   * reset between the two (each run has its own bucket, and the Misskey guard rightly refuses to
   * move a drive to another one); after the second, the first block's reset of every host does it.
   */
  private async warmUp(hosts: HostInfo[]): Promise<void> {
    const one = [hosts[0]!];
    for (const [i, tool] of (['ours', 'ansible'] as Tool[]).entries()) {
      if (i > 0) await resetBenchHosts(this.sb, one);
      const inv = writeBenchInventory(this.sb, one, this.logDir, `warmup-${tool}`);
      await this.untimed(`warm-up (${TOOL_NAME[tool]})`, {
        tool,
        phase: 'converge',
        inventory: inv,
        hostNames: one.map((h) => h.name),
        logDir: this.logDir,
        tag: `warmup-${tool}`,
      });
    }
    say(`warm-up: one untimed converge of each tool on ${one[0]!.name}`);
  }

  /** A real no-op run of `by` on hosts `convergedBy` has just converged (not timed). */
  private async crossCheck(by: Tool, convergedBy: Tool, inventory: string, hosts: HostInfo[], tag: string): Promise<void> {
    const r = await this.untimed(`cross-check (${TOOL_NAME[by]} after ${TOOL_NAME[convergedBy]})`, {
      tool: by,
      phase: 'noop',
      inventory,
      hostNames: hosts.map((h) => h.name),
      logDir: this.logDir,
      tag,
    });
    this.res.crossChecks.push({ convergedBy, checkedBy: by, hosts: hosts.length, changed: total(r, 'changed'), changedTasks: r.changedTasks });
    say(`cross-check: ${TOOL_NAME[by]} after ${TOOL_NAME[convergedBy]}'s converge: changed=${total(r, 'changed')} ${r.changedTasks.join('; ')}`);
  }

  /** results.md (bench/ for a full run, .sandbox/bench/ otherwise) and, with --json, results.json. */
  write(): { md: string; file: string } {
    this.res.parts.at(-1)!.wallS = (Date.now() - t0) / 1000;
    this.res.totalWallS = this.res.parts.reduce((a, p) => a + p.wallS, 0);
    const md = toMarkdown(this.res);
    const dir = this.opts.full ? path.join(ROOT, 'bench') : path.join(ROOT, '.sandbox', 'bench');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'results.md');
    fs.writeFileSync(file, md + '\n');
    if (this.opts.json) fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(this.res, null, 2) + '\n');
    return { md, file };
  }

  async teardown(): Promise<void> {
    closeMasters(controlDir(this.logDir));
    const problems = await this.spend('teardown', () => stopAll());
    if (problems.length) console.error(`teardown problems: ${problems.join('; ')}`);
  }
}

async function main(): Promise<number> {
  const opts = options();
  const ansible = ensureAnsible(say);
  const bench = new Bench(opts, ansible);
  // The world stops itself on these signals; Ansible's ssh masters are ours to close.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => closeMasters(controlDir(bench.logDir)));
  let code = 0;
  try {
    await bench.run();
  } catch (e) {
    bench.res.aborted = (e as Error).message.split('\n')[0];
    console.error(`bench failed: ${(e as Error).stack ?? e}`);
    code = 1;
  } finally {
    say('stopping the sandbox');
    await bench.teardown();
  }
  const { md, file } = bench.write();
  console.log('\n' + md);
  console.log(`written: ${path.relative(process.cwd(), file)}${opts.json ? ' and results.json' : ''}`);
  const t = targets(bench.res);
  console.log(`targets met: ${t.filter((x) => x.met).length} of ${t.length}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    console.error(`bench failed: ${(e as Error)?.stack ?? e}`);
    await stopAll().catch(() => undefined);
    process.exit(1);
  },
);
