// Runs one host's work: connect, facts (one round trip), then per play the tasks in order and the
// notified handlers. Probes of all pending tasks go out in one batch; after a change the batch is
// re-read for the tasks that remain, so a plan never works from stale state.

import { TaskError, UnreachableError } from '../errors.js';
import type { Connection, ConnectSpec } from '../connection/types.js';
import type { Facts } from '../facts/types.js';
import { checkParams, secretValues } from '../playbook/params.js';
import type { TaskEntry } from '../playbook/load.js';
import type { Secrets } from '../secrets.js';
import type { ApplyContext, HostState, Plan, Probe, ProbeResult, TaskDef } from '../task.js';
import { LazyVars, type Templates } from '../template.js';
import { magicVars, type HostPlay, type HostWork } from './prepare.js';
import { emptyCounts, type HostReport, type RunEvents, type TaskResult } from './types.js';

export interface HostDeps {
  connect(spec: ConnectSpec): Promise<Connection>;
  gatherFacts(conn: Connection): Promise<Facts>;
  runProbes(conn: Connection, probes: Probe[]): Promise<ProbeResult[]>;
  registry: Record<string, TaskDef>;
  templates: Templates;
  secrets: Secrets;
  events: RunEvents;
}

export interface HostRunOptions {
  check: boolean;
  forceHandlers?: boolean;
}

interface Pending {
  entry: TaskEntry;
  def: TaskDef;
  params: unknown;
  handler: boolean;
  /** null = probes must be (re)read before planning. */
  results: ProbeResult[] | null;
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
    const facts = await deps.gatherFacts(conn);
    log(2, `facts: ${facts.os_pretty}, ${facts.pkg_mgr}, nginx user ${facts.nginx_user}, layout ${facts.nginx_layout}, systemd ${facts.systemd}`);
    for (const hp of work.plays) {
      const ok = await runPlay(hp, conn, facts, work.host, opts, deps, report, log);
      if (!ok) break;
    }
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
    await conn?.close().catch(() => undefined);
  }
  report.durationMs = Date.now() - t0;
  events.hostEnd?.(report);
  return report;
}

