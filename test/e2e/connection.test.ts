// The connection layer against a real OpenSSH sshd on 127.0.0.1 (its own config, host keys,
// authorized keys and log), plus real sudo with throwaway users.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { UnreachableError } from '../../src/errors.js';
import { BecomeError } from '../../src/connection/command.js';
import { connect } from '../../src/connection/connect.js';
import { sh } from '../../src/connection/quote.js';
import { SshConnection } from '../../src/connection/ssh.js';
import { resolveConnectSpec } from '../../src/connection/ssh-config.js';
import type { ConnectSpec, Connection, HostKeyPolicy } from '../../src/connection/types.js';
import { runProbes } from '../../src/runner/probe-batch.js';
import type { CmdState, FileState } from '../../src/task.js';
import { serverMissing } from '../prereq.js';

const SSHD = '/usr/sbin/sshd';
const SUDO_USER = 'msstest-sudo'; // passwordless sudo
const NOPW_USER = 'msstest-nopw'; // no sudo rule: sudo -n asks for a password
const SUDOERS = '/etc/sudoers.d/msstest-connection';

let dir: string;
let port: number;
let sshd: ChildProcess | undefined;
const log: string[] = [];
let usersMade = false;

const f = (name: string) => path.join(dir, name);

function keygen(file: string, type = 'ed25519'): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', path.basename(file), '-f', file]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function count(re: RegExp): number {
  return log.filter((l) => re.test(l)).length;
}

function dropUser(u: string): void {
  try {
    execFileSync('userdel', ['-r', u], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
}

function makeUser(u: string): void {
  dropUser(u);
  execFileSync('useradd', ['-m', '-s', '/bin/sh', u]);
  // '*' = no password but not locked: sshd refuses key logins to locked ('!') accounts without PAM.
  execFileSync('usermod', ['-p', '*', u]);
  fs.copyFileSync(f('authorized'), f(`auth/${u}`));
}

/**
 * A spec for the test sshd, built through the real resolver (no ssh config, no agent). It logs in
 * as the sudo test user by default: this machine's root ~/.bashrc (which bash reads for ssh
 * commands) takes seconds to run, and is not ours to change.
 */
function spec(over: Partial<ConnectSpec> & { policy?: HostKeyPolicy; kh?: string } = {}): ConnectSpec {
  const s = resolveConnectSpec(
    'sshd-test',
    { ansible_host: '127.0.0.1', ansible_port: port, ansible_user: SUDO_USER, ansible_ssh_private_key_file: f('id_client') },
    { sshConfigFile: f('empty_config'), hostKeyPolicy: over.policy ?? 'strict', knownHostsFiles: [over.kh ?? f('known_hosts')] },
  );
  delete s.agent;
  const { policy: _p, kh: _k, ...rest } = over;
  return { ...s, ...rest };
}

async function withConn<T>(s: ConnectSpec, fn: (c: Connection) => Promise<T>): Promise<T> {
  const c = await connect(s);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

async function rejectsUnreachable(p: Promise<unknown>, re: RegExp): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UnreachableError, `expected UnreachableError, got ${String(e)}`);
    assert.match(e.message, re);
    return e.message;
  }
  assert.fail('expected the connection to fail');
}

