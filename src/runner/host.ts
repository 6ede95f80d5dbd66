// Runs one host's work: connect, facts (one round trip), then per play the tasks in order and the
// notified handlers. Probes of all pending tasks go out in one batch; after a change the batch is
// re-read for the tasks that remain, so a plan never works from stale state (read-ahead.ts).

import { parseBool } from '../bools.js';
import { TaskError, UnreachableError } from '../errors.js';
import type { Connection, ConnectSpec } from '../connection/types.js';
import type { Facts } from '../facts/types.js';
import type { FactOptions } from '../facts/fact.js';
import { checkParams, secretParamNames, secretValues } from '../playbook/params.js';
import type { TaskEntry } from '../playbook/load.js';
import { maskFieldPair, type Secrets } from '../secrets.js';
import type { ApplyContext, Change, FileDiff, Plan, Probe, ProbeResult, Share, SharedLookup, TaskDef } from '../task.js';
import { describeStep, runStep } from './steps.js';
import { LazyVars, type Templates } from '../template.js';
import { magicVars, type HostPlay, type HostWork } from './prepare.js';
import { emptyCounts, type HostReport, type RunEvents, type TaskResult } from './types.js';
import { readAhead, readProbes, type Pending, type PlayRun } from './read-ahead.js';
import type { Coordinator } from './coord.js';

export interface HostDeps {
  connect(spec: ConnectSpec): Promise<Connection>;
  gatherFacts(conn: Connection, opts?: FactOptions): Promise<Facts>;
  runProbes(conn: Connection, probes: Probe[]): Promise<ProbeResult[]>;
  registry: Record<string, TaskDef>;
  templates: Templates;
  secrets: Secrets;
  events: RunEvents;
  /** What hosts wait for from each other (serial, run_once); without it each host runs alone. */
  coord?: Coordinator;
  /** The `hostvars` magic variable (every host's name and address), the same for all hosts. */
  hostvars?: Record<string, unknown>;
}

export interface HostRunOptions {
  check: boolean;
  forceHandlers?: boolean;
}

export async function runHost(work: HostWork, spec: ConnectSpec, opts: HostRunOptions, deps: HostDeps): Promise<HostReport> {
  const t0 = Date.now();
  const report: HostReport = { host: work.host, unreachable: false, tasks: [], counts: emptyCounts(), commands: 0, durationMs: 0 };
  const { events, secrets } = deps;
  const log = (level: number, line: string) => events.log?.(work.host, level, secrets.mask(line));
  events.hostStart?.(work.host);
  let conn: Connection | undefined;
  try {
    conn = await deps.connect(spec);
    log(1, `connected to ${spec.user}@${spec.address}:${spec.port}${spec.become ? ' (become)' : ''}`);
    // allow_untested_os (-e or inventory, as any var; "true" from -e k=v counts).
    const allow = work.plays.some((p) => parseBool(p.vars.allow_untested_os) === true);
    const facts = await deps.gatherFacts(conn, { allowUntestedOs: allow });
    if (facts.warnings?.length) report.warnings = facts.warnings.map((w) => secrets.mask(w));
    log(2, `facts: ${facts.os_pretty}, ${facts.pkg_mgr}, nginx user ${facts.nginx_user}, layout ${facts.nginx_layout}, systemd ${facts.systemd}`);
    const runner = new HostRunner(work.host, conn, facts, opts, deps, report, log);
    await runner.run(work.plays);
  } catch (e) {
    if (e instanceof UnreachableError) {
      report.unreachable = true;
      report.counts.unreachable = 1;
      report.error = secrets.mask(e.message);
    } else {
      report.error = secrets.mask((e as Error).message ?? String(e));
      report.counts.failed += 1;
    }
  } finally {
    report.commands = conn?.commandCount ?? 0;
    deps.coord?.hostGone(work.host);
    await conn?.close().catch(() => undefined);
  }
  report.durationMs = Date.now() - t0;
  events.hostEnd?.(report);
  return report;
}

class HostRunner {
  /** Every task of every play, in order: one probe batch serves them all until something changes. */
  private queue: Pending[] = [];
  /** The run_once task this host is running for its partition: its result goes to the others. */
  private publishing?: { play: PlayRun; task: number };

