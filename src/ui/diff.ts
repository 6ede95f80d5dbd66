// Unified diffs for --diff and --json (inputs are already masked by the runner).
import { createTwoFilesPatch } from 'diff';
import type { ChalkInstance } from 'chalk';
import type { FileDiff } from '../task.js';

export function unifiedDiff(d: FileDiff): string {
  return createTwoFilesPatch(`${d.path} (before)`, `${d.path} (after)`, d.before, d.after, undefined, undefined, { context: 3 })
    .split('\n')
    .slice(1) // drop the "====" line
    .join('\n');
}

export function colorDiff(text: string, c: ChalkInstance): string {
  return text
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? c.bold(l)
        : l.startsWith('+')
          ? c.green(l)
          : l.startsWith('-')
            ? c.red(l)
            : l.startsWith('@@')
              ? c.cyan(l)
              : l,
    )
    .join('\n');
}
