// Preflight: everything that can be known before connecting. Builds each host's work list and
// refuses bad input (undefined variables, bad param values, missing secrets) with file:line.

import { InputError, formatPos, type SourcePos } from '../errors.js';
import type { Facts } from '../facts/types.js';
import { PLACEHOLDER_FACTS } from '../facts/registry.js';
import { checkParams, secretValues } from '../playbook/params.js';
import type { Play, Playbook, TaskEntry } from '../playbook/load.js';
import type { Secrets } from '../secrets.js';
import { checkVar } from '../playbook/vars-spec.js';
import type { TaskDef } from '../task.js';
import { LazyVars, TemplateRenderError, type Templates } from '../template.js';
import { serialBatches, type PlayCoord } from './coord.js';
import { checkOneGroup, checkPartitions, type HostValues, type LayerValue } from './partition-checks.js';

/** A variable layer with where each value came from. */
export interface SourcedVars {
  vars: Record<string, unknown>;
  sources: Record<string, SourcePos>;
}

export interface HostPlay {
  play: Play;
  /** Merged raw vars (defaults < inventory < play vars < -e), not yet templated. */
  vars: Record<string, unknown>;
  sources: Record<string, SourcePos>;
  tasks: TaskEntry[];
  /** Its partition, fellow hosts and serial batch (see coord.ts). */
  coord: PlayCoord;
  /** The play's place in the playbook (the same on every host). */
  playIndex: number;
}

export interface HostWork {
  host: string;
  plays: HostPlay[];
}

/** Stand-in facts for preflight rendering: real ones only exist after connecting (from each fact module). */
export { PLACEHOLDER_FACTS };

export interface TagFilter {
  tags: string[];
  skipTags: string[];
}

/** Ansible's tag rules: `always` runs unless skipped by name, `never` only when asked for. */
export function selectedByTags(taskTags: string[], f: TagFilter): boolean {
  const has = (t: string) => taskTags.includes(t);
  if (f.skipTags.some((t) => has(t) || (t === 'tagged' && taskTags.length > 0) || (t === 'untagged' && taskTags.length === 0))) return false;
  if (has('always')) return true;
  if (f.tags.length === 0 || f.tags.includes('all')) return !has('never');
  return f.tags.some((t) => has(t) || (t === 'tagged' && taskTags.length > 0) || (t === 'untagged' && taskTags.length === 0));
}

export function mergeLayers(...layers: SourcedVars[]): SourcedVars {
  const out: SourcedVars = { vars: {}, sources: {} };
  for (const l of layers) {
    Object.assign(out.vars, l.vars);
    Object.assign(out.sources, l.sources);
  }
  return out;
}

export function magicVars(host: string, facts: Facts, check: boolean, hostvars: Record<string, unknown> = {}): Record<string, unknown> {
  return { facts, inventory_hostname: host, ansible_check_mode: check, hostvars };
}

export interface PrepareInput {
  playbook: Playbook;
  /** Hosts of each play after --limit, in inventory order. */
  playHosts: (play: Play) => string[];
  inventoryVars: (host: string) => SourcedVars;
  extraVars: SourcedVars;
  registry: Record<string, TaskDef>;
  templates: Templates;
  secrets: Secrets;
  tags: TagFilter;
  check: boolean;
  /** Hosts of each play before --limit (the partition rules judge whole instances). */
  allPlayHosts?: (play: Play) => string[];
  /** Every inventory definition of a variable for a host (for one_group), lowest precedence first. */
  varLayers?: (host: string, name: string) => LayerValue[];
  /** The `hostvars` magic variable. */
  hostvars?: Record<string, unknown>;
}

/** Explain where the variables used by a failing template came from. */
export function provenance(used: Iterable<string>, sources: Record<string, SourcePos>): string {
  const parts = [...used].filter((n) => sources[n]).map((n) => `${n} from ${formatPos(sources[n])}`);
  return parts.length ? `value from ${parts.join(', ')}` : '';
}

export function renderError(e: unknown, task: TaskEntry, host: string, where: SourcePos, sources: Record<string, SourcePos>, used: Set<string>): InputError {
  const err = e as TemplateRenderError;
  const v = err.variable;
  if (v) {
    const hint = v.startsWith('env ')
      ? `set the environment variable ${v.slice(4)} before running (it is read with lookup('env', ...))`
      : `define '${v}' in the inventory (host_vars/group_vars), the play's vars, or with -e ${v}=...`;
    const via = err.via ?? [];
    const chain = via.length ? ` (via ${via.map((n) => (sources[n] ? `${n} from ${formatPos(sources[n])}` : n)).join(' -> ')})` : '';
    return new InputError(`task '${task.name}' on ${host}: ${err.message}${chain}`, where, hint);
  }
  return new InputError(`task '${task.name}' on ${host}: ${err.message ?? String(e)}`, where, 'fix the template expression');
}

