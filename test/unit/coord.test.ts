// serial and run_once across hosts (src/runner/coord.ts), with fake hosts (no SSH) run side by side
// as the CLI runs them: who waits for whom, what runs where, and what a failure stops.
import assert from 'node:assert/strict';
import type { Connection, ConnectSpec } from '../../src/connection/types.js';
import type { Play, TaskEntry } from '../../src/playbook/load.js';
import { Coordinator, serialBatches, type PlayCoord } from '../../src/runner/coord.js';
import { runHost } from '../../src/runner/host.js';
import type { HostReport } from '../../src/runner/types.js';
import { Secrets } from '../../src/secrets.js';
import { defineTask } from '../../src/task.js';
import { Templates } from '../../src/template.js';
import { bool, params, str, type Infer } from '../../src/params-spec.js';
import { DEBIAN11 } from '../fixtures/facts.js';

const stepSpec = params({ name: str(), fail_on: str().optional(), slow: bool().optional() });
type Step = Infer<typeof stepSpec>;

/** One event log for all hosts: `<host> <task> start|end`; a task fails on the host named in fail_on. */
function world() {
  const log: string[] = [];
  const step = defineTask({
    name: 'step',
    doc: 'test: a change that takes a moment',
    params: stepSpec,
    probes: () => [],
    plan: (ctx, p) => ({ action: 'change', summary: `${p.name} on ${ctx.host}` }),
    apply: async (ctx, p) => {
      log.push(`${ctx.host} ${p.name} start`);
      await new Promise((r) => setTimeout(r, p.slow ? 30 : 5));
      if (p.fail_on === ctx.host) throw new Error(`${p.name} broke on ${ctx.host}`);
      log.push(`${ctx.host} ${p.name} end`);
      return { changed: true };
    },
  });
  return { log, step };
}

const pos = { file: 'test.yml', line: 1, col: 1 };
const entry = (id: number, s: Step, runOnce = false): TaskEntry => ({
  id,
  name: s.name,
  module: 'step',
  params: s as unknown as Record<string, unknown>,
  tags: [],
  notify: [],
  when: [],
  ignoreErrors: false,
  listen: [],
  runOnce,
  pos,
  paramPos: {},
});

/** Run one play on these hosts, partitioned by `groups` (host -> partition), as the CLI does. */
async function runPlay(
  hosts: string[],
  tasks: TaskEntry[],
  o: { groups?: Record<string, string>; serial?: (number | string)[]; maxFail?: number; vars?: Record<string, Record<string, unknown>> } = {},
): Promise<{ reports: Map<string, HostReport>; log: string[] }> {
  const w = world();
  const play: Play = { name: 'p', hosts: 'all', defaults: {}, vars: {}, varSources: {}, varsSpec: new Map(), tasks, handlers: [], file: 'test.yml', pos };
  const groupOf = (h: string) => o.groups?.[h] ?? '';
  const coordOf = (h: string): PlayCoord => {
    const members = hosts.filter((x) => groupOf(x) === groupOf(h));
    return { group: groupOf(h), members, batches: serialBatches(members, o.serial), maxFailPercentage: o.maxFail };
  };
  const coord = new Coordinator();
  const reports = await Promise.all(
    hosts.map((h) => {
      const conn = { name: h, commandCount: 0, close: async () => undefined } as unknown as Connection;
      const spec = { name: h, transport: 'ssh', address: '10.0.0.1', port: 22, user: 'root', become: false } as ConnectSpec;
      return runHost(
        { host: h, plays: [{ play, vars: o.vars?.[h] ?? {}, sources: {}, tasks, coord: coordOf(h), playIndex: 0 }] },
        spec,
        { check: false },
        {
          connect: async () => conn,
          gatherFacts: async () => DEBIAN11,
          runProbes: async () => [],
          registry: { step: w.step },
          templates: new Templates(),
          secrets: new Secrets(),
          events: {},
          coord,
        },
      );
    }),
  );
  return { reports: new Map(reports.map((r) => [r.host, r])), log: w.log };
}

describe('serial batches (Ansible: a size, "N%", or a list with the last repeated)', () => {
  const hosts = ['a', 'b', 'c', 'd', 'e'];
  it('cuts the hosts into batches', () => {
    assert.deepEqual(serialBatches(hosts, undefined), [hosts]);
    assert.deepEqual(serialBatches(hosts, [2]), [['a', 'b'], ['c', 'd'], ['e']]);
    assert.deepEqual(serialBatches(hosts, ['40%']), [['a', 'b'], ['c', 'd'], ['e']]);
    assert.deepEqual(serialBatches(hosts, ['10%']), [['a'], ['b'], ['c'], ['d'], ['e']], 'at least one host');
    assert.deepEqual(serialBatches(hosts, [1, 3]), [['a'], ['b', 'c', 'd'], ['e']]);
  });
});

