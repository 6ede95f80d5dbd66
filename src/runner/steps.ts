// Steps: a task's commands as data. One rule for running them and for what a failure says.

import { TaskError } from '../errors.js';
import type { Connection, ExecResult } from '../connection/types.js';
import type { Step } from '../task.js';

/** Lines of a failed command's output kept in the error (the end is where the reason is). */
export const TAIL_LINES = 20;

const tail = (text: string) => text.trim().split('\n').slice(-TAIL_LINES).join('\n');
const firstLine = (cmd: string) => {
  const l = cmd.trim().split('\n');
  return l.length > 1 ? `${l[0]} ...` : l[0];
};

/** How a step shows in --check -vv and --json (stdin only by size: it may hold a secret). */
export function describeStep(s: Step): string {
  return `${s.cmd}${s.stdin !== undefined ? ` <<stdin (${Buffer.byteLength(s.stdin)} bytes)` : ''}`;
}

export async function runStep(conn: Connection, step: Step | string, log: (m: string) => void): Promise<ExecResult> {
  const s: Step = typeof step === 'string' ? { cmd: step } : step;
  log(`run: ${describeStep(s)}`);
  const r = await conn.exec(s.cmd, s.stdin !== undefined ? { stdin: s.stdin } : {});
  if (r.code === 0) return r;
  const parts = [tail(r.stderr || r.stdout)];
  if (s.explain) {
    const e = await conn.exec(s.explain);
    parts.push(`${firstLine(s.explain)}:`, tail(e.stdout || e.stderr));
  }
  throw new TaskError(`${s.what ?? firstLine(s.cmd)} failed (exit ${r.code})`, parts.filter(Boolean).join('\n'));
}
