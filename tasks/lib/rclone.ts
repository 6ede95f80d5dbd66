// rclone helpers for moving a drive between two S3 endpoints (two providers or regions at once,
// which s3cmd cannot: one endpoint per config). Remotes are defined by RCLONE_CONFIG_<NAME>_*
// variables read from stdin, so keys never reach a command line or a file.

import { bool, obj, params, str, type Infer } from '../../src/params-spec.js';
import type { ApplyContext } from '../../src/task.js';

export const s3Target = () =>
  obj({
    endpoint: str({ minLength: 1 }).doc('host[:port] of the S3 service, no scheme'),
    bucket: str({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }).doc('bucket name'),
    access_key: str({ minLength: 1 }).secret().doc('access key of this endpoint'),
    secret_key: str({ minLength: 1 }).secret().doc('secret key of this endpoint'),
    use_https: bool().optional().doc('HTTPS (default true)'),
    path_style: bool().optional().doc('path-style addressing (default false: <bucket>.<endpoint>)'),
  });
export interface S3Target {
  endpoint: string;
  bucket: string;
  access_key: string;
  secret_key: string;
  use_https?: boolean;
  path_style?: boolean;
}

/** The env lines of remote NAME (stdin of the command, read by RCLONE_ENV). */
export function remoteEnv(name: 'OLD' | 'NEW', t: S3Target): string {
  const v = (k: string, x: string) => `RCLONE_CONFIG_${name}_${k}='${x.replace(/'/g, `'\\''`)}'`;
  return [
    v('TYPE', 's3'),
    v('PROVIDER', 'Other'),
    v('ENDPOINT', `${t.use_https === false ? 'http' : 'https'}://${t.endpoint}`),
    v('ACCESS_KEY_ID', t.access_key),
    v('SECRET_ACCESS_KEY', t.secret_key),
    v('FORCE_PATH_STYLE', t.path_style ? 'true' : 'false'),
    // The bucket exists (the storage tasks made it): no create or check call per transfer.
    v('NO_CHECK_BUCKET', 'true'),
  ].join('\n');
}

/** The preamble of every rclone command: remotes from stdin, no config file. */
export const RCLONE_ENV = 'set -a; eval "$(cat)"; set +a; export RCLONE_CONFIG=/dev/null;';

export interface Entry {
  size: number;
  md5?: string;
  type?: string;
}

/** `rclone lsjson -R --files-only --hash` output -> key (under the listed path) -> entry. */
export function parseLsjson(out: string): Map<string, Entry> {
  const m = new Map<string, Entry>();
  const rows = JSON.parse(out || '[]') as { Path: string; Size: number; MimeType?: string; Hashes?: Record<string, string> }[];
  for (const r of rows) m.set(r.Path, { size: r.Size, md5: r.Hashes?.md5 || undefined, type: r.MimeType });
  return m;
}

/** rclone's version from `rclone version` (first line `rclone v1.60.1-DEV`), or null. */
export function rcloneVersion(out: string): [number, number] | null {
  const m = /rclone v(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** `--metadata` (Content-Type, Content-Disposition, Cache-Control across S3 copies) came in rclone 1.59. */
export const METADATA_SINCE: [number, number] = [1, 59];

/** The params of every move task (s3_move_check, s3_copy, s3_verify): declared once. */
export const moveSpec = params({
  from: s3Target().doc('the old bucket (its keys need list and read)'),
  to: s3Target().doc('the new bucket (its keys need list, read and write)'),
  prefix: str({ pattern: '^[a-zA-Z0-9._-]+$' }).doc('the drive prefix (the same on both sides)'),
});
export type MoveParams = Infer<typeof moveSpec>;

/** stdin of a command on both remotes. */
export const remotesEnv = (p: MoveParams) => `${remoteEnv('OLD', p.from)}\n${remoteEnv('NEW', p.to)}\n`;

/**
 * Both buckets with the same endpoint and keys (a move between buckets of one provider and
 * account): one remote for both sides, so rclone copies server-side (S3 CopyObject), no bytes
 * through the host.
 */
export const serverSide = (p: MoveParams) =>
  p.from.endpoint === p.to.endpoint &&
  p.from.access_key === p.to.access_key &&
  p.from.secret_key === p.to.secret_key &&
  (p.from.use_https ?? true) === (p.to.use_https ?? true) &&
  (p.from.path_style ?? false) === (p.to.path_style ?? false);

/** A move onto its own source is refused in preflight (validate). */
export function sameTargetProblem(p: MoveParams): { param: string; message: string }[] {
  return p.from.endpoint === p.to.endpoint && p.from.bucket === p.to.bucket
    ? [{ param: 'to', message: `the move's target is its source (${p.to.bucket} at ${p.to.endpoint}): set the new bucket or endpoint` }]
    : [];
}

/** Flags of every copy: parallel, retried, a stats line every 2 s and a line per object (for progress). */
export const COPY_FLAGS = '--transfers 8 --checkers 16 --retries 3 --stats 2s --stats-one-line --stats-log-level NOTICE -v';

/** The last line of a copy command: rclone's exit status (its output streams through a pipe). */
const EXIT_MARK = 'MSKPLAY_RCLONE_EXIT';

/**
 * Run `rclone copy ...` (cmd, with COPY_FLAGS) with its output streamed: objects done so far and
 * rclone's bytes, rate and ETA go to the live progress. Returns rclone's exit status, the objects
 * copied and the last lines of its output.
 */
export async function runRcloneCopy(ctx: ApplyContext, cmd: string, stdin: string, total: number): Promise<{ code: number; done: number; tail: string }> {
  let done = 0;
  let stats = '';
  let shown = 0;
  let rest = '';
  const r = await ctx.conn.exec(`${cmd} 2>&1; echo "${EXIT_MARK} $?"`, {
    stdin,
    onStdout: (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        if (/ INFO\s*: .*: Copied \(/.test(l)) done++;
        const m = / NOTICE:\s*(.+)$/.exec(l);
        if (m) stats = m[1]!.trim();
      }
      if (Date.now() - shown >= 1000) {
        shown = Date.now();
        ctx.progress(`${done}/${total} object(s)${stats ? `, ${stats}` : ''}`);
      }
    },
  });
  const exit = new RegExp(`^${EXIT_MARK} (\\d+)$`, 'm').exec(r.stdout);
  const tail = r.stdout
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith(EXIT_MARK))
    .slice(-5)
    .join('\n');
  return { code: exit ? Number(exit[1]) : r.code, done, tail };
}
