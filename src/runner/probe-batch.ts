// Answer many read-only Probes with ONE exec: a POSIX sh script (coreutils only) sent on stdin.
//
// Why it looks like this:
// - The remote command is the constant PROBE_COMMAND; paths, commands and secrets travel in the
//   script on stdin, so nothing variable shows up in `ps` on the host.
// - The script is read whole ($(cat)) before anything runs, so no probe can eat it from stdin; each
//   cmd probe gets /dev/null or its own data.
// - A cmd probe's stdin is base64 in a shell variable, decoded on the host by printf (a builtin, so no
//   argv) | base64 -d. Not a heredoc: bash (Fedora's /bin/sh) writes large heredocs to a temp file,
//   and check mode must not create files (nor put secrets on disk).
// - Every record is one line "<nonce> <index> <key> <value>", values are numbers, fixed words or
//   base64, so nothing a command prints can forge or break a record; lines without the random nonce
//   (e.g. a noisy .bashrc) are ignored.

import crypto from 'node:crypto';
import { TaskError } from '../errors.js';
import { shq } from '../connection/quote.js';
import type { Connection, ExecResult } from '../connection/types.js';
import type { CmdState, FileState, Probe, ProbeResult } from '../task.js';

export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Reads the script from stdin, then runs it. Constant: safe to show in ps and logs. */
export const PROBE_COMMAND = 's=$(cat); eval "$s"';

// Helpers defined once per script. _N is the record prefix, fd 4 the script's real stdout.
//  _pf INDEX PATH MAXBYTES       file probe: F (type or "missing"), S mode/size/owner/group, L target, C content
//  _pc INDEX CMD HAS_STDIN       cmd probe: R exit code, E stderr, O stdout. Stdout of the command goes
//                                through fd 3 to one base64, stderr to another; a read error of the
//                                content is flagged by a '!' (not a base64 character).
// (A plain template literal: \\n and \${ are escaped so the shell sees \n and ${.)
const HELPERS = `
exec 4>&1
_pf() {
  if [ -L "$2" ]; then _t=link
  elif [ -f "$2" ]; then _t=file
  elif [ -d "$2" ]; then _t=dir
  elif [ -e "$2" ]; then _t=other
  else printf '%s %s F missing\\n' "$_N" "$1"; return 0; fi
  printf '%s %s F %s\\n' "$_N" "$1" "$_t"
  _s=$(stat -c '%a/%s/%U/%G' -- "$2" 2>/dev/null) || return 0
  printf '%s %s S %s\\n' "$_N" "$1" "$_s"
  if [ "$_t" = link ]; then
    printf '%s %s L %s\\n' "$_N" "$1" "$(readlink -n -- "$2" | base64 -w0)"
  elif [ "$_t" = file ]; then
    _z=\${_s#*/}; _z=\${_z%%/*}
    if [ "$_z" -le "$3" ]; then
      _c=$( { { head -c "$(($3 + 1))" -- "$2" 2>/dev/null || printf '!' >&3; } | base64 -w0; } 3>&1 )
      printf '%s %s C %s\\n' "$_N" "$1" "$_c"
    fi
  fi
}
_run() {
  if [ "$2" = 1 ]; then printf '%s' "$_d" | base64 -d | (_c=$1; set --; eval "$_c")
  else (_c=$1; set --; eval "$_c") </dev/null; fi
}
_pc() {
  _o=$( { _e=$( { _run "$2" "$3" 2>&1 1>&3 3>&- 4>&-; printf '%s %s R %s\\n' "$_N" "$1" "$?" >&4; } | base64 -w0 )
          printf '%s %s E %s\\n' "$_N" "$1" "$_e" >&4; } 3>&1 | base64 -w0 )
  printf '%s %s O %s\\n' "$_N" "$1" "$_o"
}
`;

export interface ProbeScript {
  script: string;
  /** Random record prefix; parseProbeOutput finds it from the BEGIN line when not given. */
  marker: string;
}

function maxBytesOf(p: Extract<Probe, { kind: 'file' }>): number {
  const m = p.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(m) || m < 0) throw new Error(`probe ${p.path}: maxBytes must be a non-negative integer`);
  return m;
}

/** Build the script answering `probes` in order. Every value in it is quoted by shq. */
export function buildProbeScript(probes: readonly Probe[]): ProbeScript {
  const marker = crypto.randomBytes(16).toString('hex');
  const lines = [`_N=${marker}`, HELPERS.trim(), `printf '%s BEGIN\\n' "$_N"`];
  probes.forEach((p, i) => {
    if (p.kind === 'file') {
      lines.push(`_pf ${i} ${shq(p.path)} ${maxBytesOf(p)}`);
    } else if (p.stdin !== undefined) {
      // base64 has no quote characters, so single quotes hold it safely.
      lines.push(`_d='${Buffer.from(p.stdin, 'utf8').toString('base64')}'; _pc ${i} ${shq(p.cmd)} 1; _d=`);
    } else {
      lines.push(`_pc ${i} ${shq(p.cmd)} 0`);
    }
  });
  lines.push(`printf '%s END\\n' "$_N"`, '');
  return { script: lines.join('\n'), marker };
}

