// After the run: details worth reading (failures, and diffs with --diff), then the recap; --json.
import fs from 'node:fs';
import type { ChalkInstance } from 'chalk';
import type { HostReport } from '../runner/types.js';
import type { Secrets } from '../secrets.js';
import { colorDiff, unifiedDiff } from './diff.js';
import { recapLines } from './recap.js';
import { resultLine } from './progress.js';

export function detailLines(reports: HostReport[], opts: { diff: boolean; check: boolean }, c: ChalkInstance): string[] {
  const out: string[] = [];
  for (const r of reports) {
    if (r.unreachable) out.push(`${c.red('fatal')}: [${r.host}]: ${c.red('UNREACHABLE!')} ${r.error ?? ''}`);
    else if (r.error) out.push(`${c.red('fatal')}: [${r.host}]: ${c.red(r.error)}`);
    for (const t of r.tasks) {
      const showDiff = opts.diff && t.diffs?.length;
      if (t.status === 'failed' || (t.status === 'changed' && (showDiff || opts.check))) {
        out.push(resultLine(t, c));
        if (t.status === 'failed' && t.msg?.includes('\n'))
          out.push(
            ...t.msg
              .split('\n')
              .slice(1)
              .map((l) => '    ' + l),
          );
      }
      if (showDiff) for (const d of t.diffs!) out.push(colorDiff(unifiedDiff(d), c));
    }
  }
  return out;
}

/**
 * Check mode: where a drifted host stands, by the first task that would change (a playbook's plays
 * are its phases, as move and retire name them): its play, task and what it would do.
 */
export function nextStep(r: HostReport): { play: string; task: string; msg: string } | null {
  const t = r.tasks.find((x) => x.status === 'changed' && !x.handler);
  return t ? { play: t.play, task: t.task, msg: (t.msg ?? '').split('\n')[0]! } : null;
}

export function printSummary(reports: HostReport[], opts: { diff: boolean; check: boolean; warnings?: string[] }, c: ChalkInstance): void {
  const lines = detailLines(reports, opts, c);
  if (lines.length) console.log('\n' + lines.join('\n'));
  console.log('\n' + recapLines(reports, c).join('\n'));
  // Inventory warnings (a host_vars/ file for no host: almost always a typo), once, by the recap.
  for (const w of opts.warnings ?? []) console.log(c.magenta(`[WARNING]: ${w}`));
  for (const r of reports) for (const w of r.warnings ?? []) console.log(c.magenta(`[WARNING]: ${r.host}: ${w}`));
  if (opts.check) {
    const drifted = reports.filter((r) => r.counts.changed > 0).map((r) => r.host);
    const bad = reports.some((r) => r.unreachable || r.counts.failed > 0);
    if (drifted.length) {
      console.log(c.yellow(`\nDRIFT on ${drifted.length} host(s): ${drifted.join(', ')} (check mode: nothing was changed)`));
      for (const r of reports) {
        const n = r.counts.changed > 0 ? nextStep(r) : null;
        if (n) console.log(c.yellow(`  ${r.host}: next: ${n.play} - ${n.task}${n.msg ? `: ${n.msg}` : ''}`));
      }
    } else if (!bad) console.log(c.green('\nno drift: every host matches the playbook'));
  }
}

export interface JsonMeta {
  playbook: string;
  inventory: string;
  check: boolean;
  limit?: string;
  startedAt: string;
  durationMs: number;
  exitCode: number;
  warnings: string[];
}

export function jsonReport(reports: HostReport[], meta: JsonMeta, secrets: Secrets): string {
  const body = {
    ...meta,
    drift: meta.check ? reports.filter((r) => r.counts.changed > 0).map((r) => r.host) : undefined,
    hosts: Object.fromEntries(
      reports.map((r) => [
        r.host,
        {
          unreachable: r.unreachable,
          error: r.error ?? null,
          warnings: r.warnings ?? [],
          counts: r.counts,
          next: meta.check ? nextStep(r) : undefined,
          commands: r.commands,
          durationMs: r.durationMs,
          tasks: r.tasks.map((t) => ({
            play: t.play,
            task: t.task,
            module: t.module,
            handler: t.handler,
            status: t.status,
            changed: t.status === 'changed',
            ignored: t.ignored ?? false,
            rolledBack: t.rolledBack ?? false,
            msg: t.msg ?? null,
            commands: t.steps ?? [],
            diff: t.diffs?.map((d) => ({ path: d.path, unified: unifiedDiff(d) })) ?? [],
            totals: t.totals ?? null,
            ranOn: t.ranOn ?? null,
            durationMs: t.durationMs,
          })),
        },
      ]),
    ),
  };
  return JSON.stringify(secrets.maskDeep(body), null, 2) + '\n';
}

export function writeJson(target: string, text: string): void {
  if (target === '-') process.stdout.write(text);
  else fs.writeFileSync(target, text, { mode: 0o600 });
}
