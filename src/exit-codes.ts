// Exit codes (documented in README.md). Ansible's 0/2/4 where they mean the same thing.
export const EXIT = {
  OK: 0,
  /** Unexpected internal error (a bug): please report it. */
  INTERNAL: 1,
  /** A task failed on at least one host. */
  FAILED: 2,
  /** --check found changes to make (drift) and nothing failed. */
  DRIFT: 3,
  /** At least one host was unreachable (wins over FAILED, as in Ansible). */
  UNREACHABLE: 4,
  /** Bad input or usage: nothing ran on any host. */
  BAD_INPUT: 5,
  /** Ctrl-C (SIGINT) or SIGTERM: the run was cut off; running it again goes on where it stopped. */
  INTERRUPTED: 130,
} as const;

import type { HostReport } from './runner/types.js';

export function exitCodeFor(reports: HostReport[], check: boolean): number {
  if (reports.some((r) => r.unreachable)) return EXIT.UNREACHABLE;
  if (reports.some((r) => r.counts.failed > 0)) return EXIT.FAILED;
  if (check && reports.some((r) => r.counts.changed > 0)) return EXIT.DRIFT;
  return EXIT.OK;
}
