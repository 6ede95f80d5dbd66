// Load playbooks/NAME.yml: plays, tasks, handlers, imports. Everything that can be checked without a
// host is checked here, so bad input is refused before any connection is opened.

import fs from 'node:fs';
import path from 'node:path';
import { InputError, type SourcePos } from '../errors.js';
import { didYouMean } from '../suggest.js';
import type { TaskDef } from '../task.js';
import { readYamlFile, type YamlPath } from '../yaml-source.js';
import { checkRawParams } from './params.js';
import { loadVarsSpec, resolveSpecFile, type VarSpec } from './vars-spec.js';

export interface TaskEntry {
  /** Unique within a playbook run, for reports. */
  id: number;
  name: string;
  module: string;
  params: Record<string, unknown>;
  tags: string[];
  notify: string[];
  /** Conditions, all must hold (Jinja expressions). */
  when: string[];
  ignoreErrors: boolean;
  /** For handlers: topics it also answers to. */
  listen: string[];
  /** Ansible's run_once: on one host of the play's partition, its result counting for all. */
  runOnce: boolean;
  pos: SourcePos;
  /** Position of each param (top-level key) for error messages. */
  paramPos: Record<string, SourcePos>;
}

export interface Play {
  name: string;
  hosts: string;
  /** Lowest precedence (below inventory), for the play's documented defaults. */
  defaults: Record<string, unknown>;
  /** Play vars: above inventory vars, below -e (Ansible's order). */
  vars: Record<string, unknown>;
  varSources: Record<string, SourcePos>;
  /** Checks of play variables (vars_spec), run in preflight for every host. */
  varsSpec: Map<string, VarSpec>;
  tasks: TaskEntry[];
  handlers: TaskEntry[];
  /** Ansible's serial: batch sizes (numbers or "N%"), the last one repeated. */
  serial?: (number | string)[];
  /** Ansible's max_fail_percentage for serial batches. */
  maxFailPercentage?: number;
  /** A variable whose value partitions the play's hosts: run_once and serial act per partition. */
  partition?: string;
  file: string;
  pos: SourcePos;
}

export interface Playbook {
  file: string;
  plays: Play[];
}

const PLAY_KEYS = [
  'name',
  'hosts',
  'vars',
  'defaults',
  'vars_spec',
  'tasks',
  'handlers',
  'tags',
  'serial',
  'max_fail_percentage',
  'partition',
  'import_playbook',
];
const TASK_KEYS = ['name', 'tags', 'notify', 'when', 'ignore_errors', 'listen', 'run_once'];

/** `site` -> playbooks/site.yml; a path is taken as is. */
export function resolvePlaybook(nameOrPath: string, playbookDir: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.yml') || nameOrPath.endsWith('.yaml')) return path.resolve(nameOrPath);
  for (const ext of ['.yml', '.yaml']) {
    const f = path.join(playbookDir, nameOrPath + ext);
    if (fs.existsSync(f)) return f;
  }
  const known = fs.existsSync(playbookDir)
    ? fs
        .readdirSync(playbookDir)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => f.replace(/\.ya?ml$/, ''))
    : [];
  throw new InputError(
    `no playbook named '${nameOrPath}' in ${playbookDir}`,
    undefined,
    `${didYouMean(nameOrPath, known) || 'known playbooks: ' + known.join(', ')}`.trim(),
  );
}

export function loadPlaybook(file: string, registry: Record<string, TaskDef>): Playbook {
  const ids = { next: 1 };
  return { file, plays: loadPlays(file, registry, ids, [path.resolve(file)]) };
}

