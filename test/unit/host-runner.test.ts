// The per-host runner with a fake host (no SSH): which probes each round trip asks for, and that a
// task always plans on what the host holds after the last change, even when the batch's guess of
// what would change was wrong.
import assert from 'node:assert/strict';
import type { Connection, ConnectSpec } from '../../src/connection/types.js';
import type { Play, TaskEntry } from '../../src/playbook/load.js';
import type { HostWork } from '../../src/runner/prepare.js';
import { runHost } from '../../src/runner/host.js';
import { Secrets } from '../../src/secrets.js';
import { defineTask, type FileState, type Probe, type ProbeResult } from '../../src/task.js';
import { Templates } from '../../src/template.js';
import { obj, params, str, type Infer } from '../../src/params-spec.js';
import { DEBIAN11 } from '../fixtures/facts.js';

const putSpec = params({
  path: str(),
  content: str(),
  /** A side effect the runner cannot know about: another file written too. */
  also: obj({ path: str(), content: str() }).optional(),
});
type Put = Infer<typeof putSpec>;

function fakeHost(files: Record<string, string>) {
  const state = new Map(Object.entries(files));
  const batches: string[][] = [];
  const put = defineTask({
    name: 'put',
    doc: 'test: a file with this content',
    params: putSpec,
    probes: (p) => [{ kind: 'file', path: p.path }],
    plan: (_ctx, p, [f]) => ((f as FileState).content === p.content ? { action: 'ok' } : { action: 'change', summary: `write ${p.path}` }),
    apply: async (_ctx, p) => {
      state.set(p.path, p.content);
      if (p.also) state.set(p.also.path, p.also.content);
      return { changed: true };
    },
  });
  const runProbes = async (_c: Connection, probes: Probe[]): Promise<ProbeResult[]> => {
    batches.push(probes.map((p) => (p.kind === 'file' ? p.path : p.cmd)));
    return probes.map((p) => {
      const c = p.kind === 'file' ? state.get(p.path) : undefined;
      return c === undefined ? { kind: 'file', exists: false } : { kind: 'file', exists: true, type: 'file', content: c };
    });
  };
  return { state, batches, put, runProbes };
}

const pos = { file: 'test.yml', line: 1, col: 1 };
function work(tasks: Put[]): HostWork {
  const entries: TaskEntry[] = tasks.map((params, i) => ({
    id: i,
    name: `put ${params.path}`,
    module: 'put',
    params: params as unknown as Record<string, unknown>,
    tags: [],
    notify: [],
    when: [],
    ignoreErrors: false,
    listen: [],
    runOnce: false,
    pos,
    paramPos: {},
  }));
  const play: Play = {
    name: 'p',
    hosts: 'all',
    defaults: {},
    vars: {},
    varSources: {},
    varsSpec: new Map(),
    tasks: entries,
    handlers: [],
    file: 'test.yml',
    pos,
  };
  return { host: 'h1', plays: [{ play, vars: {}, sources: {}, tasks: entries, coord: { group: '', members: ['h1'], batches: [['h1']] }, playIndex: 0 }] };
}

async function run(host: ReturnType<typeof fakeHost>, tasks: Put[], check = false) {
  const conn = { name: 'h1', commandCount: 0, close: async () => undefined } as unknown as Connection;
  const spec = { name: 'h1', transport: 'ssh', address: '10.0.0.1', port: 22, user: 'root', become: false } as ConnectSpec;
  return runHost(
    work(tasks),
    spec,
    { check },
    {
      connect: async () => conn,
      gatherFacts: async () => DEBIAN11,
      runProbes: host.runProbes,
      registry: { put: host.put },
      templates: new Templates(),
      secrets: new Secrets(),
      events: {},
    },
  );
}

describe('host runner: probe batches', () => {
  it('reads everything in one round trip when nothing changes (a no-op run or a check)', async () => {
    const host = fakeHost({ '/a': 'a', '/b': 'b', '/c': 'c' });
    const tasks = [
      { path: '/a', content: 'a' },
      { path: '/b', content: 'b' },
      { path: '/c', content: 'C' },
    ];
    const r = await run(host, tasks, true);
    assert.deepEqual(host.batches, [['/a', '/b', '/c']]);
    assert.equal(r.counts.changed, 1, 'check mode still reports the drift of /c');
    assert.equal(host.state.get('/c'), 'c', 'and changes nothing');
  });

  it('after a change, reads ahead only up to the next task expected to change', async () => {
    const host = fakeHost({ '/b': 'b', '/d': 'd', '/e': 'e' });
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((x) => ({ path: `/${x}`, content: x }));
    const r = await run(host, tasks);
    // /a changes; /b is read again with /c (expected to change) and no further: /c's change makes
    // /d and /e stale anyway, so they are read after it.
    assert.deepEqual(host.batches, [
      ['/a', '/b', '/c', '/d', '/e'],
      ['/b', '/c'],
      ['/d', '/e'],
    ]);
    assert.deepEqual(
      r.tasks.map((t) => t.status),
      ['changed', 'ok', 'changed', 'ok', 'ok'],
    );
  });

  it('plans every task on what the host holds after the last change, even when the guess was wrong', async () => {
    // /a's task also rewrites /c: /c's stale read says "ok", the fresh one says it must be fixed.
    const host = fakeHost({ '/b': 'b', '/c': 'c' });
    const tasks: Put[] = [
      { path: '/a', content: 'a', also: { path: '/c', content: 'clobbered' } },
      { path: '/b', content: 'b' },
      { path: '/c', content: 'c' },
      { path: '/d', content: 'd' },
    ];
    const r = await run(host, tasks);
    assert.deepEqual(
      r.tasks.map((t) => t.status),
      ['changed', 'ok', 'changed', 'changed'],
    );
    assert.equal(host.state.get('/c'), 'c');
    assert.deepEqual(host.batches, [['/a', '/b', '/c', '/d'], ['/b', '/c', '/d'], ['/d']]);
  });
});