describe('coordination between hosts', () => {
  it('run_once: one host of each partition runs it, the others get its result', async () => {
    const tasks = [entry(1, { name: 'bucket' }, true), entry(2, { name: 'config' })];
    const { reports, log } = await runPlay(['app1', 'app2', 'solo'], tasks, { groups: { app1: 'ex', app2: 'ex', solo: 'solo' } });
    assert.deepEqual(log.filter((l) => l.includes('bucket start')).sort(), ['app1 bucket start', 'solo bucket start']);
    const copy = reports.get('app2')!.tasks.find((t) => t.task === 'bucket')!;
    assert.equal(copy.status, 'changed');
    assert.equal(copy.ranOn, 'app1');
    assert.match(copy.msg!, /^ran on app1: bucket on app1$/);
    // Tasks without run_once run everywhere.
    assert.equal(log.filter((l) => l.endsWith('config end')).length, 3);
  });

  it('run_once: a failure there fails every host of the partition, and only that partition', async () => {
    const tasks = [entry(1, { name: 'meta', fail_on: 'app1' }, true), entry(2, { name: 'after' })];
    const { reports, log } = await runPlay(['app1', 'app2', 'solo'], tasks, { groups: { app1: 'ex', app2: 'ex', solo: 'solo' } });
    assert.equal(reports.get('app1')!.counts.failed, 1);
    assert.equal(reports.get('app2')!.counts.failed, 1, 'app2 fails with it');
    assert.equal(reports.get('solo')!.counts.failed, 0);
    assert.deepEqual(
      log.filter((l) => l.includes('after end')),
      ['solo after end'],
    );
  });

  it('run_once: when the first host is gone before it, the next one runs it', async () => {
    const tasks = [entry(1, { name: 'first', fail_on: 'app1' }), entry(2, { name: 'once' }, true)];
    const { reports, log } = await runPlay(['app1', 'app2', 'app3'], tasks, { groups: { app1: 'ex', app2: 'ex', app3: 'ex' } });
    assert.deepEqual(
      log.filter((l) => l.includes('once start')),
      ['app2 once start'],
    );
    assert.equal(reports.get('app3')!.tasks.find((t) => t.task === 'once')!.ranOn, 'app2');
  });

  it('run_once: a host whose when is false skips it and is not the one to run it', async () => {
    const once = { ...entry(1, { name: 'bucket' }, true), when: ["role != 'app'"] };
    const { reports, log } = await runPlay(['app1', 'proxy1', 'proxy2'], [once], {
      vars: { app1: { role: 'app' }, proxy1: { role: 'proxy' }, proxy2: { role: 'proxy' } },
    });
    assert.deepEqual(
      log.filter((l) => l.endsWith('start')),
      ['proxy1 bucket start'],
    );
    assert.equal(reports.get('app1')!.tasks[0]!.status, 'skipped');
    assert.equal(reports.get('proxy2')!.tasks[0]!.ranOn, 'proxy1');
  });

  it('serial 1: one host at a time within a partition, partitions side by side', async () => {
    const tasks = [entry(1, { name: 'restart', slow: true })];
    const { log } = await runPlay(['a1', 'a2', 'b1', 'b2'], tasks, { groups: { a1: 'a', a2: 'a', b1: 'b', b2: 'b' }, serial: [1] });
    const at = (l: string) => log.indexOf(l);
    assert.ok(at('a1 restart end') < at('a2 restart start'), log.join('\n'));
    assert.ok(at('b1 restart end') < at('b2 restart start'), log.join('\n'));
    // b1 did not wait for partition a: both first batches ran at once.
    assert.ok(at('b1 restart start') < at('a1 restart end'), log.join('\n'));
  });

  it('serial with max_fail_percentage 0: a failed batch stops the roll, the rest untouched', async () => {
    const tasks = [entry(1, { name: 'restart', fail_on: 'a1' })];
    const { reports, log } = await runPlay(['a1', 'a2', 'a3'], tasks, { serial: [1], maxFail: 0 });
    assert.deepEqual(log, ['a1 restart start']);
    for (const h of ['a2', 'a3']) {
      const r = reports.get(h)!;
      assert.match(r.error!, /not run: the batch before failed on a1 \(max_fail_percentage 0\)/);
      assert.equal(r.counts.changed, 0);
    }
  });

  it('serial without max_fail_percentage: as Ansible, only a batch that failed on every host stops the rest', async () => {
    const tasks = [entry(1, { name: 'restart', fail_on: 'a1' })];
    const { log } = await runPlay(['a1', 'a2', 'a3', 'a4'], tasks, { serial: [2] });
    assert.ok(log.includes('a3 restart end') && log.includes('a4 restart end'), log.join('\n'));
    const all = await runPlay(['a1', 'a2'], [entry(1, { name: 'restart', fail_on: 'a1' })], { serial: [1] });
    assert.deepEqual(all.log, ['a1 restart start'], 'a batch of one that failed stops the next');
  });

  it('shares: a host of the partition reads what another shared; outside it, or before it, it learns why not', () => {
    const coord = new Coordinator();
    const ex: PlayCoord = { group: 'ex', members: ['m1', 'm2'], batches: [['m1', 'm2']] };
    const solo: PlayCoord = { group: 'solo', members: ['s1'], batches: [['s1']] };
    assert.match((coord.lookup(ex, 'm1', 'certificate x') as { missing: string }).missing, /m1 did not get to it in this run/);
    coord.publish(ex, 'm1', { key: 'certificate x', values: { privkey: 'KEY' } });
    assert.deepEqual(coord.lookup(ex, 'm1', 'certificate x'), { values: { privkey: 'KEY' } });
    assert.match((coord.lookup(ex, 'm1', 'other key') as { missing: string }).missing, /did not get to it/);
    // Another partition does not see it (and its hosts are not m1's fellows).
    assert.match((coord.lookup(solo, 'm1', 'certificate x') as { missing: string }).missing, /m1 is not one of the hosts of this run in its partition \(s1\)/);
    // Check mode: the run would make it.
    coord.publish(ex, 'm2', { key: 'certificate x' });
    assert.deepEqual(coord.lookup(ex, 'm2', 'certificate x'), { pending: true });
  });
});
