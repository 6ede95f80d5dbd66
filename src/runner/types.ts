// What the runner reports, to the UI (live) and to the recap / --json (at the end).

import type { FileDiff } from '../task.js';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface TaskResult {
  host: string;
  play: string;
  task: string;
  module: string;
  handler: boolean;
  status: TaskStatus;
  /** Check mode: a change that would be made (status 'changed'), or a command that would run (status 'skipped'). */
  msg?: string;
  diffs?: FileDiff[];
  /** The commands of the change (as --check -vv shows them; stdin only by size). */
  steps?: string[];
  durationMs: number;
  ignored?: boolean;
  /** A change that a later validation put back (status 'ok': nothing changed in the end). */
  rolledBack?: boolean;
  /** The task's counts (objects, bytes, ...): what is left in check mode, what was done in a run. */
  totals?: Record<string, number>;
  /** run_once: the host that ran it for this one's partition (this result is a copy of its). */
  ranOn?: string;
}

export interface HostReport {
  host: string;
  unreachable: boolean;
  /** Failure that is not a task's (unsupported OS, connection lost, ...). */
  error?: string;
  /** Things worth a look that did not stop the host (an untested OS, no package manager). */
  warnings?: string[];
  tasks: TaskResult[];
  counts: RecapCounts;
  /** SSH commands (channels) this host needed. */
  commands: number;
  durationMs: number;
}

export interface RecapCounts {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  ignored: number;
}

export interface RunEvents {
  hostStart?(host: string): void;
  taskStart?(host: string, task: string, handler: boolean): void;
  taskEnd?(result: TaskResult): void;
  /** Verbose line for -v (level 1), -vv (2), -vvv (3); already masked. */
  log?(host: string, level: number, line: string): void;
  /** A running task's progress (a copy: bytes, rate, ETA), shown on the host's row; already masked. */
  progress?(host: string, line: string): void;
  hostEnd?(report: HostReport): void;
}

export function emptyCounts(): RecapCounts {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, ignored: 0 };
}
