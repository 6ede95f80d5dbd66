// Every task's plan, from fixture files in pyinfra's style: test/tasks/<task>/<case>.yml holds the
// params, the host's facts, the probe results, and what the plan must decide (action, summary,
// diffs, the commands a run would execute, or the error). One generic test runs them all; a task
// without fixtures, a fixture of no task, or a fixture key that is not understood fails.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { checkParams } from '../../src/playbook/params.js';
import { describeStep } from '../../src/runner/steps.js';
import type { Facts } from '../../src/facts/types.js';
import type { CmdState, FileState, HostState, Plan, PlannedWrite, ProbeResult, SharedLookup, TaskDef } from '../../src/task.js';
import { TASKS } from '../../tasks/index.js';
import { ROOT } from '../e2e/play.js';
import { FIXTURE_FACTS } from '../fixtures/facts.js';

const DIR = path.join(ROOT, 'test', 'tasks');

interface Fixture {
  facts?: keyof typeof FIXTURE_FACTS;
  facts_override?: Partial<Facts>;
  check?: boolean;
  params: Record<string, unknown>;
  state?: { changed_groups?: string[]; planned?: Record<string, PlannedWrite> };
  /** What other hosts shared, by "host key" (ctx.shared); anything else is missing. */
  shared?: Record<string, SharedLookup>;
  results?: ({ file: Partial<FileState> | null } | { cmd: Partial<CmdState> })[];
  probes?: { count?: number; match?: string[] };
  expect: {
    action?: Plan['action'];
    summary?: string;
    summary_match?: string;
    msg_match?: string;
    diffs?: { path: string; before: string; after: string }[];
    after_match?: string;
    after_not_match?: string;
    added_lines?: string[];
    steps?: string[];
    steps_match?: string[];
    data?: unknown;
    /** What the plan hands to the other hosts (key, and the value names; values absent: pending). */
    share?: { key: string; values?: string[] } | null;
    error?: string;
  };
}

const FIXTURE_KEYS = ['facts', 'facts_override', 'check', 'params', 'state', 'shared', 'results', 'probes', 'expect'];
const EXPECT_KEYS = [
  'action',
  'summary',
  'summary_match',
  'msg_match',
  'diffs',
  'after_match',
  'after_not_match',
  'added_lines',
  'steps',
  'steps_match',
  'data',
  'share',
  'error',
];

function result(r: NonNullable<Fixture['results']>[number]): ProbeResult {
  if ('file' in r) {
    if (r.file === null || r.file.exists === false) return { kind: 'file', exists: false };
    const content = r.file.content;
    return {
      kind: 'file',
      exists: true,
      type: 'file',
      mode: '0644',
      owner: 'root',
      group: 'root',
      ...(content !== undefined ? { size: content.length } : {}),
      ...r.file,
    } as FileState;
  }
  return { kind: 'cmd', code: 0, stdout: '', stderr: '', ...r.cmd };
}

