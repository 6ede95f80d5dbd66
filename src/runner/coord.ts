// What hosts of one run wait for from each other; everything else runs fully in parallel.
//
//  - serial (a play keyword, Ansible's): the play's hosts go in batches; a host of batch k starts
//    the play only when every host of batch k-1 has finished it, and not at all once a batch failed
//    beyond max_fail_percentage (Ansible: without it, only a batch where every host failed stops
//    the rest). With `partition`, batches are formed within each partition (e.g. one Misskey
//    instance) and partitions roll side by side.
//  - a play with a partition starts on a host only when every other host of its partition has
//    reached it (finished the plays before), as Ansible's linear strategy does for all hosts: an app
//    server uploads only after the proxy host of its instance has made the bucket. Plays without
//    a partition, and partitions of one host, do not wait.
//  - run_once (a task keyword, Ansible's): the task runs on one host of the play's partition (the
//    first one still running whose `when` holds, in inventory order) and its result counts for the
//    others, which wait for it. A host whose `when` is false skips it and is never picked (Ansible
//    would ask only the first host, and skip it everywhere if that one's `when` is false). A
//    failure there is a failure on every host of the partition.
//  - shares: what a task hands to the other hosts of its partition (Plan/ApplyResult `share`: the
//    certificate of an instance's proxy hosts), read by a task of a later play of the same
//    partition, after the play gate made sure the sharing host got there first. In memory only.

import type { Share, SharedLookup } from '../task.js';
import type { TaskResult } from './types.js';

/** The coordination of one play for one host, computed before any host is touched. */
export interface PlayCoord {
  /** The partition's name ('' when the play has none: all its hosts are one partition). */
  group: string;
  /** Hosts of the play in this partition, in inventory order (after --limit). */
  members: string[];
  /** The partition's hosts before --limit (for saying where a once-only task would run). */
  everyone?: string[];
  /** run_once task id -> the member likely to run it (the first whose condition may hold): it reads its probes ahead. */
  onceOwners?: Map<number, string>;
  /** The serial batches of this partition (one batch of all members without serial). */
  batches: string[][];
  /** Ansible's max_fail_percentage, if set. */
  maxFailPercentage?: number;
}

/** May the host start the play; `waited`: other hosts ran meanwhile, so what it read before may be stale. */
export type PlayGate = { go: true; waited: boolean } | { go: false; reason: string };
export type OnceRole = { owner: true } | { owner: false; result: TaskResult };

interface Waiter<T> {
  resolve: (v: T) => void;
}

interface BatchState {
  done: Set<string>;
  failed: Set<string>;
}

interface OnceSlot {
  members: string[];
  /** Members whose `when` is false for it: they skip it and never run it for the others. */
  declined: Set<string>;
  result?: TaskResult;
  owner?: string;
  waiting: Map<string, Waiter<OnceRole>>;
}

export class Coordinator {
  /** Hosts that stopped (failed, unreachable, or at their end): never waited for again. */
  private gone = new Set<string>();
  private batches = new Map<string, BatchState>();
  private playWaiters: { key: string; host: string; c: PlayCoord; index: number; play: number; partitioned: boolean; w: Waiter<PlayGate> }[] = [];
  private once = new Map<string, OnceSlot>();
  private shares = new Map<string, Share>();

  /** The furthest play each host has reached (entered, perhaps still waiting at its gate). */
  private reached = new Map<string, number>();

  /**
   * Wait until the host's batch of this play may start; with `partitioned`, also until every other
   * host of the partition has reached this play.
   */
  enterPlay(play: number, host: string, c: PlayCoord, partitioned = false): Promise<PlayGate> {
    this.reached.set(host, Math.max(play, this.reached.get(host) ?? -1));
    const index = c.batches.findIndex((b) => b.includes(host));
    const key = `${play}\u0000${c.group}`;
    if (index <= 0 && (!partitioned || c.members.length < 2)) {
      this.wake();
      return Promise.resolve({ go: true, waited: false });
    }
    return new Promise((resolve) => {
      this.playWaiters.push({ key, host, c, index: Math.max(0, index), play, partitioned, w: { resolve } });
      this.wake();
    });
  }

  /** The host has finished the play (ok: without a failure). */
  leavePlay(play: number, host: string, c: PlayCoord, ok: boolean): void {
    const key = `${play}\u0000${c.group}`;
    const index = c.batches.findIndex((b) => b.includes(host));
    const s = this.batch(key, index);
    s.done.add(host);
    if (!ok) s.failed.add(host);
    this.wake();
  }

  /** The host does nothing more in this run: no one waits for it. */
  hostGone(host: string): void {
    this.gone.add(host);
    this.wake();
  }

  /** run_once: this host runs the task (owner), or gets the owner's result. */
  runOnce(play: number, task: number, host: string, c: PlayCoord): Promise<OnceRole> {
    const slot = this.slot(play, task, c);
    if (slot.result) return Promise.resolve({ owner: false, result: slot.result });
    const s = slot;
    return new Promise((resolve) => {
      s.waiting.set(host, { resolve });
      this.wake();
    });
  }