  constructor(
    private readonly host: string,
    private readonly conn: Connection,
    private readonly facts: Facts,
    private readonly opts: HostRunOptions,
    private readonly deps: HostDeps,
    private readonly report: HostReport,
    private readonly log: (level: number, line: string) => void,
  ) {}

  async run(plays: HostPlay[]): Promise<void> {
    const planned = new Map();
    const runs = plays.map((hp): PlayRun => {
      const lazy = new LazyVars(this.deps.templates, hp.vars, magicVars(this.host, this.facts, this.opts.check, this.deps.hostvars));
      const r: PlayRun = { index: hp.playIndex, hp, lazy, state: { rollback: new Map(), changedGroups: new Set(), planned }, notified: new Set(), tasks: [] };
      r.tasks = this.prepare(hp.tasks, r, false);
      return r;
    });
    this.queue = runs.flatMap((r) => r.tasks);
    const coord = this.deps.coord;
    for (const r of runs) {
      if (coord) {
        const gate = await coord.enterPlay(r.index, this.host, r.hp.coord, r.hp.play.partition !== undefined);
        if (!gate.go) {
          this.record({
            host: this.host,
            play: r.hp.play.name,
            task: '(serial batch)',
            module: 'serial',
            handler: false,
            status: 'skipped',
            durationMs: 0,
            msg: gate.reason,
          });
          this.report.error = gate.reason;
          return;
        }
        // Other hosts ran while this one waited and may have changed what it reads (a shared bucket).
        if (gate.waited) for (const q of this.queue) if (!q.done) q.fresh = false;
      }
      const ok = await this.playTasks(r);
      coord?.leavePlay(r.index, this.host, r.hp.coord, ok);
      if (!ok) return;
    }
  }

  /** A play's tasks, then its notified handlers; false when something failed. */
  private async playTasks(r: PlayRun): Promise<boolean> {
    const ok = await this.execute(r, r.tasks);
    if (!ok && !this.opts.forceHandlers) return false;
    // Handlers: once each, in definition order, only if notified (by name or listen topic).
    const notified = r.hp.play.handlers.filter((h) => r.notified.has(h.name) || h.listen.some((l) => r.notified.has(l)));
    if (notified.length && !(await this.execute(r, this.prepare(notified, r, true)))) return false;
    return ok;
  }

  /** run_once on another host of the partition: its result, recorded here too. False when it failed. */
  private follow(run: PlayRun, p: Pending, owner: TaskResult): boolean {
    p.done = true;
    this.record({
      ...owner,
      host: this.host,
      handler: false,
      durationMs: 0,
      ranOn: owner.host,
      msg: `ran on ${owner.host}${owner.msg ? `: ${owner.msg}` : ''}`,
    });
    if (owner.status === 'changed') for (const n of p.entry.notify) run.notified.add(n);
    return owner.status !== 'failed' || owner.ignored === true;
  }

  /** Decide `when` and render params; failures become task failures when the task is reached. */
  private prepare(entries: TaskEntry[], play: PlayRun, handler: boolean): Pending[] {
    const { templates, secrets } = this.deps;
    const { lazy } = play;
    return entries.map((entry) => {
      const p: Pending = { entry, def: this.deps.registry[entry.module], params: undefined, handler, fresh: false, play };
      try {
        const skip = entry.when.find((c) => !templates.evaluate(c, lazy.context()));
        if (skip !== undefined) return { ...p, skip: `condition is false: ${skip}` };
        const params = templates.renderValue(entry.params, lazy.context());
        for (const s of secretValues(p.def.schema, params)) secrets.add(s);
        const problems = checkParams(p.def, params).map((x) => x.message);
        if (problems.length === 0) problems.push(...(p.def.validate?.(params) ?? []).map((x) => (x.param ? `${x.param}: ` : '') + x.message));
        if (problems.length) throw new TaskError(problems.join('; '));
        return { ...p, params };
      } catch (e) {
        return { ...p, error: (e as Error).message };
      }
    });
  }

  private record(r: TaskResult): void {
    this.report.tasks.push(r);
    if (this.publishing && !r.ranOn) {
      const { play, task } = this.publishing;
      this.publishing = undefined;
      this.deps.coord?.publishOnce(play.index, task, play.hp.coord, r);
    }
    const c = this.report.counts;
    if (r.status === 'ok' || r.status === 'changed') c.ok++;
    if (r.status === 'changed') c.changed++;
    if (r.status === 'skipped') c.skipped++;
    if (r.status === 'failed') r.ignored ? c.ignored++ : c.failed++;
    this.deps.events.taskEnd?.(r);
  }

