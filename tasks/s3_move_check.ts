// s3_move_check: the move's preflight, read-only, before anything of the move changes. With
// s3cmd (configs from stdin in a private temp dir, removed at once): the old bucket can be listed
// with the old keys; the new keys are accepted by the new endpoint; the new bucket, if it exists
// already, is readable with them and holds no object under an old key with another size. Each
// failure is refused with the reason and the fix.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';
import { renderS3cfg } from './s3cmd_config.js';
import { parseLsRecursive as listing } from './lib/s3cmd.js';
import { moveSpec, sameTargetProblem, type MoveParams as Params, type S3Target } from './lib/rclone.js';

const MARK = '#MSKPLAY-NEW-CONFIG';
const cfg = (t: S3Target) =>
  renderS3cfg({
    path: '-',
    owner: 'root',
    endpoint: t.endpoint,
    access_key: t.access_key,
    secret_key: t.secret_key,
    use_https: t.use_https,
    path_style: t.path_style,
  });

export function checkScript(p: Params): string {
  const s3 = (which: string, args: string) => `s3cmd -c "$d/${which}" --no-progress ${args} 2>&1; echo "== rc $?"`;
  return [
    'command -v s3cmd >/dev/null 2>&1 || exit 127',
    'umask 077; d=$(mktemp -d); trap \'rm -rf "$d"\' EXIT',
    `awk -v d="$d" '$0 == "${MARK}" { f = d "/new"; next } { print > (f ? f : d "/old") }'`,
    'echo "== old"',
    s3('old', sh`ls -r ${`s3://${p.from.bucket}/${p.prefix}/`}`),
    'echo "== keys"',
    s3('new', 'ls'),
    'echo "== new"',
    s3('new', sh`ls -r ${`s3://${p.to.bucket}/${p.prefix}/`}`),
  ].join('\n');
}

/** The sections of the script's output: name -> { rc, text }. */
export function sections(out: string): Map<string, { rc: number; text: string }> {
  const m = new Map<string, { rc: number; text: string }>();
  for (const part of out.split(/^== (?=old$|keys$|new$)/m).slice(1)) {
    const [name, ...rest] = part.split('\n');
    const body = rest.join('\n');
    const rc = /^== rc (\d+)$/m.exec(body);
    m.set(name!.trim(), { rc: rc ? Number(rc[1]) : -1, text: body.replace(/^== rc \d+$/m, '').trim() });
  }
  return m;
}

const last = (t: string) => t.split('\n').filter(Boolean).slice(-1)[0] ?? '';

export default defineTask<Params, { done: string }>({
  name: 's3_move_check',
  doc: "A move's preflight, read-only: the old bucket can be listed, the new keys work, the new bucket holds nothing that clashes",
  params: moveSpec,
  example: "- s3_move_check: { from: { endpoint: ewr1.vultrobjects.com, bucket: old-drive, access_key: '…', secret_key: '…' }, to: { … }, prefix: misskey }",
  validate: sameTargetProblem,
  probes: (p) => [{ kind: 'cmd', cmd: checkScript(p), stdin: `${cfg(p.from)}${MARK}\n${cfg(p.to)}` }],
  plan: (ctx, p, [r]) => {
    const res = r as CmdState;
    if (res.code === 127) {
      if (ctx.check) return { action: 'skip', msg: 's3cmd is not installed yet: the move is checked once it is' };
      throw new TaskError('s3cmd is not installed', 'the move play installs it first');
    }
    const s = sections(res.stdout);
    const old = s.get('old');
    if (!old || old.rc !== 0)
      throw new TaskError(
        `the old bucket ${p.from.bucket} at ${p.from.endpoint} cannot be listed with the old keys: ${last(old?.text ?? res.stderr)}`,
        'set MSK_S3_OLD_ACCESS_KEY / MSK_S3_OLD_SECRET_KEY to keys that may list and read it (and check move_from_endpoint, move_from_bucket)',
      );
    const keys = s.get('keys');
    if (!keys || keys.rc !== 0)
      throw new TaskError(
        `the new keys are not accepted by ${p.to.endpoint}: ${last(keys?.text ?? '')}`,
        'set MSK_S3_ACCESS_KEY / MSK_S3_SECRET_KEY to keys of the new provider that may create, list and write buckets',
      );
    const src = listing(old.text, p.from.bucket, p.prefix);
    const bytes = [...src.values()].reduce((a, b) => a + b, 0);
    const nw = s.get('new');
    // s3cmd's exit 12 is "not found": the bucket does not exist yet (the storage play makes it).
    if (nw && nw.rc === 12)
      return {
        action: 'ok',
        msg: `old bucket: ${src.size} object(s), ${bytes} bytes; the new bucket ${p.to.bucket} is made next`,
        totals: { objects: src.size, bytes, copied: 0, left: src.size, bytes_left: bytes },
      };
    if (!nw || nw.rc !== 0)
      throw new TaskError(
        `the new bucket ${p.to.bucket} at ${p.to.endpoint} exists but cannot be listed with the new keys: ${last(nw?.text ?? '')}`,
        "is it someone else's? pick another s3_bucket, or keys that own it",
      );
    const dst = listing(nw.text, p.to.bucket, p.prefix);
    const clash = [...src].filter(([k, size]) => dst.has(k) && dst.get(k) !== size).map(([k]) => k);
    if (clash.length)
      throw new TaskError(
        `the new bucket ${p.to.bucket} already holds ${clash.length} object(s) under ${p.prefix}/ with an old key but another size (e.g. ${p.prefix}/${clash[0]}): a move never overwrites them`,
        'point the move at an empty bucket, or compare and remove those objects by hand',
      );
    const done = [...src.keys()].filter((k) => dst.has(k)).length;
    const bytesLeft = [...src].filter(([k]) => !dst.has(k)).reduce((a, [, n]) => a + n, 0);
    const counts = `old bucket: ${src.size} object(s), ${bytes} bytes; ${done} already in ${p.to.bucket}, ${src.size - done} left`;
    // Reading is not writing: an existing new bucket the keys may list but not write would only fail
    // at the copy. So the run writes a test object at the bucket's root (outside the drive prefix)
    // and removes it again; check mode only says it would.
    return {
      action: 'run',
      summary: `${counts}; a write test on ${p.to.bucket}`,
      steps: [{ cmd: writeTestScript(p.to.bucket), stdin: cfg(p.to), what: `the write test on ${p.to.bucket}` }],
      totals: { objects: src.size, bytes, copied: done, left: src.size - done, bytes_left: bytesLeft },
      data: { done: `${counts}; the new keys may write to ${p.to.bucket}` },
    };
  },
  apply: async (ctx, p, change) => {
    const step = change.steps![0]!;
    const r = await ctx.conn.exec(step.cmd, { stdin: step.stdin });
    const why = last(r.stdout + r.stderr);
    if (r.code === 3)
      throw new TaskError(
        `the new keys may list ${p.to.bucket} at ${p.to.endpoint} but not write to it: ${why}`,
        'set MSK_S3_ACCESS_KEY / MSK_S3_SECRET_KEY to keys that may write the new bucket (or pick another s3_bucket); nothing was copied',
      );
    if (r.code === 4)
      throw new TaskError(`the write test object in ${p.to.bucket} could not be removed: ${why}`, 'remove the .mskplay-write-test-* object by hand');
    if (r.code !== 0) throw new TaskError(`the write test on ${p.to.bucket} failed (exit ${r.code}): ${why}`);
    return { changed: false, msg: change.data.done };
  },
});

/** Put a test object at the bucket's root and remove it (the new bucket's config on stdin). */
export function writeTestScript(bucket: string): string {
  return [
    'umask 077; d=$(mktemp -d); trap \'rm -rf "$d"\' EXIT; cat > "$d/new"',
    'k=".mskplay-write-test-$(date +%s)-$$"; echo "mskplay write test" > "$d/o"',
    sh`s3cmd -c "$d/new" --no-progress put "$d/o" ${`s3://${bucket}/`}"$k" 2>&1 || exit 3`,
    sh`s3cmd -c "$d/new" --no-progress del ${`s3://${bucket}/`}"$k" 2>&1 || exit 4`,
  ].join('\n');
}
