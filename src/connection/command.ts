// How a task's command becomes the argv a host runs: [sudo -n -u U --] [timeout ...] /bin/sh -c CMD.
// Shared by the ssh and local transports so both behave the same.

import os from 'node:os';
import { UnreachableError } from '../errors.js';
import type { ExecResult } from './types.js';

/** Seconds between timeout's TERM and its KILL. */
export const TIMEOUT_KILL_AFTER_S = 5;

export interface CommandOptions {
  /** User the transport logs in as (the one sudo runs under). */
  loginUser: string;
  become: boolean;
  becomeUser: string;
  timeoutMs?: number;
}

/** sudo is only needed when become asks for a user other than the one we already are. */
export function needsSudo(o: CommandOptions): boolean {
  return o.become && o.becomeUser !== o.loginUser;
}

/**
 * argv for one command. `timeout` (coreutils) kills the command's whole process group on the host,
 * which closing the channel alone would not do; it runs after sudo so it can kill root's processes.
 */
export function commandArgv(command: string, o: CommandOptions): string[] {
  const argv: string[] = [];
  if (needsSudo(o)) argv.push('sudo', '-n', '-u', o.becomeUser, '--');
  if (o.timeoutMs !== undefined) {
    if (!(o.timeoutMs > 0)) throw new Error(`timeoutMs must be > 0, got ${o.timeoutMs}`);
    argv.push('timeout', '-k', String(TIMEOUT_KILL_AFTER_S), String(o.timeoutMs / 1000));
  }
  argv.push('/bin/sh', '-c', command);
  return argv;
}

/** sudo could not run the command as the become user: the host cannot be worked on as configured. */
export class BecomeError extends UnreachableError {
  constructor(message: string) {
    super(message);
    this.name = 'BecomeError';
  }
}

const SUDO_NEEDS_PASSWORD = /^sudo: (a password is required|a terminal is required)/m;
const SUDO_NOT_ALLOWED = /^(Sorry, user \S+ is not allowed to execute|\S+ is not in the sudoers file)/m;
const SUDO_MISSING = /sudo: (command )?not found|sudo: No such file/;

/** If `res` is sudo refusing (not the command failing), the error to throw; else undefined. */
export function becomeFailure(host: string, res: ExecResult, o: CommandOptions): BecomeError | undefined {
  if (!needsSudo(o)) return undefined;
  const who = `${o.loginUser} -> ${o.becomeUser}`;
  if (res.code === 1 && SUDO_NEEDS_PASSWORD.test(res.stderr)) {
    return new BecomeError(
      `${host}: become failed (${who}): sudo needs a password for ${o.loginUser}, and we only run sudo -n ` +
        `(no password prompts). Allow it without a password, e.g. a file in /etc/sudoers.d/ with ` +
        `"${o.loginUser} ALL=(${o.becomeUser}) NOPASSWD: ALL", or connect as ${o.becomeUser} (ansible_user).`,
    );
  }
  if (res.code === 1 && SUDO_NOT_ALLOWED.test(res.stderr)) {
    const line = SUDO_NOT_ALLOWED.exec(res.stderr)![0];
    return new BecomeError(`${host}: become failed (${who}): sudo refused: ${line}...`);
  }
  if (res.code === 127 && SUDO_MISSING.test(res.stderr)) {
    return new BecomeError(`${host}: become failed (${who}): sudo is not installed on the host. Install it, or connect as ${o.becomeUser}.`);
  }
  return undefined;
}

/** Exit status the way a shell reports a signal death: 128 + signal number. */
export function signalExitCode(signal: string | null | undefined): number {
  if (!signal) return 255;
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof os.constants.signals;
  const n = os.constants.signals[name];
  return typeof n === 'number' ? 128 + n : 255;
}

/** Name of the user this process runs as (the login user of local connections). */
export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
}
