// A cross-process lock file: created with O_EXCL, holds the owner's PID and start time, so a lock
// left by a crashed process is recognised as stale and taken over.

import fs from 'node:fs';
import { isAlive, readStat, sleep, type ProcRecord } from './proc.js';

function tryCreate(file: string, me: ProcRecord): boolean {
  try {
    fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o644 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function holder(file: string): ProcRecord | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ProcRecord;
  } catch {
    return null; // gone, or being written right now
  }
}

/**
 * Run `fn` while holding the lock `file`. Waits (polling) while another live process holds it.
 * `onWait` is called once when we have to wait, e.g. to log who we are waiting for.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, opts: { timeoutMs?: number; onWait?: (owner: ProcRecord) => void } = {}): Promise<T> {
  const st = readStat(process.pid);
  const me: ProcRecord = { pid: process.pid, startTime: st?.startTime ?? '', expect: 'node' };
  const until = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  let told = false;
  for (;;) {
    if (tryCreate(file, me)) break;
    const h = holder(file);
    if (h && !isAlive(h)) {
      // Stale: its owner died. Remove it only if it is still that same stale lock.
      const again = holder(file);
      if (again && again.pid === h.pid && again.startTime === h.startTime) fs.rmSync(file, { force: true });
      continue;
    }
    if (h && !told) {
      told = true;
      opts.onWait?.(h);
    }
    if (Date.now() > until) throw new Error(`timed out waiting for lock ${file} (held by PID ${h?.pid})`);
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    const h = holder(file);
    if (h && h.pid === me.pid && h.startTime === me.startTime) fs.rmSync(file, { force: true });
  }
}