  /** A host skips a run_once task (its `when` is false): it is not one to run it for the others. */
  declineOnce(play: number, task: number, host: string, c: PlayCoord): void {
    this.slot(play, task, c).declined.add(host);
    this.wake();
  }

  private slot(play: number, task: number, c: PlayCoord): OnceSlot {
    const key = `${play}\u0000${task}\u0000${c.group}`;
    let slot = this.once.get(key);
    if (!slot) this.once.set(key, (slot = { members: c.members, declined: new Set(), waiting: new Map() }));
    return slot;
  }

  /** The owner's result of a run_once task: handed to every other host of the partition. */
  publishOnce(play: number, task: number, c: PlayCoord, result: TaskResult): void {
    const slot = this.once.get(`${play}\u0000${task}\u0000${c.group}`);
    if (!slot) return;
    slot.result = result;
    this.wake();
  }

  /** A host hands `share` to the other hosts of its partition (the last one under a key wins). */
  publish(c: PlayCoord, host: string, share: Share): void {
    this.shares.set(`${c.group}\u0000${host}\u0000${share.key}`, share);
  }

  /** What `from`, a host of this partition, shared under `key`; or why nothing is there. */
  lookup(c: PlayCoord, from: string, key: string): SharedLookup {
    if (!c.members.includes(from))
      return { missing: `${from} is not one of the hosts of this run in its partition (${c.members.join(', ')}): left out by --limit, or not in it` };
    const s = this.shares.get(`${c.group}\u0000${from}\u0000${key}`);
    if (!s) return { missing: `${from} did not get to it in this run (it failed or was unreachable before)` };
    return s.values ? { values: s.values } : { pending: true };
  }

  private batch(key: string, index: number): BatchState {
    const k = `${key}\u0000${index}`;
    let s = this.batches.get(k);
    if (!s) this.batches.set(k, (s = { done: new Set(), failed: new Set() }));
    return s;
  }

  /** Re-decide every wait after something happened (a play left, a host gone, a result). */
  private wake(): void {
    this.playWaiters = this.playWaiters.filter((pw) => {
      // Linear within a partition: the others have finished the plays before this one (or stopped).
      if (pw.partitioned && pw.c.members.some((m) => m !== pw.host && !this.gone.has(m) && (this.reached.get(m) ?? -1) < pw.play)) return true;
      const gate = this.gate(pw.key, pw.c, pw.index);
      if (gate === 'wait') return true;
      pw.w.resolve(gate);
      return false;
    });
    for (const slot of this.once.values()) {
      if (slot.result) {
        for (const w of slot.waiting.values()) w.resolve({ owner: false, result: slot.result });
        slot.waiting.clear();
        continue;
      }
      // The owner: the first member still running. It runs once it asks; the others keep waiting.
      const owner = slot.members.find((m) => !this.gone.has(m) && !slot.declined.has(m));
      if (owner && owner !== slot.owner && slot.waiting.has(owner)) {
        slot.owner = owner;
        slot.waiting.get(owner)!.resolve({ owner: true });
        slot.waiting.delete(owner);
      }
    }
  }

  /** May batch `index` start: every earlier batch finished (or gone) and none failed too much. */
  private gate(key: string, c: PlayCoord, index: number): PlayGate | 'wait' {
    for (let i = 0; i < index; i++) {
      const s = this.batch(key, i);
      const batch = c.batches[i]!;
      const finished = batch.every((h) => s.done.has(h) || this.gone.has(h));
      if (!finished) return 'wait';
      // A host that stopped before this play is out of its batch (Ansible batches the hosts left).
      const inPlay = batch.filter((h) => s.done.has(h));
      const failed = inPlay.filter((h) => s.failed.has(h));
      if (!inPlay.length) continue;
      const stop = c.maxFailPercentage !== undefined ? (failed.length * 100) / inPlay.length > c.maxFailPercentage : failed.length === inPlay.length;
      if (stop)
        return {
          go: false,
          reason: `not run: the batch before failed on ${failed.join(', ')}${c.maxFailPercentage !== undefined ? ` (max_fail_percentage ${c.maxFailPercentage})` : ' (every host of it)'}`,
        };
    }
    return { go: true, waited: true };
  }
}

/**
 * Ansible's serial: a batch size (number or "N%") or a list of them, the last repeated; the
 * percentage of the partition's hosts, rounded down, at least 1.
 */
export function serialBatches(hosts: string[], serial: (number | string)[] | undefined): string[][] {
  if (!serial?.length || !hosts.length) return [hosts];
  const out: string[][] = [];
  let i = 0;
  let k = 0;
  while (i < hosts.length) {
    const s = serial[Math.min(k++, serial.length - 1)]!;
    const n = typeof s === 'number' ? s : Math.floor((Number(s.replace('%', '')) * hosts.length) / 100);
    const size = Math.max(1, n);
    out.push(hosts.slice(i, i + size));
    i += size;
  }
  return out;
}
