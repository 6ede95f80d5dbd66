// Local transport (localhost / ansible_connection=local): the same argv the ssh transport sends,
// run here through zx with /bin/sh and our own quoting.

import { spawn, type SpawnOptions } from 'node:child_process';
import { $ } from 'zx';
import { becomeFailure, commandArgv, currentUser, signalExitCode, TIMEOUT_KILL_AFTER_S, type CommandOptions } from './command.js';
import { shq } from './quote.js';
import type { Connection, ExecOptions, ExecResult } from './types.js';

export interface LocalOptions {
  become?: boolean;
  becomeUser?: string;
}

/**
 * spawn for zx: a command may exit without reading its stdin; writing to it then fails with EPIPE,
 * which would be an uncaught error. It only means "not read", so it is ignored.
 */
function spawnIgnoringEpipe(cmd: string, args: readonly string[], opts: SpawnOptions) {
  const child = spawn(cmd, args, opts);
  child.stdin?.on('error', () => {});
  return child;
}

export class LocalConnection implements Connection {
  private count = 0;
  private closed = false;
  private readonly loginUser = currentUser();

  constructor(
    readonly name: string,
    private readonly opts: LocalOptions = {},
  ) {}

  get commandCount(): number {
    return this.count;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) throw new Error(`${this.name}: local connection already closed`);
    const copts: CommandOptions = {
      loginUser: this.loginUser,
      become: this.opts.become ?? false,
      becomeUser: this.opts.becomeUser ?? 'root',
      timeoutMs: opts.timeoutMs,
    };
    const argv = commandArgv(command, copts);
    this.count++;
    const started = Date.now();
    const run = $({
      shell: '/bin/sh',
      prefix: '',
      postfix: '',
      quote: shq,
      // stdin is always a pipe we close: a command must never read the runner's terminal.
      stdio: ['pipe', 'pipe', 'pipe'],
      input: Buffer.from(opts.stdin ?? ''), // a Buffer, even empty, makes zx end stdin
      nothrow: true,
      quiet: true,
      verbose: false,
      // timeout(1) in argv ends the command; this only catches a wrapper that hangs.
      timeout: opts.timeoutMs === undefined ? undefined : opts.timeoutMs + (TIMEOUT_KILL_AFTER_S + 5) * 1000,
      killSignal: 'SIGKILL',
      spawn: spawnIgnoringEpipe as typeof spawn,
    })`${argv}`;
    if (opts.onStdout) run.stdout.on('data', (b: Buffer) => opts.onStdout!(b.toString('utf8')));
    const out = await run;
    const stdout = out.stdout;
    const stderr = out.stderr;
    let code = out.exitCode ?? signalExitCode(out.signal);
    const timedOut = opts.timeoutMs !== undefined && (code === 124 || code === 137 || out.exitCode === null) && Date.now() - started >= opts.timeoutMs;
    if (timedOut) code = 124;
    const res: ExecResult = timedOut ? { code, stdout, stderr, timedOut } : { code, stdout, stderr };
    const refused = becomeFailure(this.name, res, copts);
    if (refused) throw refused;
    return res;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
