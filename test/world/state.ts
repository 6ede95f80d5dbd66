// The world's recorded state (runDir/state.json): every process, namespace, link and cgroup it made.
// Written synchronously after each change, so `down` can undo a run that crashed at any point.

import fs from 'node:fs';
import { runPath } from './config.js';
import { writeFileAtomic } from './fsutil.js';
import type { ProcRecord } from './proc.js';
import type { LayerName, Suite } from './layers.js';

export interface HostRecord {
  name: string;
  index: number;
  ip: string;
  layer: LayerName;
  /** Debian suite of the host's layers (absent in states written before suites: bookworm). */
  suite?: Suite;
  /** runDir/hosts/<name>: upper, work, merged, logs, host key. */
  dir: string;
  netns: string;
  /** Root-namespace end of the host's veth pair (on the bridge). */
  veth: string;
  /** The host's cgroup2 subtree (root of its cgroup namespace). */
  cgroup: string;
  /** `unshare` (parent of the host's PID 1), and the host's PID 1 (systemd) as seen from here. */
  unshare?: ProcRecord;
  init?: ProcRecord;
}

export interface WorldState {
  /** The process that runs the world (a test run); absent when started by the CLI. */
  owner?: ProcRecord;
  bridge?: string;
  /** cgroup2 dir holding dnsmasq and the apt proxy. */
  netCgroup?: string;
  dnsmasq?: ProcRecord;
  aptProxy?: ProcRecord;
  hosts: Record<string, HostRecord>;
  /** Kernel settings raised for the hosts: /proc/sys path -> original value. */
  sysctls?: Record<string, string>;
}

export const statePath = () => runPath('state.json');

let current: WorldState | null = null;

export function loadState(): WorldState {
  if (current) return current;
  try {
    current = JSON.parse(fs.readFileSync(statePath(), 'utf8')) as WorldState;
    current.hosts ??= {};
  } catch {
    current = { hosts: {} };
  }
  return current;
}

/** Re-read from disk (another process, e.g. the CLI, may have changed it). */
export function reloadState(): WorldState {
  current = null;
  return loadState();
}

export function saveState(): void {
  if (!current) return;
  writeFileAtomic(statePath(), JSON.stringify(current, null, 2) + '\n');
}

export function updateState(fn: (s: WorldState) => void): void {
  fn(loadState());
  saveState();
}
