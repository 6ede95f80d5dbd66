// File primitives shared by the file-writing tasks: compare desired vs probed state, write
// atomically (temp file in the same directory, owner/mode set, optional validate, then rename),
// remember what was there for a rollback group, and put it back.

import { TaskError } from '../../src/errors.js';
import { sh } from '../../src/connection/quote.js';
import { runStep } from '../../src/runner/steps.js';
import { bool, path, str } from '../../src/params-spec.js';
import type { Connection } from '../../src/connection/types.js';
import type { ApplyContext, FileDiff, FileState, HostState } from '../../src/task.js';

export interface DesiredFile {
  path: string;
  content: string;
  owner?: string;
  group?: string;
  /** Octal string, e.g. "0644". */
  mode?: string;
}

export interface FileChange {
  create: boolean;
  content: boolean;
  meta: string[];
}

/** Owner, group and mode: every task that makes a file or directory. */
export const metaShape = {
  owner: str({ minLength: 1 }).optional().doc('owner user name'),
  group: str({ minLength: 1 }).optional().doc('group name'),
  mode: str({ pattern: '^0?[0-7]{3,4}$' }).optional().doc('octal mode like "0644"'),
  rollback_group: str().optional().doc('a later validate task (e.g. nginx_validate) restores this file when it fails'),
};

/** Common params of every task that writes a file's content. */
export const contentFileShape = {
  dest: path().doc('absolute path of the file'),
  ...metaShape,
  backup: bool().optional().doc('keep a timestamped copy of the old file next to it'),
  validate: str({ pattern: '%s' }).optional().doc('command run on the candidate file (%s) before it takes effect'),
};

export function normMode(mode: string | undefined): string | undefined {
  if (mode === undefined) return undefined;
  const m = mode.replace(/^0+(?=[0-7]{3,4}$)/, '');
  return m.padStart(4, '0');
}

export function compareFile(want: DesiredFile, have: FileState): FileChange | null {
  if (have.exists && have.type !== 'file') {
    throw new TaskError(`${want.path} exists but is a ${have.type}, not a regular file; move it away first`);
  }
  const change: FileChange = { create: !have.exists, content: false, meta: [] };
  if (have.exists) {
    if (have.content === undefined) throw new TaskError(`${want.path} is too large to compare (${have.size} bytes)`);
    change.content = have.content !== want.content;
    if (want.owner && have.owner !== want.owner) change.meta.push(`owner ${have.owner} -> ${want.owner}`);
    if (want.group && have.group !== want.group) change.meta.push(`group ${have.group} -> ${want.group}`);
    if (want.mode && normMode(have.mode) !== normMode(want.mode)) change.meta.push(`mode ${normMode(have.mode)} -> ${normMode(want.mode)}`);
  }
  return change.create || change.content || change.meta.length ? change : null;
}

export function describeChange(path: string, c: FileChange): string {
  if (c.create) return `create ${path}`;
  const parts = [c.content ? 'content' : '', ...c.meta].filter(Boolean);
  return `update ${path} (${parts.join(', ')})`;
}

export function fileDiff(path: string, have: FileState, content: string): FileDiff {
  return { path, before: have.exists ? (have.content ?? '') : '', after: content };
}

function stamp(): string {
  return new Date().toISOString().replace(/[:]/g, '').replace(/\..*$/, '');
}

export interface WriteOptions {
  backup?: boolean;
  validate?: string;
  /** Make the missing directories above the file first (0755, as with umask 022), in the same command. */
  parents?: boolean;
}

/**
 * Write `want` atomically in one command. Content travels on stdin (never in arguments).
 * Owner/group/mode default to the old file's, else root and 0644 (umask 022).
 */
export async function writeFileAtomic(conn: Connection, want: DesiredFile, opts: WriteOptions = {}): Promise<string | undefined> {
  const p = want.path;
  const backupPath = opts.backup ? `${p}.${stamp()}~` : undefined;
  const lines = [
    'set -e',
    sh`d=$(dirname -- ${p}); b=$(basename -- ${p})`,
    ...(opts.parents ? ['(umask 022; mkdir -p -- "$d")'] : []),
    'umask 077',
    'tmp=$(mktemp "$d/.$b.XXXXXX")',
    `trap 'rm -f "$tmp"' EXIT`,
    'cat > "$tmp"',
    sh`if [ -e ${p} ]; then chown --reference=${p} "$tmp"; chmod --reference=${p} "$tmp"; else chmod 0644 "$tmp"; fi`,
  ];
  if (want.owner || want.group) lines.push(sh`chown ${`${want.owner ?? ''}${want.group ? ':' + want.group : ''}`} "$tmp"`);
  if (want.mode) lines.push(sh`chmod ${normMode(want.mode)!} "$tmp"`);
  if (opts.validate) {
    // Ansible semantics: %s is the candidate file; the command runs before the file takes effect.
    const [before, ...rest] = opts.validate.split('%s');
    lines.push(
      `if ! out=$(${before}"$tmp"${rest.join('"$tmp"')} 2>&1); then echo "$out" >&2; echo "validation failed: ${opts.validate.replace(/["`$\\]/g, '')}" >&2; exit 3; fi`,
    );
  }
  if (backupPath) lines.push(sh`if [ -e ${p} ]; then cp -p -- ${p} ${backupPath}; fi`);
  lines.push(sh`mv -f -- "$tmp" ${p}`, 'trap - EXIT');
  await runStep(conn, { cmd: lines.join('\n'), stdin: want.content, what: `writing ${p}` }, () => undefined);
  return backupPath;
}

/** Set owner/group/mode only. */
export async function setMeta(conn: Connection, path: string, m: { owner?: string; group?: string; mode?: string }, follow = true): Promise<void> {
  const cmds: string[] = [];
  if (m.owner || m.group) cmds.push((follow ? 'chown ' : 'chown -h ') + sh`${`${m.owner ?? ''}${m.group ? ':' + m.group : ''}`} -- ${path}`);
  if (m.mode) cmds.push(sh`chmod ${normMode(m.mode)!} -- ${path}`);
  if (!cmds.length) return;
  await runStep(conn, { cmd: cmds.join(' && '), what: `setting owner/mode of ${path}` }, () => undefined);
}

/** Remember the old state of a file that a rollback group's validation may need to restore. */
export function recordForRollback(state: HostState, group: string | undefined, path: string, before: FileState): void {
  if (!group) return;
  let list = state.rollback.get(group);
  if (!list) state.rollback.set(group, (list = []));
  if (!list.some((e) => e.path === path)) list.push({ path, before });
  state.changedGroups.add(group);
}

/** Put every file of a rollback group back as it was (content, owner, mode; or remove it). */
export async function restoreGroup(ctx: ApplyContext, group: string): Promise<string[]> {
  const restored: string[] = [];
  for (const { path, before } of [...(ctx.state.rollback.get(group) ?? [])].reverse()) {
    if (!before.exists) {
      await ctx.conn.exec(sh`rm -f -- ${path}`);
    } else if (before.type === 'link') {
      await ctx.conn.exec(sh`ln -sfn -- ${before.linkTarget ?? ''} ${path}`);
    } else if (before.type === 'file' && before.content !== undefined) {
      await writeFileAtomic(ctx.conn, { path, content: before.content, owner: before.owner, group: before.group, mode: before.mode });
    } else {
      continue;
    }
    restored.push(path);
  }
  ctx.state.rollback.delete(group);
  ctx.state.changedGroups.delete(group);
  return restored;
}
