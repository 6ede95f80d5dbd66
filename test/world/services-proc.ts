// Process plumbing shared by the world's services (S3, Pebble, the test DNS): run a command and
// collect its output, start a daemon with its PID recorded in a file, stop it by that record only.
// Commands are argv arrays (no shell). `netns` runs them inside a named network namespace.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface RunOptions {
  /** Named network namespace (`ip netns exec`); undefined = this namespace. */
  netns?: string;
  /** Bytes for stdin (how secrets reach a program: never in argv). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  /** stdout may hold keys: never quote it in an error. */
  secretOutput?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function inNetns(netns: string | undefined, argv: string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
}

/** Runs argv to completion. The error names the program and shows its stderr, never its stdin. */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = inNetns(opts.netns, argv);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${argv[0]}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const res = { code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (res.code !== 0 && !opts.allowFail) {
        const why = signal ? `killed by ${signal}` : `exit ${res.code}`;
        const out = res.stderr || (opts.secretOutput ? '(stdout withheld)' : res.stdout);
        reject(new Error(`${argv.slice(0, 3).join(' ')} failed (${why}): ${tail(out, 1500)}`));
      } else {
        resolve(res);
      }
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // a program may exit without reading its input
      child.stdin.end(opts.input);
    }
  });
}

export function tail(s: string, n: number): string {
  const t = s.trim();
  return t.length > n ? '…' + t.slice(-n) : t;
}

export async function tailFile(file: string, n = 2000): Promise<string> {
  try {
    return tail(await fsp.readFile(file, 'utf8'), n);
  } catch {
    return `(no ${file})`;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `ok` until it returns true; on timeout throws with `what` and the text from `diag`. */
export async function waitUntil(
  what: string,
  ok: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; diag?: () => Promise<string> },
): Promise<void> {
  const end = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (Date.now() > end) {
      const d = opts.diag ? `\n${await opts.diag()}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${d}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

// ---- daemons ---------------------------------------------------------------------------------

/** What a pid file holds: the PID plus its start time, so a reused PID is never signalled. */
interface PidRecord {
  pid: number;
  startTime: string;
  name: string;
}

export interface Daemon {
  name: string;
  pid: number;
  pidFile: string;
  logFile: string;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), or undefined if the PID is gone. */
function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces; fields after the last ')' are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Alive = exists and is not a zombie (this machine's PID 1 reaps orphans lazily). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Starts argv in the background in its own session, stdout+stderr appended to `<dir>/log/<name>.out`,
 * and records it in `<dir>/pids/<name>.pid`. The daemon must stay in the foreground (no self-fork).
 */
export async function spawnDaemon(opts: { name: string; argv: string[]; dir: string; netns?: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<Daemon> {
  const logDir = path.join(opts.dir, 'log');
  const pidDir = path.join(opts.dir, 'pids');
  await fsp.mkdir(logDir, { recursive: true });
  await fsp.mkdir(pidDir, { recursive: true });
  const logFile = path.join(logDir, `${opts.name}.out`);
  const pidFile = path.join(pidDir, `${opts.name}.pid`);
  const fd = fs.openSync(logFile, 'a', 0o600);
  const full = inNetns(opts.netns, opts.argv);
  const child = spawn(full[0], full.slice(1), {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  fs.closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) {
    await new Promise((r) => child.once('error', r));
    throw new Error(`could not start ${opts.argv[0]} (${opts.name}); see ${logFile}`);
  }
  child.on('error', () => {});
  child.unref();
  const rec: PidRecord = { pid, startTime: procStartTime(pid) ?? '', name: opts.name };
  await fsp.writeFile(pidFile, JSON.stringify(rec) + '\n', { mode: 0o644 });
  return { name: opts.name, pid, pidFile, logFile };
}

/** Stops the process recorded in pidFile: SIGTERM, then SIGKILL after graceMs. Removes the pid file. */
export async function stopDaemon(pidFile: string, graceMs = 10_000): Promise<void> {
  let rec: PidRecord;
  try {
    rec = JSON.parse(await fsp.readFile(pidFile, 'utf8')) as PidRecord;
  } catch {
    return; // never started or already stopped
  }
  const same = (): boolean => isAlive(rec.pid) && procStartTime(rec.pid) === rec.startTime;
  if (same()) {
    process.kill(rec.pid, 'SIGTERM');
    const end = Date.now() + graceMs;
    while (same() && Date.now() < end) await sleep(100);
    if (same()) {
      process.kill(rec.pid, 'SIGKILL');
      const end2 = Date.now() + 5000;
      while (same() && Date.now() < end2) await sleep(100);
      if (same()) throw new Error(`${rec.name} (pid ${rec.pid}) survived SIGKILL`);
    }
  }
  await fsp.rm(pidFile, { force: true });
}

/** The recorded daemons in `<dir>/pids` that are still running (for leak checks). */
export async function runningDaemons(dir: string): Promise<string[]> {
  const pidDir = path.join(dir, 'pids');
  const names = await fsp.readdir(pidDir).catch(() => [] as string[]);
  const alive: string[] = [];
  for (const n of names) {
    try {
      const rec = JSON.parse(await fsp.readFile(path.join(pidDir, n), 'utf8')) as PidRecord;
      if (isAlive(rec.pid) && procStartTime(rec.pid) === rec.startTime) alive.push(`${rec.name}:${rec.pid}`);
    } catch {
      /* unreadable record: ignore */
    }
  }
  return alive;
}

export function daemonAlive(d: Daemon): boolean {
  return isAlive(d.pid);
}
