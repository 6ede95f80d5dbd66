import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { currentUser } from '../../src/connection/command.js';
import { expandSshPath, resolveConnectSpec } from '../../src/connection/ssh-config.js';

let dir: string;
let cfg: string;
const home = os.homedir();

// A fixture ssh config exercising aliases, patterns, negation, first-match-wins and ~ expansion.
const CONFIG = `
# comment
Host web1
  HostName 10.231.0.11
  Port 2201
  User deploy
  IdentityFile ~/.ssh/web1_ed25519
  IdentityFile ~/.ssh/second
  UserKnownHostsFile ~/.ssh/kh_web /etc/ssh/kh_extra
  StrictHostKeyChecking accept-new

Host db? !db9
  HostName %h.internal.test
  user dbadmin
  StrictHostKeyChecking no
  ConnectTimeout 3
  ServerAliveInterval 10

Host *.lab
  Port 2222
  IdentityAgent none
  CanonicalizeHostName yes
  CanonicalDomains example.invalid

Host lax
  StrictHostKeyChecking ask
  UserKnownHostsFile none

Host bad
  StrictHostKeyChecking maybe

Host *
  User fallback
  Port 2200
`;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-config-'));
  cfg = path.join(dir, 'config');
  fs.writeFileSync(cfg, CONFIG);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const resolve = (name: string, vars: Record<string, unknown> = {}, extra = {}) => resolveConnectSpec(name, vars, { sshConfigFile: cfg, ...extra });

