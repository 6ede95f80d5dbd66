// Machine-wide kernel limits the hosts need raised. Every host runs as the same real root user, so
// per-user limits (inotify instances: systemd, logind and dbus take several each) are shared by all
// hosts; the default 128 instances stop systemd from starting at about 25 hosts. Raised values are
// recorded with their originals and put back by `down`.

import fs from 'node:fs';
import { loadState, updateState } from './state.js';

const RAISE: Record<string, number> = {
  '/proc/sys/fs/inotify/max_user_instances': 8192,
  '/proc/sys/fs/inotify/max_user_watches': 1048576,
};

export function raiseLimits(): void {
  for (const [file, want] of Object.entries(RAISE)) {
    const now = Number(fs.readFileSync(file, 'utf8').trim());
    if (now >= want) continue;
    updateState((s) => {
      s.sysctls ??= {};
      s.sysctls[file] ??= String(now); // the original, not a value we set earlier
    });
    fs.writeFileSync(file, String(want));
  }
}

/** Put back what raiseLimits changed. */
export function restoreLimits(): string[] {
  const problems: string[] = [];
  for (const [file, value] of Object.entries(loadState().sysctls ?? {})) {
    try {
      fs.writeFileSync(file, value);
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
    }
  }
  updateState((s) => delete s.sysctls);
  return problems;
}