  private result(run: PlayRun, p: Pending, status: TaskResult['status'], t0: number, extra: Partial<TaskResult> = {}): TaskResult {
    return {
      host: this.host,
      play: run.hp.play.name,
      task: p.entry.name,
      module: p.entry.module,
      handler: p.handler,
      status,
      durationMs: Date.now() - t0,
      ...extra,
      msg: extra.msg === undefined ? undefined : this.deps.secrets.mask(extra.msg),
    };
  }

  /** Returns false when a task failed (and was not ignored). */
  private async execute(run: PlayRun, list: Pending[]): Promise<boolean> {
    const { templates, secrets, events } = this.deps;
    for (const p of list) {
      const t0 = Date.now();
      if (p.entry.runOnce && !p.handler && this.deps.coord && p.skip) {
        this.deps.coord.declineOnce(run.index, p.entry.id, this.host, run.hp.coord);
        // --limit left out the partition's other hosts: one of them does it for the instance.
        const c = run.hp.coord;
        const left = (c.everyone ?? []).filter((h) => !c.members.includes(h));
        if (left.length) p.skip += `; it runs once for the partition (${c.group}), on a host whose condition holds, and --limit left out ${left.join(', ')}`;
      } else if (p.entry.runOnce && !p.handler && this.deps.coord) {
        const role = await this.deps.coord.runOnce(run.index, p.entry.id, this.host, run.hp.coord);
        if (!role.owner) {
          if (!this.follow(run, p, role.result)) return false;
          continue;
        }
        this.publishing = { play: run, task: p.entry.id };
      }
      p.done = true;
      if (p.skip) {
        this.record(this.result(run, p, 'skipped', t0, { msg: p.skip }));
        continue;
      }
      if (p.error) {
        this.record(this.result(run, p, 'failed', t0, { msg: p.error, ignored: p.entry.ignoreErrors }));
        if (p.entry.ignoreErrors) continue;
        return false;
      }
      events.taskStart?.(this.host, p.entry.name, p.handler);
      try {
        if (!p.fresh) {
          const pending = p.handler ? list.filter((q) => !q.done || q === p) : this.queue.filter((q) => !q.done || q === p);
          const todo = readAhead(pending, this.host, this.deps.coord !== undefined, (q) => this.planContext(q.play));
          await readProbes(todo, this.facts, (probes) => this.deps.runProbes(this.conn, probes), this.log);
        }
        const ctx = this.planContext(run);
        const plan: Plan = p.def.plan(ctx, p.params, p.results!);
        // Masked at once: values found in secret fields are then masked in everything that follows.
        const diffs = plan.action === 'change' ? maskDiffs(plan.diffs, secrets, p.def) : undefined;
        if (plan.action === 'ok' || plan.action === 'skip') {
          if (plan.action === 'ok') this.share(run, plan.share);
          this.record(
            this.result(run, p, plan.action === 'ok' ? 'ok' : 'skipped', t0, { msg: plan.msg, totals: plan.action === 'ok' ? plan.totals : undefined }),
          );
          continue;
        }
        const steps = plan.steps?.map(describeStep);
        if (this.opts.check) {
          // What the run would hand over is not there yet: the others learn that it would be.
          if (plan.share) this.share(run, { key: plan.share.key });
          for (const st of steps ?? []) this.log(2, `${p.entry.name}: would run: ${st}`);
          if (plan.action === 'change') {
            const group = rollbackGroup(p);
            for (const d of plan.diffs ?? []) run.state.planned.set(d.path, { content: d.after, group });
            for (const l of plan.links ?? []) run.state.planned.set(l.path, { link: l.target, group });
            for (const d of plan.dirs ?? []) run.state.planned.set(d, { dir: true, group });
            this.record(this.result(run, p, 'changed', t0, { msg: plan.summary, diffs, steps, totals: plan.totals }));
            for (const n of p.entry.notify) run.notified.add(n);
          } else if (p.def.verify) {
            const v = await p.def.verify(this.applyContext(ctx, p), p.params, plan as Change);
            this.record(this.result(run, p, v.status ?? 'ok', t0, { msg: v.msg }));
          } else {
            this.record(this.result(run, p, 'skipped', t0, { msg: `would run: ${plan.summary}`, steps, totals: plan.totals }));
          }
          continue;
        }
        this.log(1, `${p.entry.name}: ${plan.action === 'change' ? plan.summary : 'run ' + plan.summary}`);
        const out = await p.def.apply(this.applyContext(ctx, p), p.params, plan as Change);
        this.share(run, out.share);
        if (out.changed) {
          for (const n of p.entry.notify) run.notified.add(n);
          // Later tasks may read what this one changed: their probes are read again.
          for (const q of [...this.queue, ...list]) if (!q.done) q.fresh = false;
        }
        this.record(
          this.result(run, p, out.changed ? 'changed' : 'ok', t0, {
            msg: out.msg ?? (plan.action === 'change' ? plan.summary : undefined),
            diffs: out.changed ? diffs : undefined,
            steps,
            totals: out.totals ?? plan.totals,
          }),
        );
      } catch (e) {
        if (e instanceof UnreachableError) throw e;
        const err = e as TaskError;
        if (err.rolledBack) this.rolledBack(err.rolledBack, run);
        const msg = err.detail ? `${err.message}\n${err.detail}` : (err.message ?? String(e));
        this.record(this.result(run, p, 'failed', t0, { msg, ignored: p.entry.ignoreErrors }));
        if (!p.entry.ignoreErrors) return false;
      }
    }
    return true;
  }