export function prepare(input: PrepareInput): HostWork[] {
  const { templates } = input;
  const byHost = new Map<string, HostWork>();
  for (const [playIndex, play] of input.playbook.plays.entries()) {
    const defaults: SourcedVars = { vars: play.defaults, sources: pick(play.varSources, Object.keys(play.defaults)) };
    const playVars: SourcedVars = { vars: play.vars, sources: pick(play.varSources, Object.keys(play.vars)) };
    // Each host's vars for this play, merged once (the partition rules read them too).
    const ctxs = new Map<string, HostCtx>();
    const ctxOf = (host: string): HostCtx => {
      let c = ctxs.get(host);
      if (!c) {
        const merged = mergeLayers(defaults, input.inventoryVars(host), playVars, input.extraVars);
        ctxs.set(host, (c = { merged, lazy: new LazyVars(templates, merged.vars, magicVars(host, PLACEHOLDER_FACTS, input.check, input.hostvars)) }));
      }
      return c;
    };
    const coords = playCoords(play, input, ctxOf);
    const tasks = play.tasks.filter((t) => selectedByTags(t.tags, input.tags));
    for (const host of input.playHosts(play)) {
      const { merged, lazy } = ctxOf(host);
      checkPlayVars(play, host, lazy, merged.sources, input);
      for (const t of [...tasks, ...play.handlers]) {
        const skipped = preflightTask(t, host, lazy, merged.sources, input);
        // The host likely to run a run_once task: the partition's first whose condition may hold.
        const c = coords.get(host)!;
        if (t.runOnce && !skipped && !c.onceOwners?.has(t.id)) (c.onceOwners ??= new Map()).set(t.id, host);
      }
      let work = byHost.get(host);
      if (!work) byHost.set(host, (work = { host, plays: [] }));
      work.plays.push({ play, vars: merged.vars, sources: merged.sources, tasks, coord: coords.get(host)!, playIndex });
    }
  }
  return [...byHost.values()];
}

/**
 * Each host's partition (the value of the play's `partition` variable: it must not need facts, so
 * it is known before any host is touched), the partition's hosts in inventory order, and its
 * serial batches.
 */
interface HostCtx {
  merged: SourcedVars;
  lazy: LazyVars;
}

function playCoords(play: Play, input: PrepareInput, ctxOf: (host: string) => HostCtx): Map<string, PlayCoord> {
  const hosts = input.playHosts(play);
  // The rules look at whole partitions, also with --limit to a part of one.
  const everyone = play.partition && input.allPlayHosts ? input.allPlayHosts(play) : hosts;
  const groupOf = new Map<string, string>();
  const values = new Map<string, HostValues>();
  const spec = play.partition ? play.varsSpec.get(play.partition) : undefined;
  for (const host of everyone) {
    if (!play.partition) {
      groupOf.set(host, '');
      continue;
    }
    const { merged, lazy } = ctxOf(host);
    const used = new Set<string>();
    let v: unknown;
    try {
      v = input.templates.renderValue(`{{ ${play.partition} }}`, lazy.context(), used);
    } catch (e) {
      throw new InputError(
        `play '${play.name}' on ${host}: its partition variable ${play.partition}: ${(e as Error).message}`,
        play.pos,
        `define ${play.partition} for ${host}`,
      );
    }
    if (used.has('facts'))
      throw new InputError(
        `play '${play.name}' on ${host}: the partition variable ${play.partition} depends on facts, which are known only on the host`,
        play.pos,
      );
    groupOf.set(host, String(v));
    if (spec?.one_group && input.varLayers) checkOneGroup(play.partition, host, input.varLayers(host, play.partition));
    values.set(host, {
      host,
      // A value that needs facts (or fails) is not known yet: the rules skip it.
      get: (name) => {
        const u = new Set<string>();
        try {
          const x = input.templates.renderValue(`{{ ${name} }}`, lazy.context(), u);
          return u.has('facts') ? undefined : x;
        } catch {
          return undefined;
        }
      },
      pos: (name) => merged.sources[name],
    });
  }
  if (spec && play.partition && (spec.per_partition || spec.partition_needs || spec.partition_pick || spec.partition_at_most_one)) {
    const groups = new Map<string, HostValues[]>();
    for (const h of everyone) groups.set(groupOf.get(h)!, [...(groups.get(groupOf.get(h)!) ?? []), values.get(h)!]);
    checkPartitions(play.partition, spec, groups);
  }
  const out = new Map<string, PlayCoord>();
  for (const group of new Set(groupOf.values())) {
    const members = hosts.filter((h) => groupOf.get(h) === group);
    const c: PlayCoord = {
      group,
      members,
      everyone: everyone.filter((h) => groupOf.get(h) === group),
      batches: serialBatches(members, play.serial),
      maxFailPercentage: play.maxFailPercentage,
    };
    for (const h of members) out.set(h, c);
  }
  return out;
}