function loadPlays(file: string, registry: Record<string, TaskDef>, ids: { next: number }, chain: string[]): Play[] {
  const src = readYamlFile(file, 'playbook');
  const root = src.value;
  const list = Array.isArray(root) ? root : root && typeof root === 'object' ? [root] : null;
  if (!list) throw new InputError('a playbook must be a list of plays (or one play mapping)', src.pos([]), 'start the file with `- name: ...` entries');
  const plays: Play[] = [];
  list.forEach((raw, i) => {
    const at = (p: YamlPath) => src.pos(Array.isArray(root) ? [i, ...p] : p);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError('each play must be a mapping', at([]));
    const play = raw as Record<string, unknown>;
    for (const k of Object.keys(play)) {
      if (!PLAY_KEYS.includes(k)) throw new InputError(`unknown play key '${k}'`, at([k]), didYouMean(k, PLAY_KEYS) || `allowed: ${PLAY_KEYS.join(', ')}`);
    }
    if ('import_playbook' in play) {
      const target = play.import_playbook;
      if (typeof target !== 'string') throw new InputError('import_playbook takes a file name', at(['import_playbook']));
      const extra = Object.keys(play).filter((k) => k !== 'import_playbook' && k !== 'name');
      if (extra.length) throw new InputError(`import_playbook cannot be combined with '${extra[0]}'`, at([extra[0]]));
      let f = path.resolve(path.dirname(file), target);
      if (!fs.existsSync(f) && fs.existsSync(f + '.yml')) f = f + '.yml';
      if (!fs.existsSync(f)) throw new InputError(`imported playbook not found: ${target}`, at(['import_playbook']));
      if (chain.includes(f)) throw new InputError(`import cycle: ${[...chain, f].map((c) => path.basename(c)).join(' -> ')}`, at(['import_playbook']));
      plays.push(...loadPlays(f, registry, ids, [...chain, f]));
      return;
    }
    const name = optString(play.name, at(['name']), 'name') ?? path.basename(file);
    const hosts = optString(play.hosts, at(['hosts']), 'hosts') ?? 'all';
    const vars = optMap(play.vars, at(['vars']), 'vars');
    const varSources: Record<string, SourcePos> = {};
    let defaults: Record<string, unknown>;
    if (typeof play.defaults === 'string') {
      // `defaults: vars/defaults.yml`: one file of documented defaults shared by several plays.
      const dsrc = readYamlFile(path.resolve(path.dirname(file), play.defaults), 'defaults file');
      defaults = optMap(dsrc.value, dsrc.pos([]), 'a defaults file');
      for (const k of Object.keys(defaults)) varSources[k] = dsrc.pos([k]);
    } else {
      defaults = optMap(play.defaults, at(['defaults']), 'defaults');
      for (const k of Object.keys(defaults)) varSources[k] = at(['defaults', k]);
    }
    for (const k of Object.keys(vars)) varSources[k] = at(['vars', k]);
    const playTags = stringList(play.tags, at(['tags']), 'tags');
    const walk = { at, registry, ids, file, chain: [path.resolve(file)] };
    const tasks = taskList(play.tasks, ['tasks'], { ...walk, handlers: false }, { ...TOP, tags: playTags });
    const handlers = taskList(play.handlers, ['handlers'], { ...walk, handlers: true }, TOP);
    // notify must name a handler (or a listen topic) of this play.
    const handlerNames = new Set(handlers.flatMap((h) => [h.name, ...h.listen]));
    for (const t of tasks) {
      for (const n of t.notify) {
        if (!handlerNames.has(n))
          throw new InputError(
            `task '${t.name}' notifies '${n}', which is not a handler of this play`,
            t.pos,
            didYouMean(n, handlerNames) || `handlers: ${[...handlerNames].join(', ') || '(none)'}`,
          );
      }
    }
    const varsSpec = play.vars_spec === undefined ? new Map<string, VarSpec>() : loadVarsSpec(resolveSpecFile(file, play.vars_spec, at(['vars_spec'])));
    const serial = serialSpec(play.serial, at(['serial']));
    const mfp = play.max_fail_percentage;
    if (mfp !== undefined && (typeof mfp !== 'number' || mfp < 0 || mfp > 100))
      throw new InputError('max_fail_percentage must be a number from 0 to 100', at(['max_fail_percentage']));
    const partition = optString(play.partition, at(['partition']), 'partition');
    if (partition !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(partition))
      throw new InputError(`partition names a variable (e.g. misskey_instance), not an expression: ${JSON.stringify(partition)}`, at(['partition']));
    plays.push({
      name,
      hosts,
      vars,
      defaults,
      varSources,
      varsSpec,
      tasks,
      handlers,
      serial,
      maxFailPercentage: mfp as number | undefined,
      partition,
      file,
      pos: at([]),
    });
  });
  return plays;
}

