// The task contract. A task is one file in tasks/: params schema + probes + plan (pure) + apply.
//
// Flow per host and task:  probes(params, facts) -> the runner reads them (batched with the other
// tasks' probes into one round trip) -> plan(ctx, results) decides -> (check mode stops) -> apply.
// plan is pure (no I/O), so fixture tests can feed it facts + probe results and assert the outcome.

import type { Connection, ExecResult } from './connection/types.js';
import type { Facts } from './facts/types.js';
import type { ParamSpec } from './params-spec.js';

/** A read-only question to a host. */
export type Probe =
  | { kind: 'file'; path: string; /** include content up to this many bytes (default 1 MiB) */ maxBytes?: number }
  | {
      kind: 'cmd';
      cmd: string;
      /** fed to the command's stdin (the batch carries it as data, never in the command line), the place for secrets */ stdin?: string;
    };

export interface FileState {
  kind: 'file';
  exists: boolean;
  type?: 'file' | 'dir' | 'link' | 'other';
  /** Octal string like "0644". */
  mode?: string;
  owner?: string;
  group?: string;
  /** UTF-8 content for regular files up to maxBytes; undefined if larger or not a file. */
  content?: string;
  size?: number;
  linkTarget?: string;
}

export interface CmdState {
  kind: 'cmd';
  code: number;
  stdout: string;
  stderr: string;
}

export type ProbeResult = FileState | CmdState;

/** A file diff for --diff / --json (masked by the UI, never by tasks). */
export interface FileDiff {
  path: string;
  before: string;
  after: string;
}

/**
 * What plan decided.
 *  - ok:     nothing to do.
 *  - change: apply would change the host; `summary` says what, `diffs` show it.
 *  - run:    the task cannot know without acting (a command, a smoke test): in check mode it is
 *            reported as skipped ("would run"); in a run, apply decides whether it changed.
 *  - skip:   not applicable on this host (with a reason).
 */
/** Counts a task reports for --json (e.g. objects and bytes left or copied): numbers only, never secrets. */
export type Totals = Record<string, number>;

/**
 * What a task hands to the other hosts of its play's partition (an instance's certificate from the
 * proxy host that obtained it): kept in memory by the runner, never in a result, a log or --json,
 * and every value is masked in output. `values` absent: check mode, the run would produce them.
 * A later play of the same partition reads it with `ctx.shared(host, key)`.
 */
export interface Share {
  key: string;
  values?: Record<string, string>;
}

/** What `ctx.shared` finds: the values, a run that would make them (check mode), or why there are none. */
export type SharedLookup = { values: Record<string, string> } | { pending: true } | { missing: string };

export type Plan<D = unknown> =
  | { action: 'ok'; msg?: string; totals?: Totals; share?: Share }
  | {
      action: 'change';
      summary: string;
      diffs?: FileDiff[];
      /** symlinks it would make */
      links?: { path: string; target: string }[];
      /** directories it would create */
      dirs?: string[];
      /** The commands a run would execute, known in advance: shown by --check -vv, asserted by fixtures. */
      steps?: Step[];
      data?: D;
      totals?: Totals;
      /** Check mode: published without values (the run would make them); a run publishes apply's. */
      share?: Share;
    }
  | { action: 'run'; summary: string; steps?: Step[]; data?: D; totals?: Totals; share?: Share }
  | { action: 'skip'; msg: string };

/** What apply receives: only a plan that acts, its data present. */
export type Change<D = unknown> = Extract<Plan<D>, { action: 'change' | 'run' }> & { data: D };

/** One command of a change, as data. */
export interface Step {
  cmd: string;
  /** Fed on stdin (the place for secrets and file contents); shown only as its size. */
  stdin?: string;
  /** What it does, for the error when it fails ("<what> failed (exit N)"); default: the command. */
  what?: string;
  /** A read-only command whose output explains a failure (e.g. the unit's journal). */
  explain?: string;
}

export interface ApplyResult {
  changed: boolean;
  msg?: string;
  totals?: Totals;
  share?: Share;
}

