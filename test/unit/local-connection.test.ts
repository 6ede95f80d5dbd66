import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import os from 'node:os';
import { BecomeError, becomeFailure, commandArgv } from '../../src/connection/command.js';
import { connect } from '../../src/connection/connect.js';
import { LocalConnection } from '../../src/connection/local.js';
import { sh } from '../../src/connection/quote.js';
import { resolveConnectSpec } from '../../src/connection/ssh-config.js';
import { needOrSkip } from '../prereq.js';

describe('local connection (zx)', () => {
  it('runs /bin/sh -c with exit code, stdout and stderr kept apart', async () => {
    const c = new LocalConnection('localhost');
    assert.deepEqual(await c.exec('echo out; echo err >&2; exit 5'), { code: 5, stdout: 'out\n', stderr: 'err\n' });
    assert.equal((await c.exec('printf %s "$0"')).stdout, '/bin/sh');
    assert.equal((await c.exec('printf "no newline"')).stdout, 'no newline', 'nothing appended');
    assert.equal(c.commandCount, 3);
  });

  it('feeds stdin and closes it; without stdin the command reads EOF, never our terminal', async () => {
    const c = new LocalConnection('localhost');
    const bin = crypto.randomBytes(100_000);
    const sum = crypto.createHash('sha256').update(bin).digest('hex');
    assert.equal((await c.exec('sha256sum', { stdin: bin })).stdout.split(' ')[0], sum);
    assert.equal((await c.exec('cat', { stdin: 'héllo' })).stdout, 'héllo');
    assert.equal((await c.exec('cat; echo eof')).stdout, 'eof\n');
    // a command that never reads its (large) stdin is not an error
    assert.equal((await c.exec('exit 0', { stdin: Buffer.alloc(4 << 20) })).code, 0);
  });

  it('times out: code 124, timedOut, and the whole process group is gone', async () => {
    const c = new LocalConnection('localhost');
    const r = await c.exec('echo started; sleep 4242 & sleep 4243; echo never', { timeoutMs: 500 });
    assert.equal(r.timedOut, true);
    assert.equal(r.code, 124);
    assert.equal(r.stdout, 'started\n');
    const left = await c.exec('pgrep -f "sleep [4]24[23]" || echo none');
    assert.equal(left.stdout, 'none\n');
  });

  it('become: sudo -n to another user when it differs from ours', async function () {
    needOrSkip(this, process.getuid?.() === 0, 'needs root: only for root does sudo -n run without a password');
    const c = new LocalConnection('localhost', { become: true, becomeUser: 'nobody' });
    assert.equal((await c.exec('id -un')).stdout, 'nobody\n');
    const same = new LocalConnection('localhost', { become: true, becomeUser: os.userInfo().username });
    assert.equal((await same.exec('echo "[$SUDO_USER]"')).stdout, '[]\n', 'no sudo when already that user');
  });

  it('become: sudo asking for a password is a BecomeError', async function () {
    needOrSkip(this, process.getuid?.() === 0, 'needs root: the outer sudo to nobody runs without a password only for root');
    // nobody has no sudo rule: run the connection's command as nobody through an outer sudo.
    const c = new LocalConnection('localhost');
    const inner = commandArgv('id -un', { loginUser: 'nobody', become: true, becomeUser: 'root' });
    const r = await c.exec(sh`sudo -n -u nobody -- ${inner}`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /password is required/);
    const err = becomeFailure('localhost', r, { loginUser: 'nobody', become: true, becomeUser: 'root' });
    assert.ok(err instanceof BecomeError);
    assert.match(err.message, /sudo needs a password for nobody/);
  });

  it('connect() picks the local transport for localhost', async () => {
    const c = await connect(resolveConnectSpec('localhost', {}));
    assert.ok(c instanceof LocalConnection);
    assert.equal((await c.exec('echo hi')).stdout, 'hi\n');
    await c.close();
  });
});

describe('command argv', () => {
  it('adds sudo only for a different become user, and timeout(1) after sudo', () => {
    const base = { loginUser: 'deploy', become: false, becomeUser: 'root' };
    assert.deepEqual(commandArgv('x', base), ['/bin/sh', '-c', 'x']);
    assert.deepEqual(commandArgv('x', { ...base, become: true }), ['sudo', '-n', '-u', 'root', '--', '/bin/sh', '-c', 'x']);
    assert.deepEqual(commandArgv('x', { ...base, become: true, loginUser: 'root' }), ['/bin/sh', '-c', 'x']);
    assert.deepEqual(commandArgv('x', { ...base, become: true, timeoutMs: 1500 }), [
      'sudo',
      '-n',
      '-u',
      'root',
      '--',
      'timeout',
      '-k',
      '5',
      '1.5',
      '/bin/sh',
      '-c',
      'x',
    ]);
    assert.throws(() => commandArgv('x', { ...base, timeoutMs: 0 }), /timeoutMs/);
  });
});