/** Returns false when the host failed (later plays do not run on it). */
async function runPlay(
  hp: HostPlay,
  conn: Connection,
  facts: Facts,
  host: string,
  opts: HostRunOptions,
  deps: HostDeps,
  report: HostReport,
  log: (level: number, line: string) => void,
): Promise<boolean> {
  const { templates, secrets, events } = deps;
  const lazy = new LazyVars(templates, hp.vars, magicVars(host, facts, opts.check));
  const state: HostState = { rollback: new Map(), changedGroups: new Set() };
  const notified = new Set<string>();
  const record = (r: TaskResult) => {
    report.tasks.push(r);
    const c = report.counts;
    if (r.status === 'ok' || r.status === 'changed') c.ok++;
    if (r.status === 'changed') c.changed++;
    if (r.status === 'skipped') c.skipped++;
    if (r.status === 'failed') r.ignored ? c.ignored++ : c.failed++;
    events.taskEnd?.(r);
  };
  const result = (p: Pending, status: TaskResult['status'], t0: number, extra: Partial<TaskResult> = {}): TaskResult => ({
    host,
    play: hp.play.name,
    task: p.entry.name,
    module: p.entry.module,
    handler: p.handler,
    status,
    durationMs: Date.now() - t0,
    ...extra,
    msg: extra.msg === undefined ? undefined : secrets.mask(extra.msg),
  });

  const runList = async (entries: TaskEntry[], handler: boolean): Promise<boolean> => {
    // Decide `when` and render params first; failures here are task failures on this host.
    const pending: Pending[] = [];
    for (const entry of entries) {
      const t0 = Date.now();
      const def = deps.registry[entry.module];
      const stub: Pending = { entry, def, params: undefined, handler, results: null };
      try {
        const skip = entry.when.find((c) => !templates.evaluate(c, lazy.context()));
        if (skip !== undefined) {
          record(result(stub, 'skipped', t0, { msg: `condition is false: ${skip}` }));
          continue;
        }
        const params = templates.renderValue(entry.params, lazy.context());
        for (const s of secretValues(def.schema, params)) secrets.add(s);
        const problems = checkParams(def, params).map((p) => p.message);
        if (problems.length === 0) problems.push(...(def.validate?.(params) ?? []).map((p) => (p.param ? `${p.param}: ` : '') + p.message));
        if (problems.length) throw new TaskError(problems.join('; '));
        pending.push({ ...stub, params });
      } catch (e) {
        record(result(stub, 'failed', t0, { msg: (e as Error).message, ignored: entry.ignoreErrors }));
        if (!entry.ignoreErrors) return false;
      }
    }
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i];
      const t0 = Date.now();
      events.taskStart?.(host, p.entry.name, handler);
      try {
        if (!p.results) await probeBatch(pending.slice(i), conn, facts, deps, log);
        const ctx = { host, facts, check: opts.check, state, renderTemplate: (name: string) => templates.renderFile(name, lazy.context()) };
        const plan: Plan = p.def.plan(ctx, p.params, p.results!);
        const diffs = plan.action === 'change' ? plan.diffs : undefined;
        if (plan.action === 'ok' || plan.action === 'skip') {
          record(result(p, plan.action === 'ok' ? 'ok' : 'skipped', t0, { msg: plan.msg }));
          continue;
        }
        if (opts.check) {
          if (plan.action === 'change') {
            record(result(p, 'changed', t0, { msg: plan.summary, diffs: maskDiffs(diffs, secrets) }));
            for (const n of p.entry.notify) notified.add(n);
          } else {
            record(result(p, 'skipped', t0, { msg: `would run: ${plan.summary}` }));
          }
          continue;
        }
        const actx: ApplyContext = { ...ctx, conn, log: (m) => log(2, `${p.entry.name}: ${m}`) };
        log(1, `${p.entry.name}: ${plan.action === 'change' ? plan.summary : 'run ' + plan.summary}`);
        const out = await p.def.apply(actx, p.params, plan);
        if (out.changed) {
          for (const n of p.entry.notify) notified.add(n);
          // Later tasks may read what this one changed: re-read their probes.
          for (const q of pending.slice(i + 1)) q.results = null;
        }
        record(result(p, out.changed ? 'changed' : 'ok', t0, { msg: out.msg ?? (plan.action === 'change' ? plan.summary : undefined), diffs: out.changed ? maskDiffs(diffs, secrets) : undefined }));
      } catch (e) {
        if (e instanceof UnreachableError) throw e;
        const err = e as TaskError;
        const msg = err.detail ? `${err.message}\n${err.detail}` : err.message ?? String(e);
        record(result(p, 'failed', t0, { msg, ignored: p.entry.ignoreErrors }));
        if (!p.entry.ignoreErrors) return false;
      }
    }
    return true;
  };

  const tasksOk = await runList(hp.tasks, false);
  if (!tasksOk && !opts.forceHandlers) return false;
  // Handlers: once each, in definition order, only if notified (by name or listen topic).
  const handlers = hp.play.handlers.filter((h) => notified.has(h.name) || h.listen.some((l) => notified.has(l)));
  if (handlers.length) {
    const handlersOk = await runList(handlers, true);
    if (!handlersOk) return false;
  }
  return tasksOk;
}

async function probeBatch(pending: Pending[], conn: Connection, facts: Facts, deps: HostDeps, log: (l: number, s: string) => void): Promise<void> {
  const all: Probe[] = [];
  const slices: [Pending, number, number][] = [];
  for (const p of pending) {
    const probes = p.def.probes(p.params, facts);
    slices.push([p, all.length, all.length + probes.length]);
    all.push(...probes);
  }
  log(3, `probing ${all.length} item(s) for ${pending.length} task(s) in one round trip`);
  const results = all.length ? await deps.runProbes(conn, all) : [];
  for (const [p, a, b] of slices) p.results = results.slice(a, b);
}

function maskDiffs(diffs: { path: string; before: string; after: string }[] | undefined, secrets: Secrets) {
  return diffs?.map((d) => ({ path: d.path, before: secrets.mask(d.before), after: secrets.mask(d.after) }));
}
