// systemd_dropin: /etc/systemd/system/<unit>.d/<name>.conf from a settings map, checked with
// `systemd-analyze verify` (which only warns on bad values: any line about our file counts as a
// failure) and put back as it was when the check fails. Pair it with a daemon-reload handler.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { anyOf, bool, list, params, raw, record, str, type Infer } from '../src/params-spec.js';
import { defineTask, type FileState } from '../src/task.js';
import { compareFile, describeChange, fileDiff, writeFileAtomic } from './lib/files.js';

type Settings = Record<string, Record<string, string | number | boolean | (string | number)[]>>;

const value = anyOf(str({ pattern: '^[^\\n]*$' }), raw<number>({ type: 'number' }), bool(), list(anyOf(str(), raw<number>({ type: 'number' }))));
const spec = params({
  unit: str({ pattern: '^[a-zA-Z0-9@._:-]+\\.(service|socket|timer|mount|target|path)$' }).doc('the unit it extends (nginx.service)'),
  name: str({ pattern: '^[a-zA-Z0-9._-]+$' }).doc('file name of the drop-in, without .conf'),
  settings: record(record(value), { minProperties: 1 }).doc('section -> key -> value (a list writes the key once per item)'),
});
type Params = Infer<typeof spec>;

export function dropinPath(p: Params): string {
  return `/etc/systemd/system/${p.unit}.d/${p.name}.conf`;
}

export function renderDropin(settings: Settings): string {
  const out = ['# Managed by mskplay (systemd_dropin): edits here are reported as drift and replaced.'];
  for (const [section, keys] of Object.entries(settings)) {
    out.push('', `[${section}]`);
    for (const [k, v] of Object.entries(keys)) {
      for (const item of Array.isArray(v) ? v : [v]) out.push(`${k}=${typeof item === 'boolean' ? (item ? 'yes' : 'no') : item}`);
    }
  }
  return out.join('\n') + '\n';
}

export default defineTask<Params, { before: FileState; content: string }>({
  name: 'systemd_dropin',
  doc: 'Write a systemd drop-in (validated with systemd-analyze verify, restored on failure)',
  params: spec,
  example: '- systemd_dropin: { unit: nginx.service, name: restart, settings: { Service: { Restart: always, RestartSec: 5 } } }',
  probes: (p) => [{ kind: 'file', path: dropinPath(p) }],
  plan: (_ctx, p, [r]) => {
    const path = dropinPath(p);
    const content = renderDropin(p.settings);
    const change = compareFile({ path, content, mode: '0644' }, r as FileState);
    if (!change) return { action: 'ok' };
    return {
      action: 'change',
      summary: describeChange(path, change),
      diffs: [fileDiff(path, r as FileState, content)],
      data: { before: r as FileState, content },
    };
  },
  apply: async (ctx, p, plan) => {
    const path = dropinPath(p);
    await writeFileAtomic(ctx.conn, { path, content: plan.data.content, owner: 'root', group: 'root', mode: '0644' }, { parents: true });
    const v = await ctx.conn.exec(sh`systemd-analyze verify --man=no -- ${p.unit}`);
    const complaints = v.stderr.split('\n').filter((l) => l.includes(path) || /\.d\/.*\.conf/.test(l));
    if (v.code !== 0 || complaints.length) {
      const { before } = plan.data;
      if (before.exists && before.content !== undefined)
        await writeFileAtomic(ctx.conn, { path, content: before.content, owner: before.owner, group: before.group, mode: before.mode });
      else await ctx.conn.exec(sh`rm -f -- ${path}`);
      throw new TaskError(
        `systemd-analyze verify rejected the drop-in for ${p.unit}; the previous state was put back`,
        (complaints.length ? complaints : v.stderr.split('\n')).join('\n').trim(),
      );
    }
    return { changed: true };
  },
});