type Records = Map<number, Map<string, string>>;

function readRecords(out: string, probes: readonly Probe[], marker?: string): Records {
  const lines = out.split('\n');
  let start = -1;
  if (marker) start = lines.indexOf(`${marker} BEGIN`);
  else {
    start = lines.findIndex((l) => /^[0-9a-f]{32} BEGIN$/.test(l));
    if (start >= 0) marker = lines[start]!.slice(0, 32);
  }
  if (start < 0 || !marker) throw new TaskError('probe output has no start marker (the probe script did not run)');
  const prefix = `${marker} `;
  const recs: Records = new Map();
  let ended = false;
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(prefix)) continue;
    const rest = line.slice(prefix.length);
    if (rest === 'END') {
      ended = true;
      break;
    }
    const m = /^(\d+) ([A-Z]) ?(.*)$/s.exec(rest);
    if (!m) throw new TaskError('probe output has a malformed record');
    const i = Number(m[1]);
    if (i >= probes.length) throw new TaskError(`probe output names probe ${i}, but only ${probes.length} were sent`);
    if (!recs.has(i)) recs.set(i, new Map());
    recs.get(i)!.set(m[2]!, m[3]!);
  }
  if (!ended) throw new TaskError('probe output is truncated (no end marker): the script was interrupted');
  return recs;
}

function b64(s: string): Buffer {
  return Buffer.from(s, 'base64');
}

function fileState(p: Extract<Probe, { kind: 'file' }>, r: Map<string, string> | undefined, i: number): FileState {
  const t = r?.get('F');
  if (t === undefined) throw new TaskError(`probe ${i} (file ${p.path}): no answer in the probe output`);
  if (t === 'missing') return { kind: 'file', exists: false };
  if (t !== 'file' && t !== 'dir' && t !== 'link' && t !== 'other') throw new TaskError(`probe ${i}: unknown file type`);
  const st: FileState = { kind: 'file', exists: true, type: t };
  const s = r!.get('S');
  if (s !== undefined) {
    // mode/size/owner/group; '/' cannot occur in user or group names.
    const [mode, size, owner, group] = s.split('/');
    st.mode = mode!.padStart(4, '0');
    st.size = Number(size);
    st.owner = owner;
    st.group = group;
  }
  const l = r!.get('L');
  if (l !== undefined) st.linkTarget = b64(l).toString('utf8');
  const c = r!.get('C');
  if (c !== undefined && !c.includes('!')) {
    const bytes = b64(c);
    if (bytes.length <= maxBytesOf(p)) st.content = bytes.toString('utf8');
  }
  return st;
}

function cmdState(p: Extract<Probe, { kind: 'cmd' }>, r: Map<string, string> | undefined, i: number): CmdState {
  const code = r?.get('R');
  const so = r?.get('O');
  const se = r?.get('E');
  if (code === undefined || so === undefined || se === undefined || !/^\d+$/.test(code)) {
    // Not p.cmd in the message: it is harmless by contract, but short messages read better.
    throw new TaskError(`probe ${i} (command): incomplete answer in the probe output`);
  }
  return { kind: 'cmd', code: Number(code), stdout: b64(so).toString('utf8'), stderr: b64(se).toString('utf8') };
}

/** Turn the script's stdout back into one result per probe (same order). Throws TaskError if incomplete. */
export function parseProbeOutput(out: string, probes: readonly Probe[], marker?: string): ProbeResult[] {
  const recs = readRecords(out, probes, marker);
  return probes.map((p, i) => (p.kind === 'file' ? fileState(p, recs.get(i), i) : cmdState(p, recs.get(i), i)));
}

/**
 * Answer all probes with one exec round trip (none at all for an empty list).
 * timeoutMs bounds the whole batch (a hung probe command would otherwise hang the host).
 */
export async function runProbes(conn: Connection, probes: readonly Probe[], opts: { timeoutMs?: number } = {}): Promise<ProbeResult[]> {
  if (probes.length === 0) return [];
  const { script, marker } = buildProbeScript(probes);
  const res = await runScript(conn, script, opts);
  if (res.timedOut) throw new TaskError(`${conn.name}: probes did not finish within ${opts.timeoutMs} ms`);
  try {
    return parseProbeOutput(res.stdout, probes, marker);
  } catch (e) {
    if (!(e instanceof TaskError)) throw e;
    const err = res.stderr.trim().slice(0, 500);
    throw new TaskError(`${conn.name}: ${e.message} (exit ${res.code})`, err || undefined);
  }
}

/**
 * Run a whole sh script in one round trip the same way (constant command, script on stdin), e.g.
 * fact gathering. The script must not read stdin itself: it is already consumed.
 */
export async function runScript(conn: Connection, script: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
  return conn.exec(PROBE_COMMAND, { stdin: script, timeoutMs: opts.timeoutMs });
}
