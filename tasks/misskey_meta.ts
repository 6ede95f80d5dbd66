// misskey_meta: Misskey v11/v12 object-storage settings, kept in the database and set through the
// admin API with a token (sent on stdin, never in arguments). Reads first (v12 admin/meta; v11 meta
// with detail), then sends only the fields that differ to admin/update-meta. v10: skipped.
import { TaskError } from '../src/errors.js';
import { defineTask, type CmdState, type FileState } from '../src/task.js';
import { FORCE_HINT, RETIRED_PROBLEM, baseUrlConflict, desiredDrive, driveShape, resolveLine, validateDrive, type MisskeyLine } from './lib/misskey.js';
import { params, str, type Infer } from '../src/params-spec.js';
import { apiCallCommand, describeApiError, metaFields, parseApiAnswer, type MetaFields } from './lib/misskey-api.js';

const spec = params({
  ...driveShape,
  api_url: str({ pattern: '^https?://[^/]+$' }).doc("Misskey's own address on the host (http://127.0.0.1:3000)"),
  token: str()
    .secret()
    .doc("an admin's API token (sent on stdin, never in arguments); may be empty only with version auto, for a host that turns out to be v10"),
});

export default defineTask<Infer<typeof spec>, Partial<MetaFields>>({
  name: 'misskey_meta',
  doc: 'Set Misskey v11/v12 object storage through the admin API (reads first, sends only what differs)',
  params: spec,
  example:
    "- misskey_meta: { version: v12, path: /home/misskey/misskey, api_url: 'http://127.0.0.1:3000', token: \"{{ misskey_token }}\", base_url: 'https://s3.ex.social', bucket: ex-drive, prefix: misskey, endpoint: ewr1.vultrobjects.com, access_key: ..., secret_key: ... }",
  validate: validateDrive,
  // With the line known, only its read is sent (one API call on the host); with `auto` both are
  // prepared, since which one counts is known only from package.json, read in the same batch.
  // Without a token (version auto, MSK_MISSKEY_TOKEN unset) nothing is asked: fine for a v10 host.
  probes: (p) => [
    { kind: 'file', path: `${p.path}/package.json` },
    ...(!p.token
      ? []
      : p.version === 'v12' || p.version === 'auto'
        ? [{ kind: 'cmd' as const, cmd: apiCallCommand(p.api_url, 'admin/meta'), stdin: JSON.stringify({ i: p.token }) }]
        : []),
    ...(!p.token
      ? []
      : p.version === 'v11' || p.version === 'auto'
        ? [{ kind: 'cmd' as const, cmd: apiCallCommand(p.api_url, 'meta'), stdin: JSON.stringify({ i: p.token, detail: true }) }]
        : []),
  ],
  plan: (_ctx, p, [pkg, ...reads]) => {
    let line: MisskeyLine;
    try {
      line = resolveLine(p.version, pkg as FileState, p.path);
    } catch (e) {
      throw new TaskError((e as Error).message);
    }
    if (line === 'v10') return { action: 'skip', msg: 'Misskey v10 keeps drive settings in .config/default.yml (see misskey_config)' };
    if (!p.token)
      throw new TaskError(
        `this checkout is Misskey ${line}: its object storage is set through the admin API, which needs an admin's token: set MSK_MISSKEY_TOKEN`,
      );
    const endpoint = line === 'v12' ? 'admin/meta' : 'meta';
    // reads: [admin/meta, meta] for auto, else the one read of the given line.
    const read = p.version === 'auto' ? reads[line === 'v12' ? 0 : 1] : reads[0];
    const ans = parseApiAnswer(read as CmdState);
    if (ans.status !== 200) throw new TaskError(describeApiError(endpoint, ans));
    const cur = ans.body as Partial<MetaFields> & { version?: string };
    // m544 (v10) has admin/meta too, without any object storage field, and its update-meta drops
    // them silently: planning on that answer would report "changed" on every run for ever.
    if (!('objectStorageBucket' in cur) && /^10\./.test(cur.version ?? '')) {
      throw new TaskError(
        `${p.api_url} answers like Misskey v10 (version ${cur.version}), which keeps drive settings in .config/default.yml: set misskey_version: v10 (or auto)`,
      );
    }
    if (line === 'v12' && !('objectStorageBucket' in cur)) {
      throw new TaskError(`admin/meta at ${p.api_url} shows no object storage settings: is this Misskey v12? set misskey_version to the right line (or auto)`);
    }
    if (line === 'v11' && !('objectStorageBucket' in cur)) {
      throw new TaskError('the token does not belong to an admin or moderator: meta with detail does not show the object storage settings');
    }
    // A retire turns object storage off and leaves the rest as it is (Misskey still deletes the
    // objects of files removed later with those settings, while the bucket exists).
    const want: Partial<MetaFields> = p.local ? { useObjectStorage: false } : metaFields(desiredDrive(p));
    const diff: Partial<MetaFields> = {};
    for (const [k, v] of Object.entries(want) as [keyof MetaFields, unknown][]) {
      if ((cur[k] ?? null) !== v) (diff as Record<string, unknown>)[k] = v;
    }
    if (Object.keys(diff).length === 0) return { action: 'ok' };
    // Off, with this very bucket and baseUrl still set: what a retire leaves (a fresh meta has none).
    if (!p.local && !p.force_base_url && cur.useObjectStorage === false && cur.objectStorageBucket === p.bucket && cur.objectStorageBaseUrl === p.base_url)
      throw new TaskError(`Misskey ${line} at ${p.api_url}: ${RETIRED_PROBLEM}`);
    if (!p.force_base_url && !p.local) {
      const conflict = baseUrlConflict(
        {
          baseUrl: cur.objectStorageBaseUrl,
          bucket: cur.objectStorageBucket,
          // An endpoint stored as host + port (as this task once wrote it) is the same target as host:port.
          endpoint: cur.objectStorageEndpoint && cur.objectStoragePort ? `${cur.objectStorageEndpoint}:${cur.objectStoragePort}` : cur.objectStorageEndpoint,
          enabled: cur.useObjectStorage === true,
        },
        desiredDrive(p),
        { bucket: p.move_from_bucket, endpoint: p.move_from_endpoint },
      );
      if (conflict) throw new TaskError(`Misskey ${line} at ${p.api_url}: ${conflict}`, FORCE_HINT);
    }
    const show = (o: Partial<MetaFields>) =>
      Object.keys(diff)
        .sort()
        .map((k) => `${k}: ${JSON.stringify((o as Record<string, unknown>)[k] ?? null)}`)
        .join('\n') + '\n';
    return {
      action: 'change',
      summary: `update ${Object.keys(diff).length} object storage setting(s) through ${endpoint === 'meta' ? 'v11' : 'v12'} admin/update-meta`,
      diffs: [{ path: `${p.api_url}/api/${endpoint} (object storage)`, before: show(cur), after: show(want) }],
      steps: [{ cmd: apiCallCommand(p.api_url, 'admin/update-meta'), stdin: JSON.stringify({ i: p.token, ...diff }), what: 'admin/update-meta' }],
      data: diff,
    };
  },
  // Its own apply: the answer is judged by its HTTP status, which the command prints.
  apply: async (ctx, _p, change) => {
    const step = change.steps![0];
    const r = await ctx.conn.exec(step.cmd, { stdin: step.stdin });
    const ans = parseApiAnswer({ kind: 'cmd', ...r });
    if (ans.status !== 204 && ans.status !== 200) throw new TaskError(describeApiError('admin/update-meta', ans));
    return { changed: true };
  },
});
