// The benchmark's pure parts: reading Ansible's output, medians, the targets and the time table.
// (The benchmark itself is `npm run bench`, never part of the tests: no timing is asserted here.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../../bench/measure.js';
import { medianRun, targets, timeBudget, toMarkdown, type Results } from '../../bench/report.js';
import { parseAnsibleOutput, runProblem, type Phase, type RunResult, type Tool } from '../../bench/tools.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'bench');

function run(tool: Tool, phase: Phase, hosts: number, wallS: number, cpu = { tool: 1, hosts: 1 }): RunResult {
  const counts = Object.fromEntries(
    Array.from({ length: hosts }, (_, i) => [`h${i + 1}`, { ok: 10, changed: phase === 'converge' ? 5 : 0, failed: 0, unreachable: 0, skipped: 1 }]),
  );
  return {
    tool,
    phase,
    hosts,
    code: 0,
    wallS,
    toolCpuS: cpu.tool,
    hostsCpuS: cpu.hosts,
    machineCpuS: cpu.tool + cpu.hosts,
    counts,
    changedTasks: [],
    log: '/dev/null',
  };
}

function results(runs: RunResult[], sizes: number[]): Results {
  return {
    machine: {
      cpu: 'test cpu',
      cores: 2,
      memoryGiB: 1,
      kernel: 'Linux',
      os: 'Debian',
      date: '2026-12-01T00:00:00Z',
      node: 'v20',
      ansible: 'ansible-playbook [core 2.14]',
    },
    sizes,
    reps: 3,
    startedAt: '2026-12-01T00:00:00Z',
    totalWallS: 600,
    complete: true,
    startup: { oursMs: [150, 140, 160], ansibleMs: [500] },
    runs,
    crossChecks: [{ convergedBy: 'ours', checkedBy: 'ansible', hosts: 1, changed: 0, changedTasks: [] }],
    ourTasks: [],
    anomalies: [],
    parts: [{ startedAt: '2026-12-01T00:00:00Z', wallS: 600, sizes, code: 'abc1234' }],
    spentS: { world: 20, hosts: 30 },
  };
}

describe('benchmark (pure parts)', () => {
  it('reads a real ansible-playbook log: recap per host and the tasks that changed', () => {
    const r = parseAnsibleOutput(fs.readFileSync(path.join(FIXTURES, 'ansible-site-converge-n3.txt'), 'utf8'));
    assert.deepEqual(Object.keys(r.counts), ['h1', 'h2', 'h3']);
    assert.deepEqual(r.counts.h2, { ok: 23, changed: 10, unreachable: 0, failed: 0, skipped: 1 });
    assert.ok(r.changedTasks.includes('Bucket exists'));
    assert.ok(r.changedTasks.includes('reload nginx (handler)'));
    assert.ok(!r.changedTasks.includes('Install s3cmd'), 'an ok task is not counted as changed');
  });

  it('medians: odd, even, empty; the median run is the middle one by wall time', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    const res = results([run('ours', 'check', 1, 3), run('ours', 'check', 1, 1), run('ours', 'check', 1, 2)], [1]);
    assert.equal(medianRun(res, 1, 'check', 'ours')?.wallS, 2);
  });

  it('a run with a failed or missing host is not usable; our drift exit in a check is', () => {
    const ok = run('ours', 'check', 2, 1);
    assert.equal(runProblem({ ...ok, code: 3 }), null);
    assert.match(runProblem({ ...ok, tool: 'ansible', code: 3 }) ?? '', /exit 3/);
    assert.match(runProblem({ ...ok, counts: { h1: ok.counts.h1! } }) ?? '', /1 host\(s\) missing/);
    assert.match(runProblem({ ...ok, counts: { ...ok.counts, h2: { ...ok.counts.h2!, unreachable: 1 } } }) ?? '', /unreachable=1/);
  });

  it('judges the targets from the medians, and shows the CPU floor of the scaling target', () => {
    const runs: RunResult[] = [];
    for (const n of [1, 3, 30]) {
      for (let i = 0; i < 3; i++) {
        runs.push(run('ours', 'check', n, n === 1 ? 1 : n === 3 ? 1.5 : 8, { tool: 2, hosts: 14 }));
        runs.push(run('ansible', 'check', n, n === 3 ? 10 : 40));
        runs.push(run('ours', 'converge', n, n === 1 ? 6 : 10));
        runs.push(run('ansible', 'converge', n, 12));
      }
    }
    const t = targets(results(runs, [1, 3, 30]));
    assert.deepEqual(
      t.map((x) => x.met),
      [true, false, false, null],
    );
    assert.equal(t[0]!.measured, '0.15x');
    assert.match(t[1]!.measured, /N=1: 0\.50x, N=3: 0\.83x, N=30: 0\.83x/);
    // (2 + 14) CPU s over 2 cores: no runner could do the 30-host check in less than 8 s here.
    assert.match(t[2]!.measured, /^8\.00x \(8\.00 s vs 1\.00 s\); CPU floor at N=30: 8\.00 s = 8\.00x/);
  });

  it('accounts for the whole run: each tool per N, and the time outside the runs', () => {
    const res = results([run('ansible', 'converge', 1, 60), run('ansible', 'check', 3, 120), run('ours', 'converge', 1, 30)], [1, 3]);
    const table = timeBudget(res).join('\n');
    assert.match(table, /\| Ansible's timed runs \| 1\.0 min \| 2\.0 min \| 3\.0 min \|/);
    assert.match(table, /\| mskplay's timed runs \| 0\.5 min \| 0\.0 min \| 0\.5 min \|/);
    assert.match(table, /world start \(S3, ACME\) 0\.3 min, host starts and resets 0\.5 min\. Whole run: 10\.0 min\./);
    const md = toMarkdown(res);
    assert.match(md, /Each tool finds the other's hosts converged/);
    assert.doesNotMatch(md, /Incomplete run/);
  });
});
