// Runs the real CLI (bin/play.js, compiled) as a user would, and hands back what it printed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface PlayResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for "the secret appears nowhere" checks. */
  all: string;
}

export function play(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<PlayResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'play.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      resolve({ code: code ?? -1, stdout, stderr, all: stdout + stderr });
    });
  });
}

/** The PLAY RECAP counts of one host, parsed from the output. */
export function recap(output: string, host: string): Record<string, number> {
  const line = output.split('\n').find((l) => new RegExp(`^${host}\\s+:`).test(l));
  if (!line) throw new Error(`no recap line for ${host} in:\n${output}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

/** The live line of a task on a host ("› <status>: [host] task - msg", without the "› "). */
export function taskLine(output: string, host: string, task: string): string | undefined {
  return output
    .split('\n')
    .map((l) => l.replace(/^› /, ''))
    .find((l) => new RegExp(`^(changed|ok|skipping|fatal): \\[${host}\\] `).test(l) && l.includes(`] ${task}`));
}