/** What every task of one list is read with: positions, the task library, ids, handlers or not. */
interface Walk {
  at: (p: YamlPath) => SourcePos;
  registry: Record<string, TaskDef>;
  ids: { next: number };
  handlers: boolean;
  /** The file being read, and the task files that imported it (for cycles). */
  file: string;
  chain: string[];
}

/** What a task gets from around it (its play's tags, and a block's when, tags, ignore_errors and run_once). */
interface Outer {
  tags: string[];
  when: string[];
  ignoreErrors: boolean;
  runOnce: boolean;
}
const TOP: Outer = { tags: [], when: [], ignoreErrors: false, runOnce: false };

/** The keywords a task and a block share, checked, on top of what is around them. */
function withKeywords(entry: Record<string, unknown>, p: (k?: YamlPath) => SourcePos, outer: Outer): Outer {
  const ignore = entry.ignore_errors;
  if (ignore !== undefined && typeof ignore !== 'boolean') throw new InputError('ignore_errors must be true or false', p(['ignore_errors']));
  if (entry.run_once !== undefined && typeof entry.run_once !== 'boolean') throw new InputError('run_once must be true or false', p(['run_once']));
  const when = entry.when === undefined ? [] : typeof entry.when === 'boolean' ? [String(entry.when)] : stringList(entry.when, p(['when']), 'when');
  return {
    tags: [...new Set([...outer.tags, ...stringList(entry.tags, p(['tags']), 'tags')])],
    when: [...outer.when, ...when],
    ignoreErrors: outer.ignoreErrors || ignore === true,
    runOnce: outer.runOnce || entry.run_once === true,
  };
}

function taskList(raw: unknown, base: YamlPath, w: Walk, outer: Outer): TaskEntry[] {
  const { at, registry, ids, handlers } = w;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new InputError(`${base[base.length - 1]} must be a list`, at(base));
  return raw.flatMap((t, i): TaskEntry[] => {
    const p = (k: YamlPath = []) => at([...base, i, ...k]);
    if (!t || typeof t !== 'object' || Array.isArray(t)) throw new InputError('each task must be a mapping', p());
    const entry = t as Record<string, unknown>;
    if ('block' in entry) return blockTasks(entry, [...base, i], p, w, outer);
    if ('import_tasks' in entry) return importTasks(entry, p, w, outer);
    const moduleKeys = Object.keys(entry).filter((k) => !TASK_KEYS.includes(k));
    if (moduleKeys.length === 0) throw new InputError('task has no action: add one task module key', p(), `modules: ${Object.keys(registry).join(', ')}`);
    if (moduleKeys.length > 1) {
      const unknown = moduleKeys.find((k) => !registry[k]);
      if (unknown)
        throw new InputError(
          `unknown task key or module '${unknown}'`,
          p([unknown]),
          didYouMean(unknown, [...TASK_KEYS, ...Object.keys(registry)]) || `task keys: ${TASK_KEYS.join(', ')}`,
        );
      throw new InputError(`a task has one module, found: ${moduleKeys.join(', ')}`, p([moduleKeys[1]]));
    }
    const module = moduleKeys[0];
    const def = registry[module];
    if (!def)
      throw new InputError(
        `unknown task module '${module}'`,
        p([module]),
        didYouMean(module, Object.keys(registry)) || `modules: ${Object.keys(registry).join(', ')}`,
      );
    const rawParams = entry[module] ?? {};
    if (typeof rawParams !== 'object' || Array.isArray(rawParams))
      throw new InputError(`parameters of '${module}' must be a mapping`, p([module]), `write it as\n    ${module}:\n      key: value`);
    const params = rawParams as Record<string, unknown>;
    const paramPos: Record<string, SourcePos> = {};
    for (const k of Object.keys(params)) paramPos[k] = p([module, k]);
    for (const problem of checkRawParams(def, params)) {
      const where = problem.path.length ? p([module, ...problem.path]) : p([module]);
      throw new InputError(problem.message, where, `its parameters: npm run play -- doc ${module}`);
    }
    const name = optString(entry.name, p(['name']), 'name') ?? `${module}`;
    const k = withKeywords(entry, p, outer);
    if (!handlers && entry.listen !== undefined) throw new InputError('listen is only for handlers', p(['listen']));
    if (handlers && entry.notify !== undefined) throw new InputError('handlers cannot notify (keep the chain flat)', p(['notify']));
    if (handlers && entry.run_once) throw new InputError('run_once is for tasks, not handlers', p(['run_once']));
    return [
      {
        id: ids.next++,
        name,
        module,
        params,
        tags: k.tags,
        notify: stringList(entry.notify, p(['notify']), 'notify'),
        when: k.when,
        ignoreErrors: k.ignoreErrors,
        listen: stringList(entry.listen, p(['listen']), 'listen'),
        runOnce: k.runOnce,
        pos: p(),
        paramPos,
      },
    ];
  });
}

