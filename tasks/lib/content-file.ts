// Plan/apply for a file whose content is given (copy) or rendered (template): one implementation.

import { TaskError } from '../../src/errors.js';
import type { ApplyContext, FileState, Plan, ProbeResult } from '../../src/task.js';
import { compareFile, describeChange, fileDiff, remember, setMeta, writeFileAtomic, type DesiredFile } from './files.js';

export interface ContentFileParams {
  dest: string;
  owner?: string;
  group?: string;
  mode?: string;
  backup?: boolean;
  validate?: string;
  rollback_group?: string;
}

interface Data {
  want: DesiredFile;
  before: FileState;
  contentChanged: boolean;
}

export function planContentFile(p: ContentFileParams, content: string, results: ProbeResult[]): Plan<Data> {
  const have = results[0];
  if (have?.kind !== 'file') throw new TaskError('internal: expected a file probe');
  const want: DesiredFile = { path: p.dest, content, owner: p.owner, group: p.group, mode: p.mode };
  const change = compareFile(want, have);
  if (!change) return { action: 'ok' };
  return {
    action: 'change',
    summary: describeChange(p.dest, change),
    diffs: change.create || change.content ? [fileDiff(p.dest, have, content)] : [],
    data: { want, before: have, contentChanged: change.create || change.content },
  };
}

export async function applyContentFile(ctx: ApplyContext, p: ContentFileParams, plan: Plan<unknown>): Promise<{ changed: boolean; msg?: string }> {
  if (plan.action !== 'change' || !plan.data) return { changed: false };
  const { want, before, contentChanged } = plan.data as Data;
  remember(ctx.state, p.rollback_group, p.dest, before);
  if (contentChanged) {
    const backup = await writeFileAtomic(ctx.conn, want, { backup: p.backup, validate: p.validate });
    return { changed: true, msg: backup ? `backup: ${backup}` : undefined };
  }
  await setMeta(ctx.conn, p.dest, want);
  return { changed: true };
}