function runFixture(def: TaskDef, f: Fixture): void {
  for (const k of Object.keys(f)) assert.ok(FIXTURE_KEYS.includes(k), `unknown fixture key '${k}'`);
  for (const k of Object.keys(f.expect ?? {})) assert.ok(EXPECT_KEYS.includes(k), `unknown expect key '${k}'`);
  assert.ok(f.expect && Object.keys(f.expect).length > 0, 'a fixture must expect something');
  const facts: Facts = { ...FIXTURE_FACTS[f.facts ?? 'debian11'], ...(f.facts_override ?? {}) };
  const params = structuredClone(f.params);
  assert.deepEqual(checkParams(def, params), [], 'params are valid');
  const probes = def.probes(params, facts);
  if (f.probes?.count !== undefined) assert.equal(probes.length, f.probes.count, 'number of probes');
  (f.probes?.match ?? []).forEach((re, i) => {
    const pr = probes[i];
    assert.match(pr.kind === 'file' ? `file ${pr.path}` : pr.cmd, new RegExp(re), `probe ${i}`);
  });
  const results = (f.results ?? []).map(result);
  const state: HostState = {
    rollback: new Map(),
    changedGroups: new Set(f.state?.changed_groups ?? []),
    planned: new Map(Object.entries(f.state?.planned ?? {})),
  };
  const check = f.check ?? true;
  const shared = (host: string, key: string): SharedLookup => f.shared?.[`${host} ${key}`] ?? { missing: `${host} shared nothing under ${key}` };
  const ctx = { host: 'h', facts, check, state, renderTemplate: () => '', willWrite: (p: string) => check && state.planned.has(p), shared };
  const e = f.expect;
  if (e.error) {
    assert.throws(() => def.plan(ctx, params, results), new RegExp(e.error));
    return;
  }
  const plan = def.plan(ctx, params, results);
  if (e.action) assert.equal(plan.action, e.action);
  const summary = plan.action === 'change' || plan.action === 'run' ? plan.summary : undefined;
  if (e.summary !== undefined) assert.equal(summary, e.summary);
  if (e.summary_match) assert.match(summary ?? '', new RegExp(e.summary_match));
  if (e.msg_match) assert.match(plan.action === 'ok' || plan.action === 'skip' ? (plan.msg ?? '') : '', new RegExp(e.msg_match));
  const diffs = plan.action === 'change' ? (plan.diffs ?? []) : [];
  if (e.diffs) assert.deepEqual(diffs, e.diffs);
  if (e.after_match) assert.match(diffs[0]?.after ?? '', new RegExp(e.after_match));
  if (e.after_not_match) assert.doesNotMatch(diffs[0]?.after ?? '', new RegExp(e.after_not_match));
  if (e.added_lines) {
    const before = new Set((diffs[0]?.before ?? '').split('\n'));
    assert.deepEqual(
      (diffs[0]?.after ?? '').split('\n').filter((l) => !before.has(l)),
      e.added_lines,
    );
  }
  const steps = (plan.action === 'change' || plan.action === 'run' ? (plan.steps ?? []) : []).map(describeStep);
  if (e.steps) assert.deepEqual(steps, e.steps);
  (e.steps_match ?? []).forEach((re, i) => assert.match(steps[i] ?? '', new RegExp(re), `step ${i}`));
  if (e.steps_match) assert.equal(steps.length, e.steps_match.length, 'number of steps');
  if (e.data !== undefined) assert.deepEqual(plan.action === 'change' || plan.action === 'run' ? plan.data : undefined, e.data);
  if (e.share !== undefined) {
    const sh = plan.action === 'skip' ? undefined : plan.share;
    assert.deepEqual(sh ? { key: sh.key, ...(sh.values ? { values: Object.keys(sh.values).sort() } : {}) } : null, e.share, 'share');
  }
}

describe('task plans (fixtures in test/tasks/<task>/<case>.yml)', () => {
  const dirs = fs.readdirSync(DIR).filter((d) => fs.statSync(path.join(DIR, d)).isDirectory());
  it('every task has fixtures, and every fixture directory is a task', () => {
    assert.deepEqual(
      Object.keys(TASKS).filter((t) => !dirs.includes(t)),
      [],
      'tasks without fixtures',
    );
    assert.deepEqual(
      dirs.filter((d) => !TASKS[d]),
      [],
      'fixture directories of no task',
    );
  });
  for (const task of dirs.sort()) {
    describe(task, () => {
      for (const file of fs
        .readdirSync(path.join(DIR, task))
        .filter((f) => f.endsWith('.yml'))
        .sort()) {
        it(file.replace(/\.yml$/, '').replace(/-/g, ' '), () =>
          runFixture(TASKS[task] as TaskDef, parse(fs.readFileSync(path.join(DIR, task, file), 'utf8')) as Fixture),
        );
      }
    });
  }
});
