// Running commands and handling the processes the world starts.
// Rule: a process is only ever signalled by a recorded PID, after checking that the PID still
// belongs to the same process (start time) and that its command line is the one we expect.

import { spawn } from 'node:child_process';
import fs from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Run a program (no shell) and collect its output. Never throws for a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL'); // our own direct child, by its handle
      }, opts.timeoutMs);
    }
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      let stderr = Buffer.concat(err).toString();
      if (timedOut) stderr += `\n[killed after ${opts.timeoutMs} ms]`;
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr });
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but throws with the command and the end of stderr when the exit code is not 0. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-8).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${tail}`);
  }
  return r;
}

/** A process we started: enough to find it again and to be sure it is still the same one. */
export interface ProcRecord {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot): tells a reused PID apart. */
  startTime: string;
  /** A substring its command line must contain before we signal it. */
  expect: string;
}

interface ProcStat {
  state: string;
  ppid: number;
  startTime: string;
}

export function readStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]), startTime: rest[19] ?? '' };
}

export function readCmdline(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

/** Record a process we just started (its command line may still change by exec; the start time not). */
export function recordProc(pid: number, expect: string): ProcRecord | null {
  const st = readStat(pid);
  return st ? { pid, startTime: st.startTime, expect } : null;
}

/** True while the recorded process exists and is not a zombie. */
export function isAlive(rec: ProcRecord): boolean {
  const st = readStat(rec.pid);
  return st !== null && st.startTime === rec.startTime && st.state !== 'Z' && st.state !== 'X';
}

/** The recorded process is alive and its command line is the expected one. */
export function isOurs(rec: ProcRecord): boolean {
  if (!isAlive(rec)) return false;
  const cmd = readCmdline(rec.pid);
  return cmd !== null && cmd.includes(rec.expect);
}

/** Send a signal to a recorded process if (and only if) it is still ours. Returns whether it was sent. */
export function signalRecorded(rec: ProcRecord, signal: NodeJS.Signals | number): boolean {
  if (!isOurs(rec)) return false;
  try {
    process.kill(rec.pid, signal);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Wait until the recorded process is gone or a zombie. (This machine's PID 1 reaps orphans
 * lazily, so `kill -0` would keep succeeding for seconds after the exit.)
 */
export async function waitGone(rec: ProcRecord, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(rec)) return true;
    if (Date.now() >= until) return false;
    await sleep(25);
  }
}

/**
 * Stop a recorded process: `first` signal, wait up to `graceMs`, then SIGKILL and wait again.
 * Returns false if it could not be made to go away (or was not ours).
 */
export async function stopRecorded(rec: ProcRecord, first: NodeJS.Signals | number, graceMs: number): Promise<boolean> {
  if (!isAlive(rec)) return true;
  if (!signalRecorded(rec, first)) return !isAlive(rec);
  if (await waitGone(rec, graceMs)) return true;
  signalRecorded(rec, 'SIGKILL');
  return waitGone(rec, 5000);
}

/** The direct children of a process (Linux exposes them per task). */
export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Start a long-lived process in its own session, with stdout/stderr appended to `logFile`, not
 * waited for by this process's event loop. Returns its record (null if it died at once).
 */
export function spawnDetached(cmd: string, args: string[], logFile: string, expect: string): ProcRecord | null {
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => {}); // reported through the missing record / readiness checks
    child.unref();
    return child.pid ? recordProc(child.pid, expect) : null;
  } finally {
    fs.closeSync(fd);
  }
}
