// Measuring helpers: medians, CPU seconds (a process tree, the hosts' cgroups, the whole machine),
// the machine's description, and timing a command's start-up.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { worldCgroup } from '../test/world/cgroup.js';

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** CPU seconds used so far by these world hosts (every process of each host's cgroup). */
export function hostsCpuS(names: string[]): number {
  let usec = 0;
  for (const n of names) {
    try {
      const m = /^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(worldCgroup(n), 'cpu.stat'), 'utf8'));
      usec += m ? Number(m[1]) : 0;
    } catch {
      /* host gone */
    }
  }
  return usec / 1e6;
}

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat). */
export function machineBusyS(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / clockTicks();
}

let ticks = 0;
/** USER_HZ, the unit of /proc/stat (100 on every usual Linux). */
function clockTicks(): number {
  if (!ticks) ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return ticks;
}

export interface Timed {
  code: number;
  wallS: number;
  /** user+sys CPU seconds of the command and every child it waited for (bash `times`). */
  cpuS: number;
}

/**
 * Run argv with output to a log file; wall time from spawn to exit. CPU comes from bash's `times`
 * after the command (children's user and sys), written to fd 3 so it never mixes with the log.
 */
export function timed(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; log: string; timeoutMs?: number }): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(opts.log, 'w', 0o600);
    const t0 = process.hrtime.bigint();
    const child = spawn('/bin/bash', ['-c', '"$@"; rc=$?; times >&3; exit $rc', 'bench', ...argv], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', out, out, 'pipe'],
    });
    let times = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => (times += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.closeSync(out);
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      // Second line of `times`: children's user and sys, e.g. "0m1.234s 0m0.567s".
      const line = times.trim().split('\n')[1] ?? '';
      const cpuS = [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
      resolve({ code: code ?? -1, wallS, cpuS });
    });
  });
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  date: string;
  node: string;
  ansible: string;
}

export function describeMachine(ansibleVersion: string): Machine {
  let osName = '';
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    /* unknown */
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    os: osName,
    date: new Date().toISOString(),
    node: process.version,
    ansible: ansibleVersion,
  };
}