describe('ssh-config: resolveConnectSpec', () => {
  it('uses a Host alias: HostName, Port, User, IdentityFile (~), known hosts, policy', () => {
    const s = resolve('web1');
    assert.equal(s.transport, 'ssh');
    assert.equal(s.address, '10.231.0.11');
    assert.equal(s.port, 2201);
    assert.equal(s.user, 'deploy');
    assert.equal(s.privateKeyFile, path.join(home, '.ssh/web1_ed25519'), 'first IdentityFile, ~ expanded');
    assert.deepEqual(s.knownHostsFiles, [path.join(home, '.ssh/kh_web'), '/etc/ssh/kh_extra', '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
    assert.equal(s.hostKeyPolicy, 'accept-new');
    assert.equal(s.become, false);
    assert.equal(s.becomeUser, 'root');
    assert.equal(s.connectTimeoutMs, 10_000);
    assert.deepEqual([s.keepaliveIntervalMs, s.keepaliveCountMax], [4000, 3], 'a lost link shows within ~16 s by default');
  });

  it('keepalive: ServerAliveInterval/CountMax from ~/.ssh/config, and -o options in ansible_ssh_common_args win', () => {
    const s = resolve('db1');
    assert.deepEqual([s.keepaliveIntervalMs, s.keepaliveCountMax], [10_000, 3]);
    const o = resolve('db1', { ansible_ssh_common_args: '-o ServerAliveInterval=2 -o ServerAliveCountMax=5' });
    assert.deepEqual([o.keepaliveIntervalMs, o.keepaliveCountMax], [2000, 5]);
    assert.throws(
      () => resolve('db1', { ansible_ssh_common_args: '-o ServerAliveInterval=soon' }),
      /ServerAliveInterval must be a whole number >= 1, got "soon"/,
    );
  });

  it('matches wildcard patterns, honours negation and %h, and falls through to Host *', () => {
    const s = resolve('db1');
    assert.equal(s.address, 'db1.internal.test');
    assert.equal(s.user, 'dbadmin', 'lower-case directive names work');
    assert.equal(s.port, 2200, 'Port from Host * since db? sets none');
    assert.equal(s.hostKeyPolicy, 'off', 'StrictHostKeyChecking no');
    assert.equal(s.connectTimeoutMs, 3000);
    const neg = resolve('db9');
    assert.equal(neg.address, 'db9', 'negated pattern excluded');
    assert.equal(neg.user, 'fallback');
    assert.equal(neg.hostKeyPolicy, 'strict');
  });

  it('first obtained value wins (a specific Host before Host *)', () => {
    const s = resolve('x.lab');
    assert.equal(s.port, 2222);
    assert.equal(s.user, 'fallback');
    assert.equal(s.agent, undefined, 'IdentityAgent none disables the agent');
    assert.equal(s.address, 'x.lab', 'no DNS canonicalization');
  });

  it('explicit inventory vars win over ssh config', () => {
    const s = resolve('web1', {
      ansible_host: '127.0.0.5',
      ansible_port: '2022',
      ansible_user: 'ops',
      ansible_ssh_private_key_file: '~/keys/ops',
    });
    assert.equal(s.address, '127.0.0.5');
    assert.equal(s.port, 2022);
    assert.equal(s.user, 'ops');
    assert.equal(s.privateKeyFile, path.join(home, 'keys/ops'));
  });

  it('looks ssh config up by ansible_host when it is set (what ssh itself would be given)', () => {
    const s = resolve('inventory-name', { ansible_host: 'db2' });
    assert.equal(s.user, 'dbadmin');
    assert.equal(s.address, 'db2', 'explicit ansible_host is dialed as-is');
    assert.equal(s.name, 'inventory-name');
  });

  it('defaults without any ssh config: port 22, current user, default known_hosts', () => {
    const s = resolveConnectSpec('plainhost', {}, { sshConfigFile: emptyConfig() });
    assert.equal(s.address, 'plainhost');
    assert.equal(s.port, 22);
    assert.equal(s.user, currentUser());
    assert.equal(s.privateKeyFile, undefined);
    assert.equal(s.hostKeyPolicy, 'strict');
    assert.deepEqual(s.knownHostsFiles.slice(0, 2), [path.join(home, '.ssh/known_hosts'), path.join(home, '.ssh/known_hosts2')]);
  });

  it('host key policy: command line > ansible_host_key_checking > ssh config > strict', () => {
    assert.equal(resolve('web1').hostKeyPolicy, 'accept-new');
    assert.equal(resolve('web1', { ansible_host_key_checking: false }).hostKeyPolicy, 'off');
    assert.equal(resolve('web1', { ansible_host_key_checking: 'yes' }).hostKeyPolicy, 'strict');
    assert.equal(resolve('web1', { ansible_host_key_checking: false }, { hostKeyPolicy: 'strict' }).hostKeyPolicy, 'strict');
    const lax = resolve('lax');
    assert.equal(lax.hostKeyPolicy, 'strict', 'ask behaves like yes: we never prompt');
    assert.deepEqual(lax.knownHostsFiles, ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'], 'UserKnownHostsFile none');
  });

  it('explicit knownHostsFiles replace every other source', () => {
    assert.deepEqual(resolve('web1', {}, { knownHostsFiles: ['/tmp/kh'] }).knownHostsFiles, ['/tmp/kh']);
  });

  it('become vars and local transport', () => {
    const s = resolve('web1', { ansible_become: 'yes', ansible_become_user: 'www-data' });
    assert.equal(s.become, true);
    assert.equal(s.becomeUser, 'www-data');
    const local = resolve('localhost');
    assert.equal(local.transport, 'local');
    assert.equal(local.user, currentUser());
    assert.equal(resolve('box', { ansible_connection: 'local' }).transport, 'local');
    assert.equal(resolve('box', { ansible_connection: 'ssh' }).transport, 'ssh');
  });

  it('refuses invalid vars and config values with InputError', () => {
    assert.throws(
      () => resolve('web1', { ansible_port: 'twenty' }),
      (e: unknown) => e instanceof InputError && /ansible_port/.test(e.message),
    );
    assert.throws(() => resolve('web1', { ansible_port: 70000 }), InputError);
    assert.throws(() => resolve('web1', { ansible_become: 'perhaps' }), /ansible_become/);
    assert.throws(() => resolve('web1', { ansible_connection: 'docker' }), /not supported/);
    assert.throws(() => resolve('web1', { ansible_user: ['a'] }), /ansible_user/);
    assert.throws(() => resolve('bad'), /StrictHostKeyChecking maybe/);
    assert.throws(() => resolveConnectSpec('x', {}, { sshConfigFile: path.join(dir, 'nope') }), InputError);
  });

  it('expands ~ and % tokens like ssh', () => {
    const t = { host: 'h.test', port: 2222, user: 'bob', original: 'h' };
    assert.equal(expandSshPath('~/.ssh/%r@%h:%p-%n', t), path.join(home, '.ssh/bob@h.test:2222-h'));
    assert.equal(expandSshPath('%d/x %%', t), `${home}/x %`);
    assert.equal(expandSshPath('/abs/~/x', t), '/abs/~/x');
  });
});

function emptyConfig(): string {
  const f = path.join(dir, 'empty-config');
  fs.writeFileSync(f, '');
  return f;
}

describe('ssh options in ansible_ssh_common_args', () => {
  it('reads -o options in both spellings, and they beat the ssh config', async () => {
    const { sshArgOptions, resolveConnectSpec } = await import('../../src/connection/ssh-config.js');
    assert.deepEqual(
      sshArgOptions('h', { ansible_ssh_common_args: '-o UserKnownHostsFile=/k -o StrictHostKeyChecking yes -C', ansible_ssh_extra_args: '-oConnectTimeout=3' }),
      {
        userknownhostsfile: '/k',
        stricthostkeychecking: 'yes',
        connecttimeout: '3',
      },
    );
    const spec = resolveConnectSpec(
      'h',
      { ansible_host: '127.0.0.1', ansible_user: 'root', ansible_ssh_common_args: '-o UserKnownHostsFile=/tmp/kh -o StrictHostKeyChecking=accept-new' },
      { sshConfigFile: emptyConfig() },
    );
    assert.equal(spec.knownHostsFiles[0], '/tmp/kh', 'the user file comes first (accept-new writes there)');
    assert.equal(spec.hostKeyPolicy, 'accept-new');
  });
});
