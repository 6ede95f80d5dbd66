// Plan/apply for a file whose content is given (copy) or rendered (template): one implementation.

import { TaskError } from '../../src/errors.js';
import type { InferShape } from '../../src/params-spec.js';
import type { ApplyContext, Change, FileState, Plan, ProbeResult } from '../../src/task.js';
import { compareFile, contentFileShape, describeChange, fileDiff, recordForRollback, setMeta, writeFileAtomic, type DesiredFile } from './files.js';

export type ContentFileParams = InferShape<typeof contentFileShape>;

export interface ContentFileData {
  want: DesiredFile;
  before: FileState;
  contentChanged: boolean;
}

export function planContentFile(p: ContentFileParams, content: string, results: ProbeResult[]): Plan<ContentFileData> {
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

export async function applyContentFile(
  ctx: ApplyContext,
  p: ContentFileParams,
  change: Change<ContentFileData>,
  opts: { parents?: boolean } = {},
): Promise<{ changed: boolean; msg?: string }> {
  const { want, before, contentChanged } = change.data;
  recordForRollback(ctx.state, p.rollback_group, p.dest, before);
  if (contentChanged) {
    const backup = await writeFileAtomic(ctx.conn, want, { backup: p.backup, validate: p.validate, parents: opts.parents });
    return { changed: true, msg: backup ? `backup: ${backup}` : undefined };
  }
  await setMeta(ctx.conn, p.dest, want);
  return { changed: true };
}