describe('e2e: connection over a real sshd', function () {
  this.timeout(30_000);

  before(async function () {
    this.timeout(60_000);
    if (!fs.existsSync(SSHD)) serverMissing(`e2e connection: ${SSHD} not found (apt-get install openssh-server)`);
    if (process.getuid?.() !== 0) serverMissing('e2e connection: needs root (test users, sudoers drop-in, sshd)');
    for (const tool of ['ssh-keygen', 'ssh-keyscan', 'sudo', 'useradd']) {
      try {
        execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      } catch {
        serverMissing(`e2e connection: ${tool} not found (apt-get install openssh-client sudo passwd)`);
      }
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-sshd-'));
    fs.chmodSync(dir, 0o755); // test users read their authorized keys under it
    fs.mkdirSync(f('auth'), { mode: 0o755 });
    keygen(f('host_ed25519'));
    keygen(f('host_rsa'), 'rsa');
    keygen(f('other_host_ed25519')); // a key the server does NOT have ("changed" tests)
    keygen(f('id_client'));
    keygen(f('id_wrong'));
    fs.copyFileSync(f('id_client.pub'), f('authorized'));
    fs.copyFileSync(f('authorized'), f('auth/root'));
    fs.writeFileSync(f('empty_config'), '');

    makeUser(SUDO_USER);
    makeUser(NOPW_USER);
    usersMade = true;
    fs.writeFileSync(SUDOERS, `${SUDO_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    execFileSync('visudo', ['-c', '-q', '-f', SUDOERS]);

    port = await freePort();
    fs.writeFileSync(
      f('sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${f('host_ed25519')}`,
        `HostKey ${f('host_rsa')}`,
        `PidFile ${f('sshd.pid')}`,
        `AuthorizedKeysFile ${f('auth')}/%u`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
    sshd = spawn(SSHD, ['-D', '-e', '-f', f('sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const logFile = fs.createWriteStream(f('sshd.log'));
    let partial = '';
    sshd.stderr!.on('data', (b: Buffer) => {
      logFile.write(b);
      const lines = (partial + b.toString('utf8')).split('\n');
      partial = lines.pop()!;
      log.push(...lines);
    });
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (log.some((l) => /Server listening on 127\.0\.0\.1/.test(l))) {
          clearInterval(t);
          resolve();
        }
      }, 50);
      sshd!.once('exit', (code) => {
        clearInterval(t);
        reject(new Error(`sshd exited with ${code}:\n${log.join('\n')}`));
      });
    });
    // The fix the error message recommends, done with the real tool.
    const scan = execFileSync('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    fs.writeFileSync(f('known_hosts'), scan);
  });

  after(async () => {
    if (sshd && sshd.exitCode === null) {
      const exited = new Promise((r) => sshd!.once('exit', r));
      sshd.kill('SIGTERM');
      await exited;
    }
    if (usersMade) {
      dropUser(SUDO_USER);
      dropUser(NOPW_USER);
      fs.rmSync(SUDOERS, { force: true });
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs commands: exit code, stdout, stderr, quoting across the wire', async () => {
    await withConn(spec(), async (c) => {
      assert.deepEqual(await c.exec('echo out; echo err >&2; exit 3'), { code: 3, stdout: 'out\n', stderr: 'err\n' });
      const nasty = 'it\'s $(not run) `nor this` "q" \\ * ~ ✓\nline2';
      assert.equal((await c.exec(sh`printf %s ${nasty}`)).stdout, nasty);
      assert.equal((await c.exec('printf %s "$0"')).stdout, '/bin/sh', 'runs under /bin/sh -c');
      assert.equal((await c.exec('id -un')).stdout, `${SUDO_USER}\n`);
    });
  });

  it('logs in as root directly (no sudo involved)', async () => {
    await withConn(spec({ user: 'root', become: true, becomeUser: 'root' }), async (c) => {
      assert.equal((await c.exec('id -un; echo "sudo_user=$SUDO_USER"')).stdout, 'root\nsudo_user=\n');
    });
  });

  it('feeds stdin (string and binary Buffer) and closes it', async () => {
    await withConn(spec(), async (c) => {
      assert.equal((await c.exec('cat', { stdin: 'héllo\nworld' })).stdout, 'héllo\nworld');
      const bin = crypto.randomBytes(200_000);
      const sum = crypto.createHash('sha256').update(bin).digest('hex');
      assert.equal((await c.exec('sha256sum', { stdin: bin })).stdout.split(' ')[0], sum);
      assert.equal((await c.exec('cat; echo eof')).stdout, 'eof\n', 'no stdin given: EOF at once');
      assert.equal((await c.exec('exit 0', { stdin: Buffer.alloc(4 << 20) })).code, 0, 'unread stdin is fine');
      assert.equal((await c.exec('echo still')).stdout, 'still\n');
    });
  });

  it('runs many commands as channels of ONE connection (one sshd login)', async () => {
    const acceptedRe = new RegExp(`Accepted publickey for ${SUDO_USER} from 127\\.0\\.0\\.1`);
    const accepted = count(acceptedRe);
    const conns = count(/Connection from 127\.0\.0\.1 port \d+ on 127\.0\.0\.1 port/);
    const c = await connect(spec());
    try {
      for (let i = 0; i < 10; i++) assert.equal((await c.exec(`echo ${i}`)).stdout, `${i}\n`);
      // 20 at once: more than the channels sshd allows per connection, so they queue.
      const par = await Promise.all(Array.from({ length: 20 }, (_, i) => c.exec(sh`sleep 0.2; echo ${`p${i}`}`)));
      par.forEach((r, i) => assert.equal(r.stdout, `p${i}\n`));
      assert.equal(c.commandCount, 30);
    } finally {
      await c.close();
    }
    assert.equal(count(acceptedRe) - accepted, 1, 'exactly one authentication');
    assert.equal(count(/Connection from 127\.0\.0\.1 port \d+ on 127\.0\.0\.1 port/) - conns, 1, 'exactly one TCP connection');
  });

  it('answers a probe batch in one command, with the secret only on stdin', async () => {
    const secret = 'S3-SECRET-' + crypto.randomBytes(8).toString('hex');
    fs.writeFileSync(f('probe.conf'), 'listen 80;\n', { mode: 0o600 });
    await withConn(spec({ become: true }), async (c) => {
      const dump = 'cat; echo; for p in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$p" 2>/dev/null; echo; done';
      const [file, missing, cmd] = await runProbes(c, [
        { kind: 'file', path: f('probe.conf') },
        { kind: 'file', path: f('nope') },
        { kind: 'cmd', cmd: dump, stdin: secret },
      ]);
      assert.equal(c.commandCount, 1);
      assert.deepEqual(file, { kind: 'file', exists: true, type: 'file', mode: '0600', owner: 'root', group: 'root', size: 11, content: 'listen 80;\n' });
      assert.deepEqual(missing, { kind: 'file', exists: false });
      const [echoed, ...argv] = (cmd as CmdState).stdout.split('\n');
      assert.equal(echoed, secret);
      assert.ok(
        argv.some((l) => l.includes('eval "$s"')),
        'the dump saw the remote probe shell',
      );
      const b64 = Buffer.from(secret).toString('base64');
      for (const l of argv) assert.ok(!l.includes(secret) && !l.includes(b64), `secret in argv: ${l.slice(0, 60)}`);
    });
  });

  it('kills a command at timeoutMs (on the host too) and keeps the connection usable', async () => {
    // With become: timeout(1) runs under sudo, so it can kill root's processes.
    await withConn(spec({ become: true }), async (c) => {
      const r = await c.exec('echo started; sleep 3737; echo never', { timeoutMs: 700 });
      assert.equal(r.timedOut, true);
      assert.equal(r.code, 124);
      assert.equal(r.stdout, 'started\n');
      const left = await c.exec('pgrep -f "sleep [3]737" || echo none'); // [3]: not matching pgrep's own shell
      assert.equal(left.stdout, 'none\n', 'no sleep left running on the host');
      assert.equal((await c.exec('echo ok', { timeoutMs: 5000 })).timedOut, undefined);
    });
  });

  it('reports a lost connection as UnreachableError', async () => {
    const c = await connect(spec());
    try {
      // Our command's ancestors: shells, then the sshd processes serving this connection.
      const chain = (await c.exec('p=$$; while [ "$p" -gt 1 ]; do echo "$p"; read -r _ _ _ p _ < /proc/$p/stat; done')).stdout;
      const session = chain
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .find((pid) => {
          try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`sshd: ${SUDO_USER}`);
          } catch {
            return false; // a shell of that command, gone by now
          }
        });
      assert.ok(session, `no sshd session process among ${chain}`);
      process.kill(session, 'SIGKILL');
      await rejectsUnreachable(
        (async () => {
          for (let i = 0; i < 50; i++) {
            await c.exec('true');
            await new Promise((r) => setTimeout(r, 100));
          }
        })(),
        /closed|lost|failed|not connected/,
      );
    } finally {
      await c.close();
    }
  });

  describe('host key checking', () => {
    it('strict: an unknown key fails naming host, fingerprint, file and the fix', async () => {
      const kh = f('kh_empty');
      fs.writeFileSync(kh, '');
      const msg = await rejectsUnreachable(connect(spec({ kh })), /not in known_hosts/);
      const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', f('host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1]!;
      assert.ok(msg.includes(fp), `${msg} should name ${fp}`);
      assert.ok(msg.includes(`127.0.0.1:${port}`));
      assert.ok(msg.includes(kh));
      assert.match(msg, /ssh-keyscan/);
      assert.match(msg, /--host-key-checking accept-new/);
      assert.equal(fs.readFileSync(kh, 'utf8'), '', 'strict writes nothing');
    });

    it('strict: a changed key fails with REMOTE HOST IDENTIFICATION HAS CHANGED', async () => {
      const kh = f('kh_changed');
      const other = fs.readFileSync(f('other_host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      fs.writeFileSync(kh, `[127.0.0.1]:${port} ${other}\n`);
      await rejectsUnreachable(connect(spec({ kh })), /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      await rejectsUnreachable(connect(spec({ kh, policy: 'accept-new' })), /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.equal(fs.readFileSync(kh, 'utf8'), `[127.0.0.1]:${port} ${other}\n`, 'accept-new never replaces a key');
      await withConn(spec({ kh, policy: 'off' }), async (c) => assert.equal((await c.exec('echo off')).stdout, 'off\n'));
    });

    it('strict: accepts hashed entries (ssh-keyscan -H) and a host known only by its RSA key', async () => {
      const hashed = f('kh_hashed');
      fs.writeFileSync(
        hashed,
        execFileSync('ssh-keyscan', ['-H', '-p', String(port), '-t', 'ed25519', '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      );
      assert.match(fs.readFileSync(hashed, 'utf8'), /^\|1\|/);
      await withConn(spec({ kh: hashed }), async (c) => assert.equal((await c.exec('echo h')).stdout, 'h\n'));
      const rsa = f('kh_rsa');
      fs.writeFileSync(
        rsa,
        execFileSync('ssh-keyscan', ['-p', String(port), '-t', 'rsa', '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      );
      await withConn(spec({ kh: rsa }), async (c) => assert.equal((await c.exec('echo r')).stdout, 'r\n'));
    });

    it('accept-new: records an unknown key, then strict accepts it', async () => {
      const kh = path.join(dir, 'fresh', 'known_hosts');
      const c = (await connect(spec({ kh, policy: 'accept-new' }))) as SshConnection;
      await c.close();
      assert.match(c.notices.join('\n'), /Permanently added/);
      const text = fs.readFileSync(kh, 'utf8');
      const hostPub = fs.readFileSync(f('host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      assert.equal(text, `[127.0.0.1]:${port} ${hostPub}\n`);
      await withConn(spec({ kh }), async (c2) => assert.equal((await c2.exec('echo again')).stdout, 'again\n'));
      assert.equal(fs.readFileSync(kh, 'utf8'), text, 'nothing added twice');
    });

    it('works through an ssh config alias (HostName, Port, User, IdentityFile, UserKnownHostsFile)', async () => {
      const cfg = f('ssh_config');
      fs.writeFileSync(
        cfg,
        `Host sshd-alias\n  HostName 127.0.0.1\n  Port ${port}\n  User root\n  IdentityFile ${f('id_client')}\n` +
          `  UserKnownHostsFile ${f('known_hosts')}\n  StrictHostKeyChecking yes\n  IdentityAgent none\n`,
      );
      const s = resolveConnectSpec('sshd-alias', {}, { sshConfigFile: cfg });
      await withConn(s, async (c) => assert.equal((await c.exec('echo alias')).stdout, 'alias\n'));
    });
  });

  describe('authentication and reachability errors', () => {
    it('a key the server does not accept -> UnreachableError without key material', async () => {
      const msg = await rejectsUnreachable(connect(spec({ privateKeyFile: f('id_wrong') })), /authentication failed for msstest-sudo@127\.0\.0\.1/);
      const keyText = fs.readFileSync(f('id_wrong'), 'utf8');
      const keyBody = keyText.split('\n')[1]!;
      assert.ok(!msg.includes(keyBody) && !/PRIVATE KEY/.test(msg));
      assert.ok(msg.includes(f('id_wrong')), 'says which key was tried');
    });

    it('a missing key file and a closed port give clear messages', async () => {
      await rejectsUnreachable(connect(spec({ privateKeyFile: f('no_such_key') })), /private key file .* does not exist/);
      const closed = await freePort();
      await rejectsUnreachable(connect(spec({ port: closed })), /connection refused/);
    });
  });

  describe('other ways in', () => {
    it('authenticates through a real ssh-agent ($SSH_AUTH_SOCK), with no key file', async () => {
      const sock = f('agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      try {
        for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
        execFileSync('ssh-add', ['-q', f('id_client')], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
        const s = spec({ agent: sock });
        delete s.privateKeyFile;
        await withConn(s, async (c) => assert.equal((await c.exec('echo agent')).stdout, 'agent\n'));
      } finally {
        agent.kill('SIGTERM');
      }
    });

    it('a server that accepts TCP but never speaks SSH -> connect timeout', async () => {
      const silent = net.createServer(() => {
        /* accept and say nothing */
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const p = (silent.address() as net.AddressInfo).port;
      try {
        await rejectsUnreachable(connect(spec({ port: p, connectTimeoutMs: 800 })), /timed out after 800 ms/);
      } finally {
        silent.close();
      }
    });
  });

  describe('become (sudo)', () => {
    it('a non-root user with passwordless sudo becomes root; stdin and probes pass through sudo', async () => {
      await withConn(spec({ user: SUDO_USER }), async (c) => assert.equal((await c.exec('id -un')).stdout, `${SUDO_USER}\n`));
      await withConn(spec({ user: SUDO_USER, become: true, becomeUser: 'root' }), async (c) => {
        assert.equal((await c.exec('id -un')).stdout, 'root\n');
        assert.equal((await c.exec('cat', { stdin: 'through sudo' })).stdout, 'through sudo');
        // the 0600 root file is only readable with become
        fs.writeFileSync(f('root-only'), 'root secret\n', { mode: 0o600 });
        const [st] = (await runProbes(c, [{ kind: 'file', path: f('root-only') }])) as FileState[];
        assert.equal(st!.content, 'root secret\n');
      });
    });

    it('root becomes another user with sudo -u', async () => {
      await withConn(spec({ become: true, becomeUser: SUDO_USER }), async (c) => {
        assert.equal((await c.exec('id -un')).stdout, `${SUDO_USER}\n`);
      });
    });

    it('sudo wanting a password fails with a clear BecomeError, not a hang', async () => {
      await withConn(spec({ user: NOPW_USER, become: true, becomeUser: 'root' }), async (c) => {
        await assert.rejects(c.exec('id -un'), (e: unknown) => {
          assert.ok(e instanceof BecomeError, String(e));
          assert.ok(e instanceof UnreachableError);
          assert.match(e.message, /sudo needs a password for msstest-nopw/);
          assert.match(e.message, /NOPASSWD/);
          return true;
        });
      });
    });
  });
});