/** Per-host state shared by the tasks of one run (rollback groups, what changed). */
export interface HostState {
  /** Files written by tasks of a rollback group, with what was there before. */
  rollback: Map<string, RollbackEntry[]>;
  /** Names of rollback groups that had a change this run. */
  changedGroups: Set<string>;
  /**
   * Check mode: what the earlier tasks of this host would write (path -> new content or link), in
   * every play of the run. Lets a plan tell "this probe read through a file the run would rewrite
   * first" (unknown, as on a pristine host) from a real failure, and lets a validator test the
   * candidate files.
   */
  planned: Map<string, PlannedWrite>;
}

export interface PlannedWrite {
  content?: string;
  link?: string;
  dir?: boolean;
  /** The rollback group of the task that would write it. */
  group?: string;
}

export interface RollbackEntry {
  path: string;
  before: FileState;
}

export interface PlanContext {
  host: string;
  facts: Facts;
  check: boolean;
  state: HostState;
  /** Render a file from templates/ with this host's vars and facts (no host I/O). */
  renderTemplate(name: string): string;
  /** Check mode: an earlier task of this run would write this path (so what was read is stale). */
  willWrite(path: string): boolean;
  /** What another host of this play's partition shared under `key` in an earlier play (see Share). */
  shared(host: string, key: string): SharedLookup;
}

export interface ApplyContext extends PlanContext {
  conn: Connection;
  /**
   * Run one step; a non-zero exit throws a TaskError "<what> failed (exit N)" with the last
   * lines of its output (and of `explain`). The one rule for every task.
   */
  run(step: Step | string): Promise<ExecResult>;
  /** Verbose log line (shown at -vv and above); masked by the UI. */
  log(msg: string): void;
  /** Progress of a long step, shown live on the host's row (at any verbosity); masked. */
  progress(msg: string): void;
}

export interface TaskDef<P = any, D = any> {
  /** Module name used in playbooks (`- template: {...}`). */
  name: string;
  /** One line for --list-tasks and docs. */
  doc: string;
  /** JSON schema of params (from `params`). String props may carry `"secret": true`. */
  schema: Record<string, unknown>;
  /** Playbook lines showing the task in use, for `doc`. */
  example?: string;
  /** Checks beyond the schema (cross-field rules). Runs in preflight too, so bad values stop the run early. */
  validate?(params: P): { param?: string; message: string }[];
  /** Template files (under templates/) this task renders, so preflight can check their variables. */
  templateFiles?(params: P): string[];
  probes(params: P, facts: Facts): Probe[];
  plan(ctx: PlanContext, params: P, results: ProbeResult[]): Plan<D>;
  apply(ctx: ApplyContext, params: P, change: Change<D>): Promise<ApplyResult>;
  /**
   * Check mode, for a plan of action 'run': a read-only look that predicts what apply would find
   * (nginx -t on the candidate files). Must leave nothing behind on the host. Throws a TaskError
   * where apply would fail.
   */
  verify?(ctx: ApplyContext, params: P, change: Change<D>): Promise<{ msg: string; status?: 'ok' | 'skipped' }>;
}

/** A task as written in tasks/: params declared once; apply may be left out when the plan's steps say it all. */
export interface TaskSpec<P, D> extends Omit<TaskDef<P, D>, 'schema' | 'apply'> {
  params: ParamSpec<P>;
  apply?: TaskDef<P, D>['apply'];
}

/** Runs the plan's steps in order: the apply of every task whose commands are known in advance. */
export async function runSteps(ctx: ApplyContext, _params: unknown, change: Change<unknown>): Promise<ApplyResult> {
  for (const s of change.steps ?? []) await ctx.run(s);
  return { changed: true };
}

export function defineTask<P, D = undefined>(t: TaskSpec<P, D>): TaskDef<P, D> {
  const { params, apply, ...rest } = t;
  return { ...rest, schema: params.schema, apply: apply ?? (runSteps as TaskDef<P, D>['apply']) };
}
