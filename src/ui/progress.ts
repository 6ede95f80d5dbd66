// Live progress with listr2: one row per host, its current task in the title, hosts in parallel.
// On a terminal: listr2's default renderer. Otherwise (pipe, CI=true): its simple renderer, one line
// per finished task, so logs read like Ansible's. 'silent' (for --json -) prints nothing.

import type { ChalkInstance } from 'chalk';
import { Listr } from 'listr2';
import type { HostReport, RunEvents, TaskResult } from '../runner/types.js';

export type ProgressMode = 'tty' | 'plain' | 'silent';

export interface ProgressOptions {
  mode: ProgressMode;
  forks: number;
  verbosity: number;
  chalk: ChalkInstance;
}

export function progressMode(json: string | undefined): ProgressMode {
  if (json === '-') return 'silent';
  const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
  return process.stdout.isTTY && !ci ? 'tty' : 'plain';
}

export function resultLine(r: TaskResult, c: ChalkInstance): string {
  const tag = r.handler ? ' (handler)' : '';
  const msg = r.msg ? ` ${c.dim('- ' + r.msg.split('\n')[0])}` : '';
  switch (r.status) {
    case 'ok':
      return `${c.green('ok')}: [${r.host}] ${r.task}${tag}${msg}`;
    case 'changed':
      return `${c.yellow('changed')}: [${r.host}] ${r.task}${tag}${msg}`;
    case 'skipped':
      return `${c.cyan('skipping')}: [${r.host}] ${r.task}${tag}${msg}`;
    case 'failed':
      return r.ignored
        ? `${c.red('failed')}: [${r.host}] ${r.task}${tag} ...ignoring${msg}`
        : `${c.red('fatal')}: [${r.host}] ${r.task}${tag}: ${c.red(r.msg?.split('\n')[0] ?? 'failed')}`;
  }
}

function hostSummary(r: HostReport, c: ChalkInstance): string {
  if (r.unreachable) return `${r.host}: ${c.red('UNREACHABLE')}`;
  const k = r.counts;
  const s = `${r.host}: ok=${k.ok} changed=${k.changed} failed=${k.failed} skipped=${k.skipped} (${(r.durationMs / 1000).toFixed(1)}s)`;
  return r.error ? `${s} ${c.red('error')}` : s;
}

export async function runWithProgress(
  hosts: string[],
  run: (host: string, events: RunEvents) => Promise<HostReport>,
  opts: ProgressOptions,
): Promise<HostReport[]> {
  const reports = new Map<string, HostReport>();
  const c = opts.chalk;
  const list = new Listr(
    hosts.map((host) => ({
      title: host,
      task: async (_ctx: unknown, task: { title: string; output: string }) => {
        const events: RunEvents = {
          taskStart: (_h, name, handler) => {
            task.title = `${host}: ${name}${handler ? ' (handler)' : ''}`;
          },
          taskEnd: (r) => {
            task.output = resultLine(r, c);
          },
          log: (_h, level, line) => {
            if (level <= opts.verbosity) task.output = `[${host}] ${line}`;
          },
          progress: (_h, line) => {
            task.output = `[${host}] ${line}`;
          },
        };
        const report = await run(host, events);
        reports.set(host, report);
        task.title = hostSummary(report, c);
        // listr2 prints this message on the host's row: keep it to one line (details come after).
        if (report.unreachable || report.counts.failed > 0) throw new Error(hostSummary(report, c).split('\n')[0]);
      },
    })),
    {
      concurrent: opts.forks,
      exitOnError: false,
      registerSignalListeners: false,
      renderer: opts.mode === 'silent' ? 'silent' : 'default',
      fallbackRenderer: 'simple',
      fallbackRendererCondition: opts.mode === 'plain',
      silentRendererCondition: opts.mode === 'silent',
      rendererOptions: { collapseSubtasks: false, outputBar: Math.max(1, opts.verbosity + 1), persistentOutput: false },
    } as never,
  );
  await list.run().catch(() => undefined);
  return hosts.map((h) => reports.get(h)!).filter(Boolean);
}