  /**
   * The files of a rollback group were put back: the tasks that changed them did not, in the end,
   * change anything. Their results say so, and the recap counts them as not changed.
   */
  private rolledBack(group: string, run: PlayRun): void {
    const names = new Set(run.tasks.filter((q) => rollbackGroup(q) === group).map((q) => q.entry.name));
    for (const r of this.report.tasks) {
      if (r.play !== run.hp.play.name || r.status !== 'changed' || !names.has(r.task)) continue;
      r.status = 'ok';
      r.rolledBack = true;
      r.msg = `${r.msg ? r.msg + '; ' : ''}rolled back: a later validation failed and put the file back`;
      this.report.counts.changed--;
    }
  }

  /** Hand a task's share to the partition; its values are masked in all output from now on. */
  private share(run: PlayRun, share: Share | undefined): void {
    if (!share) return;
    // Each line too (a PEM key's lines could show up one by one in an error).
    for (const v of Object.values(share.values ?? {})) for (const x of [v, ...v.split('\n').filter((l) => l.trim().length >= 16)]) this.deps.secrets.add(x);
    this.deps.coord?.publish(run.hp.coord, this.host, share);
  }

  private applyContext(ctx: ReturnType<HostRunner['planContext']>, p: Pending): ApplyContext {
    const log = (m: string) => this.log(2, `${p.entry.name}: ${m}`);
    const progress = (m: string) => this.deps.events.progress?.(this.host, this.deps.secrets.mask(`${p.entry.name}: ${m}`));
    return { ...ctx, conn: this.conn, log, progress, run: (s) => runStep(this.conn, s, log) };
  }

  private planContext(run: PlayRun) {
    const { templates } = this.deps;
    const { check } = this.opts;
    return {
      host: this.host,
      facts: this.facts,
      check,
      state: run.state,
      renderTemplate: (name: string) => templates.renderFile(name, run.lazy.context()),
      willWrite: (path: string) => check && run.state.planned.has(path),
      shared: (host: string, key: string): SharedLookup =>
        this.deps.coord ? this.deps.coord.lookup(run.hp.coord, host, key) : { missing: `nothing is shared between hosts in this run` },
    };
  }
}

/** The rollback group a file-writing task belongs to (its `rollback_group` param), if any. */
function rollbackGroup(p: Pending): string | undefined {
  return (p.params as { rollback_group?: string } | undefined)?.rollback_group;
}

/**
 * Both sides of every diff masked by field (whatever the value: an old key after a rotation is not
 * one we know) and by value. Values found in secret fields are masked in all later output too.
 */
function maskDiffs(diffs: FileDiff[] | undefined, secrets: Secrets, def: TaskDef) {
  return diffs?.map((d) => {
    const f = maskFieldPair(d.before, d.after, secretParamNames(def.schema));
    for (const v of f.found) secrets.addFound(v);
    return { path: d.path, before: secrets.mask(f.before), after: secrets.mask(f.after) };
  });
}