const BLOCK_KEYS = ['block', 'name', 'when', 'tags', 'ignore_errors', 'run_once'];

/** Ansible's block: its tasks, in place, each with the block's conditions and keywords added. */
function blockTasks(entry: Record<string, unknown>, at0: YamlPath, p: (k?: YamlPath) => SourcePos, w: Walk, outer: Outer): TaskEntry[] {
  for (const k of Object.keys(entry)) {
    if (k === 'rescue' || k === 'always') throw new InputError(`a block's ${k} is not supported: split the work into tasks with when`, p([k]));
    if (!BLOCK_KEYS.includes(k)) throw new InputError(`unknown block key '${k}'`, p([k]), `block keys: ${BLOCK_KEYS.join(', ')}`);
  }
  optString(entry.name, p(['name']), 'name');
  const inner = withKeywords(entry, p, outer);
  if (!Array.isArray(entry.block) || entry.block.length === 0) throw new InputError('block must be a list of tasks', p(['block']));
  return taskList(entry.block, [...at0, 'block'], w, inner);
}

const IMPORT_KEYS = ['import_tasks', 'name', 'when', 'tags', 'ignore_errors', 'run_once'];

/** Ansible's import_tasks: the tasks of a file (relative to the one importing it), in place, with the import's keywords. */
function importTasks(entry: Record<string, unknown>, p: (k?: YamlPath) => SourcePos, w: Walk, outer: Outer): TaskEntry[] {
  for (const k of Object.keys(entry))
    if (!IMPORT_KEYS.includes(k)) throw new InputError(`unknown import_tasks key '${k}'`, p([k]), `import_tasks keys: ${IMPORT_KEYS.join(', ')}`);
  if (typeof entry.import_tasks !== 'string') throw new InputError('import_tasks takes a file name', p(['import_tasks']));
  optString(entry.name, p(['name']), 'name');
  const file = path.resolve(path.dirname(w.file), entry.import_tasks);
  if (!fs.existsSync(file)) throw new InputError(`task file not found: ${entry.import_tasks}`, p(['import_tasks']));
  if (w.chain.includes(file)) throw new InputError(`import cycle: ${[...w.chain, file].map((c) => path.basename(c)).join(' -> ')}`, p(['import_tasks']));
  const src = readYamlFile(file, 'task file');
  if (!Array.isArray(src.value)) throw new InputError('a task file is a list of tasks', src.pos([]));
  return taskList(src.value, [], { ...w, at: (k) => src.pos(k), file, chain: [...w.chain, file] }, withKeywords(entry, p, outer));
}

/** serial: a number, "N%", or a list of them (Ansible). */
function serialSpec(v: unknown, pos: SourcePos): (number | string)[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  const ok = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) && x > 0) || (typeof x === 'string' && /^([1-9]\d?|100)%$/.test(x));
  if (!list.length || !list.every(ok))
    throw new InputError('serial must be a batch size: a whole number above 0, a percentage like "30%", or a list of them', pos, 'e.g. serial: 1');
  return list as (number | string)[];
}

function optString(v: unknown, pos: SourcePos, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InputError(`${what} must be a string`, pos);
  return v;
}

function optMap(v: unknown, pos: SourcePos, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InputError(`${what} must be a mapping of name: value`, pos);
  return v as Record<string, unknown>;
}

function stringList(v: unknown, pos: SourcePos, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new InputError(`${what} must be a string or a list of strings`, pos);
}
