// A host's pending tasks and how their probes are read: as many tasks' probes in one round trip as
// can be planned on, identical probes asked once.

import type { TaskEntry } from '../playbook/load.js';
import type { Facts } from '../facts/types.js';
import type { HostState, PlanContext, Probe, ProbeResult, TaskDef } from '../task.js';
import type { LazyVars } from '../template.js';
import type { HostPlay } from './prepare.js';

export interface Pending {
  entry: TaskEntry;
  def: TaskDef;
  params: unknown;
  handler: boolean;
  /** Why it does not run (condition false) or cannot (params failed), recorded when reached. */
  skip?: string;
  error?: string;
  /** The last probe results read. Only fresh ones (read after the last change) are planned on;
   * stale ones only guess how far the next batch should reach. */
  results?: ProbeResult[];
  fresh: boolean;
  /** The play this task belongs to (its vars and state, for planning). */
  play: PlayRun;
  done?: boolean;
}

export interface PlayRun {
  /** The play's place in the playbook (the same on every host). */
  index: number;
  hp: HostPlay;
  lazy: LazyVars;
  state: HostState;
  notified: Set<string>;
  tasks: Pending[];
}

/**
 * Which of the pending tasks (the first one is the task at hand) to read in this round trip: all
 * of them, up to and including the first one expected to change something, because that change
 * makes every later result stale again. The guess is the task's plan on the results read before
 * the last change; with none (the first batch) a task is expected to change nothing, so a run
 * without changes reads everything at once. A wrong guess costs a round trip, never correctness:
 * each task still plans on results read after the last change.
 */
export function readAhead(pending: Pending[], host: string, coordinated: boolean, planContext: (q: Pending) => PlanContext): Pending[] {
  const out: Pending[] = [];
  for (const q of pending) {
    if (q.skip || q.error || q.fresh) continue;
    // A run_once task is read ahead only by the host likely to run it (the first whose condition may hold).
    const c = q.play.hp.coord;
    if (q.entry.runOnce && coordinated && q !== pending[0] && (c.onceOwners?.get(q.entry.id) ?? c.members[0]) !== host) continue;
    out.push(q);
    if (q.results && !expectsNoChange(q, q.results, planContext)) break;
  }
  return out;
}

function expectsNoChange(q: Pending, results: ProbeResult[], planContext: (q: Pending) => PlanContext): boolean {
  try {
    const plan = q.def.plan(planContext(q), q.params, results);
    return plan.action === 'ok' || plan.action === 'skip';
  } catch {
    return false;
  }
}

/** Read the probes of these tasks (from readAhead) in one round trip (identical probes asked once). */
export async function readProbes(
  todo: Pending[],
  facts: Facts,
  run: (probes: Probe[]) => Promise<ProbeResult[]>,
  log: (level: number, line: string) => void,
): Promise<void> {
  const unique = new Map<string, number>();
  const probes: Probe[] = [];
  const slots = todo.map((p) =>
    p.def.probes(p.params, facts).map((pr) => {
      const key = JSON.stringify(pr);
      let i = unique.get(key);
      if (i === undefined) {
        i = probes.push(pr) - 1;
        unique.set(key, i);
      }
      return i;
    }),
  );
  log(3, `probing ${probes.length} item(s) for ${todo.length} task(s) in one round trip`);
  const results = probes.length ? await run(probes) : [];
  todo.forEach((p, k) => {
    p.results = slots[k].map((i) => results[i]);
    p.fresh = true;
  });
}