/** The play's vars_spec, on this host's values. A value that needs facts is judged by the tasks. */
function checkPlayVars(play: Play, host: string, lazy: LazyVars, sources: Record<string, SourcePos>, input: PrepareInput): void {
  for (const [name, spec] of play.varsSpec) {
    if (!lazy.has(name)) continue;
    const used = new Set<string>();
    let v: unknown;
    try {
      v = input.templates.renderValue(`{{ ${name} }}`, lazy.context(), used);
    } catch {
      continue; // undefined or failing: reported with file:line by the task that uses it
    }
    if (used.has('facts')) continue;
    const other = (n: string) => {
      try {
        return input.templates.renderValue(`{{ ${n} }}`, lazy.context(), used);
      } catch {
        return undefined;
      }
    };
    const problem = checkVar(name, spec, v, other);
    if (!problem) continue;
    const from = provenance(new Set([name, ...used]), sources);
    throw new InputError(
      `play '${play.name}' on ${host}: ${input.secrets.mask(problem)}${from ? ` (${from})` : ''}`,
      sources[name] ?? spec.pos,
      spec.description ? `${name}: ${spec.description}` : 'fix the value (or the variable it comes from)',
    );
  }
}

/** Returns true when the task is skipped on this host whatever its facts (a condition is false). */
function preflightTask(t: TaskEntry, host: string, lazy: LazyVars, sources: Record<string, SourcePos>, input: PrepareInput): boolean {
  const def = input.registry[t.module];
  // A condition on facts cannot be decided yet: then a param that fails to render is judged on the host.
  let dependsOnFacts = false;
  for (const cond of t.when) {
    const used = new Set<string>();
    let ok: unknown;
    try {
      ok = input.templates.evaluate(cond, lazy.context(), used);
    } catch (e) {
      throw renderError(e, t, host, t.pos, sources, used);
    }
    if (used.has('facts')) dependsOnFacts = true;
    else if (!ok) return true; // skipped on this host whatever the facts: its params need not render
  }
  // Param by param, so a problem names only the variables its own value came from.
  const usedBy: Record<string, Set<string>> = {};
  const params: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(t.params)) {
    const u = (usedBy[key] = new Set<string>());
    try {
      params[key] = input.templates.renderValue(raw, lazy.context(), u);
    } catch (e) {
      if (dependsOnFacts) return false;
      throw renderError(e, t, host, t.paramPos[key] ?? t.pos, sources, u);
    }
  }
  const used = new Set(Object.values(usedBy).flatMap((u) => [...u]));
  for (const s of secretValues(def.schema, params)) input.secrets.add(s);
  for (const file of def.templateFiles?.(params as never) ?? []) {
    const tused = new Set<string>();
    try {
      input.templates.renderFile(file, lazy.context(), tused);
    } catch (e) {
      if (dependsOnFacts) continue;
      const err = renderError(e, t, host, t.paramPos.src ?? t.pos, sources, tused);
      const line = (e as TemplateRenderError).line;
      throw new InputError(`${err.message} in templates/${file}${line ? ` line ${line}` : ''}`, err.pos, err.hint);
    }
  }
  const usedFacts = used.has('facts');
  const problems = checkParams(def, params);
  if (problems.length === 0) for (const m of def.validate?.(params) ?? []) problems.push({ path: m.param ? [m.param] : [], message: m.message });
  for (const p of problems) {
    if (usedFacts && dependsOnFacts) continue;
    const key = String(p.path[0] ?? '');
    const where = t.paramPos[key] ?? t.pos;
    const from = provenance(usedBy[key] ?? used, sources);
    throw new InputError(
      `task '${t.name}' on ${host}: ${input.secrets.mask(p.message)}${from ? ` (${from})` : ''}`,
      where,
      'fix the value (or the variable it comes from)',
    );
  }
  return false;
}

function pick(src: Record<string, SourcePos>, keys: string[]): Record<string, SourcePos> {
  const out: Record<string, SourcePos> = {};
  for (const k of keys) if (src[k]) out[k] = src[k];
  return out;
}
