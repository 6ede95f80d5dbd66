import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaskError } from '../../src/errors.js';
import { LocalConnection } from '../../src/connection/local.js';
import { buildProbeScript, parseProbeOutput, PROBE_COMMAND, runProbes, runScript } from '../../src/runner/probe-batch.js';
import type { CmdState, FileState, Probe } from '../../src/task.js';

/** Run PROBE_COMMAND with `shell` exactly as a connection would: script on stdin. */
function runWith(shell: string[], script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = shell;
    const child = spawn(cmd!, [...args, PROBE_COMMAND], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(script);
  });
}

async function probeWith(shell: string[], probes: Probe[]) {
  const { script, marker } = buildProbeScript(probes);
  const r = await runWith(shell, script);
  assert.equal(r.code, 0, r.stderr);
  return parseProbeOutput(r.stdout, probes, marker);
}

const SHELLS: Record<string, string[]> = {
  dash: ['/bin/dash', '-c'],
  // Fedora's /bin/sh is bash in POSIX mode.
  'bash --posix': ['/bin/bash', '--posix', '-c'],
};

let dir: string;
const BIN = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const NASTY_NAME = "we'ird $(name) `x`\nnew line";

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-batch-'));
  fs.writeFileSync(path.join(dir, 'plain.conf'), 'server {\n  listen 80;\n}\n');
  fs.chmodSync(path.join(dir, 'plain.conf'), 0o640);
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.writeFileSync(path.join(dir, 'binary'), BIN);
  fs.writeFileSync(path.join(dir, 'utf8'), 'héllo wörld ✓ 日本語\n');
  fs.writeFileSync(path.join(dir, 'big'), Buffer.alloc(5000, 'a'));
  fs.writeFileSync(path.join(dir, 'exact'), Buffer.alloc(100, 'b'));
  fs.writeFileSync(path.join(dir, NASTY_NAME), 'nasty\n');
  fs.writeFileSync(path.join(dir, '-dash'), 'dash\n');
  fs.writeFileSync(path.join(dir, 'setuid'), '#!/bin/sh\n');
  fs.chmodSync(path.join(dir, 'setuid'), 0o4755);
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.chmodSync(path.join(dir, 'sub'), 0o1777);
  fs.symlinkSync('plain.conf', path.join(dir, 'link'));
  fs.symlinkSync('/nonexistent/target', path.join(dir, 'dangling'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const p = (name: string) => path.join(dir, name);

for (const [label, shell] of Object.entries(SHELLS)) {
  describe(`probe-batch with ${label}`, () => {
    it('answers file probes: regular, empty, missing, dir, symlinks, modes', async () => {
      const probes: Probe[] = [
        { kind: 'file', path: p('plain.conf') },
        { kind: 'file', path: p('empty') },
        { kind: 'file', path: p('missing') },
        { kind: 'file', path: p('sub') },
        { kind: 'file', path: p('link') },
        { kind: 'file', path: p('dangling') },
        { kind: 'file', path: p('setuid') },
        { kind: 'file', path: '/dev/null' },
        { kind: 'file', path: p('missing/deeper') },
      ];
      const [plain, empty, missing, sub, link, dangling, setuid, devnull, deeper] = (await probeWith(shell, probes)) as FileState[];
      const me = os.userInfo().username;
      assert.deepEqual(plain, {
        kind: 'file',
        exists: true,
        type: 'file',
        mode: '0640',
        size: 24,
        owner: me,
        group: plain!.group,
        content: 'server {\n  listen 80;\n}\n',
      });
      assert.ok(plain!.group && plain!.group.length > 0);
      assert.equal(empty!.content, '');
      assert.equal(empty!.size, 0);
      assert.deepEqual(missing, { kind: 'file', exists: false });
      assert.equal(sub!.type, 'dir');
      assert.equal(sub!.mode, '1777');
      assert.equal(sub!.content, undefined);
      assert.equal(link!.type, 'link');
      assert.equal(link!.linkTarget, 'plain.conf');
      assert.equal(link!.content, undefined);
      assert.equal(dangling!.exists, true, 'a dangling symlink still exists as a link');
      assert.equal(dangling!.type, 'link');
      assert.equal(dangling!.linkTarget, '/nonexistent/target');
      assert.equal(setuid!.mode, '4755');
      assert.equal(devnull!.type, 'other');
      assert.equal(devnull!.content, undefined);
      assert.deepEqual(deeper, { kind: 'file', exists: false });
    });

    it('carries binary, UTF-8 and size limits exactly', async () => {
      const probes: Probe[] = [
        { kind: 'file', path: p('binary') },
        { kind: 'file', path: p('utf8') },
        { kind: 'file', path: p('big'), maxBytes: 4999 },
        { kind: 'file', path: p('big') },
        { kind: 'file', path: p('exact'), maxBytes: 100 },
        { kind: 'file', path: p('exact'), maxBytes: 0 },
      ];
      const [bin, utf8, bigCut, bigAll, exact, zero] = (await probeWith(shell, probes)) as FileState[];
      assert.equal(bin!.size, 256);
      assert.equal(bin!.content, BIN.toString('utf8'));
      assert.equal(utf8!.content, 'héllo wörld ✓ 日本語\n');
      assert.equal(bigCut!.size, 5000);
      assert.equal(bigCut!.content, undefined, 'over maxBytes: no content');
      assert.equal(bigAll!.content, 'a'.repeat(5000));
      assert.equal(exact!.content, 'b'.repeat(100));
      assert.equal(zero!.content, undefined);
    });

    it('quotes paths with quotes, $(), backticks, newlines and a leading dash', async () => {
      const [nasty, dash] = (await probeWith(shell, [
        { kind: 'file', path: p(NASTY_NAME) },
        { kind: 'file', path: p('-dash') },
      ])) as FileState[];
      assert.equal(nasty!.content, 'nasty\n');
      assert.equal(dash!.content, 'dash\n');
      const [rel] = (await probeWith(shell, [{ kind: 'file', path: '-n' }])) as FileState[];
      assert.equal(rel!.exists, false);
    });

    it('answers cmd probes: exit codes, stdout, stderr, and keeps going after failures', async () => {
      const probes: Probe[] = [
        { kind: 'cmd', cmd: 'echo out; echo err >&2; exit 7' },
        { kind: 'cmd', cmd: 'exit 0' },
        { kind: 'cmd', cmd: 'no-such-command-xyz' },
        { kind: 'cmd', cmd: 'printf "no newline"' },
        { kind: 'cmd', cmd: "/bin/sh -c 'kill -9 $$'" },
        { kind: 'cmd', cmd: 'head -c 3000000 /dev/zero | tr "\\0" x' },
        { kind: 'cmd', cmd: 'echo "$1" "$#"' },
        { kind: 'cmd', cmd: 'printf "%s" "héllo ✓"' },
      ];
      const r = (await probeWith(shell, probes)) as CmdState[];
      assert.deepEqual(r[0], { kind: 'cmd', code: 7, stdout: 'out\n', stderr: 'err\n' });
      assert.deepEqual(r[1], { kind: 'cmd', code: 0, stdout: '', stderr: '' });
      assert.equal(r[2]!.code, 127);
      assert.match(r[2]!.stderr, /not found/);
      assert.equal(r[3]!.stdout, 'no newline');
      assert.equal(r[4]!.code, 137);
      assert.equal(r[5]!.stdout.length, 3_000_000);
      assert.equal(r[6]!.stdout, ' 0\n', 'the command sees no positional parameters of the script');
      assert.equal(r[7]!.stdout, 'héllo ✓');
    });

    it('framing cannot be forged by what a command prints, even knowing the marker', async () => {
      const probes: Probe[] = [
        { kind: 'cmd', cmd: 'printf "%s END\\n%s 1 R 99\\n" "$_N" "$_N"; printf "%s END\\n" "$_N" >&2' },
        { kind: 'cmd', cmd: 'printf "%s END\\n" "$_N" >&4; printf "%s END\\n" "$_N" >&3; echo after' },
        { kind: 'file', path: p('plain.conf') },
      ];
      const [a, b, f] = await probeWith(shell, probes);
      assert.match((a as CmdState).stdout, / END\n[0-9a-f]{32} 1 R 99\n$/);
      assert.equal((b as CmdState).stdout, 'after\n', 'fd 3 and 4 are closed for the command');
      assert.match((b as CmdState).stderr, /Bad file descriptor|bad/i);
      assert.equal((f as FileState).exists, true);
    });

    it('gives each command its own stdin: /dev/null or its data, never the script', async () => {
      const secret = "s3cr3t 'quote' $(x) `y`\nline2\n\0binary-ish ✓";
      const probes: Probe[] = [
        { kind: 'cmd', cmd: 'cat' },
        { kind: 'cmd', cmd: 'cat', stdin: secret },
        { kind: 'cmd', cmd: 'wc -c' },
        { kind: 'cmd', cmd: 'read a; echo "got:$a"', stdin: 'first\nsecond\n' },
        { kind: 'cmd', cmd: 'cat', stdin: '' },
        { kind: 'cmd', cmd: 'cat', stdin: 'x'.repeat(300_000) },
      ];
      const r = (await probeWith(shell, probes)) as CmdState[];
      assert.equal(r[0]!.stdout, '');
      assert.equal(r[1]!.stdout, secret);
      assert.equal(r[2]!.stdout.trim(), '0');
      assert.equal(r[3]!.stdout, 'got:first\n');
      assert.equal(r[4]!.stdout, '');
      assert.equal(r[5]!.stdout.length, 300_000);
    });

    it('a command that exits or changes directory does not affect the next probes', async () => {
      const r = await probeWith(shell, [
        { kind: 'cmd', cmd: 'cd /; exit 3' },
        { kind: 'cmd', cmd: 'set -e; false; echo unreachable' },
        { kind: 'file', path: p('plain.conf') },
        { kind: 'cmd', cmd: 'echo still here' },
      ]);
      assert.equal((r[0] as CmdState).code, 3);
      assert.equal((r[1] as CmdState).code, 1);
      assert.equal((r[2] as FileState).exists, true);
      assert.equal((r[3] as CmdState).stdout, 'still here\n');
    });
  });
}

describe('probe-batch script and parser', () => {
  it('puts no secret in the script in clear, and none in any process argv on the host', async () => {
    const secret = 'TOPSECRET-' + Math.random().toString(36).slice(2);
    const b64 = Buffer.from(secret).toString('base64');
    // The probe reads its stdin, then dumps the argv of every process on this machine.
    const dump = 'cat; echo; for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done';
    const probes: Probe[] = [{ kind: 'cmd', cmd: dump, stdin: secret }];
    const { script } = buildProbeScript(probes);
    assert.ok(!script.includes(secret), 'secret in clear in the script');
    const conn = new LocalConnection('localhost');
    const [r] = (await runProbes(conn, probes)) as CmdState[];
    const [stdinEcho, ...argvLines] = r!.stdout.split('\n');
    assert.equal(stdinEcho, secret, 'the command got the secret on stdin');
    assert.ok(argvLines.length > 5, 'the argv dump ran');
    assert.ok(
      argvLines.some((l) => l.includes('eval "$s"')),
      'the dump saw the probe shell while it ran',
    );
    for (const l of argvLines) {
      assert.ok(!l.includes(secret) && !l.includes(b64), `secret in a process argv: ${l.slice(0, 80)}`);
    }
  });

  it('uses one exec for many probes through a real connection, and none for no probes', async () => {
    const conn = new LocalConnection('localhost');
    const probes: Probe[] = [...Array.from({ length: 20 }, (_, i): Probe => ({ kind: 'cmd', cmd: `echo ${i}` })), { kind: 'file', path: p('plain.conf') }];
    const r = await runProbes(conn, probes);
    assert.equal(conn.commandCount, 1);
    assert.equal((r[19] as CmdState).stdout, '19\n');
    assert.deepEqual(await runProbes(conn, []), []);
    assert.equal(conn.commandCount, 1);
  });

  it('the remote command is constant; the helpers create no files (no heredoc, no temp file)', () => {
    const { script } = buildProbeScript([]);
    assert.equal(PROBE_COMMAND, 's=$(cat); eval "$s"');
    assert.ok(!script.includes('<<'), 'no heredoc');
    assert.ok(!/mktemp|\/tmp/.test(script));
    // every output redirection goes to a file descriptor or /dev/null
    for (const m of script.matchAll(/\d*>(?!&)\s*([^\s)]+)/g)) assert.equal(m[1], '/dev/null', `redirect to ${m[0]}`);
  });

  it('ignores noise before the start marker (a chatty login shell) and checks completeness', () => {
    const probes: Probe[] = [
      { kind: 'file', path: '/x' },
      { kind: 'cmd', cmd: 'true' },
    ];
    const m = 'ab'.repeat(16);
    const good = `Welcome!\n${m} BEGIN\n${m} 0 F missing\n${m} 1 R 0\n${m} 1 E \n${m} 1 O aGk=\n${m} END\n`;
    assert.deepEqual(parseProbeOutput(good, probes), [
      { kind: 'file', exists: false },
      { kind: 'cmd', code: 0, stdout: 'hi', stderr: '' },
    ]);
    assert.throws(() => parseProbeOutput(good.replace(`${m} END\n`, ''), probes), TaskError);
    assert.throws(() => parseProbeOutput(good.replace(`${m} 1 O aGk=\n`, ''), probes), /probe 1.*incomplete/);
    assert.throws(() => parseProbeOutput('no marker at all', probes), /no start marker/);
    assert.throws(() => parseProbeOutput(good, probes, 'cd'.repeat(16)), /no start marker/);
  });

  it('a hung probe command ends the batch at timeoutMs with a TaskError', async () => {
    const conn = new LocalConnection('localhost');
    await assert.rejects(
      runProbes(conn, [{ kind: 'cmd', cmd: 'sleep 5151' }], { timeoutMs: 400 }),
      (e: unknown) => e instanceof TaskError && /did not finish within 400 ms/.test(e.message),
    );
  });

  it('runScript runs a whole script in one exec with the constant command', async () => {
    const conn = new LocalConnection('localhost');
    const r = await runScript(conn, 'a=1\nb=$((a + 1))\necho "$b"; cat; echo done\n');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '2\ndone\n');
    assert.equal(conn.commandCount, 1);
  });
});
