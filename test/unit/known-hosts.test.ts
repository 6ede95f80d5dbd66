import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostKeyCheck } from '../../src/connection/host-key.js';
import {
  appendKnownHost,
  checkHostKey,
  entryMatches,
  fingerprint,
  knownHostName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from '../../src/connection/known-hosts.js';
import type { HostKeyPolicy } from '../../src/connection/types.js';

let dir: string;
/** Public key blobs made by the real ssh-keygen. */
const keys: Record<string, { line: string; blob: Buffer; type: string }> = {};

function genKey(name: string, type: string): void {
  const f = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', f]);
  const line = fs.readFileSync(`${f}.pub`, 'utf8').trim();
  const [t, b64] = line.split(' ');
  keys[name] = { line, blob: Buffer.from(b64!, 'base64'), type: t! };
}

before(function () {
  this.timeout(60_000);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'known-hosts-'));
  genKey('a', 'ed25519');
  genKey('b', 'ed25519');
  genKey('r', 'rsa');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function kh(text: string): string {
  const f = path.join(dir, `kh-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(f, text);
  return f;
}
const pub = (k: string) => `${keys[k]!.type} ${keys[k]!.blob.toString('base64')}`;

describe('known_hosts parsing and lookup', () => {
  it('parses plain, [host]:port, comma lists, markers, and skips junk', () => {
    const text = [
      '# comment',
      '',
      `web1,10.0.0.1 ${pub('a')} a comment`,
      `[127.0.0.1]:2222 ${pub('b')}`,
      `@revoked * ${pub('r')}`,
      `@cert-authority *.test ${pub('a')}`,
      `@bogus host ${pub('a')}`,
      'broken line',
      `mismatch ssh-rsa ${keys.a!.blob.toString('base64')}`,
    ].join('\n');
    const e = parseKnownHosts(text, 'F');
    assert.equal(e.length, 4);
    assert.deepEqual(
      e.map((x) => [x.line, x.marker, x.hosts]),
      [
        [3, undefined, 'web1,10.0.0.1'],
        [4, undefined, '[127.0.0.1]:2222'],
        [5, 'revoked', '*'],
        [6, 'cert-authority', '*.test'],
      ],
    );
  });

  it('names hosts like ssh: bare on port 22, [host]:port otherwise, lower case', () => {
    assert.equal(knownHostName('Web1.Test', 22), 'web1.test');
    assert.equal(knownHostName('127.0.0.1', 2222), '[127.0.0.1]:2222');
    assert.equal(knownHostName('::1', 2222), '[::1]:2222');
  });

  it('matches wildcards and negations', () => {
    assert.ok(entryMatches('*.test,!bad.test', 'good.test'));
    assert.ok(!entryMatches('*.test,!bad.test', 'bad.test'));
    assert.ok(entryMatches('web?', 'web1'));
    assert.ok(!entryMatches('web?', 'web12'));
    assert.ok(entryMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222'));
    assert.ok(!entryMatches('127.0.0.1', '[127.0.0.1]:2222'), 'a bare entry is for port 22 only');
  });

  it('matches hashed entries written by the real ssh-keygen -H', () => {
    const f = kh(`[127.0.0.1]:2222 ${pub('a')}\nweb1.test ${pub('b')}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', f], { stdio: 'ignore' });
    const e = parseKnownHosts(fs.readFileSync(f, 'utf8'), f);
    assert.equal(e.length, 2);
    assert.ok(
      e.every((x) => x.hosts.startsWith('|1|')),
      'entries are hashed',
    );
    assert.equal(checkHostKey(e, '[127.0.0.1]:2222', keys.a!.blob).status, 'known');
    assert.equal(checkHostKey(e, 'web1.test', keys.b!.blob).status, 'known');
    assert.equal(checkHostKey(e, '[127.0.0.1]:2223', keys.a!.blob).status, 'unknown');
  });

  it('fingerprints like ssh-keygen -l', () => {
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(dir, 'a.pub')], { encoding: 'utf8' });
    assert.equal(out.split(' ')[1], fingerprint(keys.a!.blob));
  });

  it('decides known / changed / unknown / revoked', () => {
    const e = parseKnownHosts(`h1 ${pub('a')}\n@revoked * ${pub('r')}\n`, 'F');
    assert.equal(checkHostKey(e, 'h1', keys.a!.blob).status, 'known');
    const changed = checkHostKey(e, 'h1', keys.b!.blob);
    assert.equal(changed.status, 'changed');
    const unknown = checkHostKey(e, 'h2', keys.b!.blob);
    assert.deepEqual(unknown, { status: 'unknown', otherTypes: [] });
    assert.equal(checkHostKey(e, 'h1', keys.r!.blob).status, 'revoked');
    const otherType = checkHostKey(parseKnownHosts(`h1 ${pub('a')}\n`, 'F'), 'h1', keys.r!.blob);
    assert.deepEqual(otherType, { status: 'unknown', otherTypes: ['ssh-ed25519'] });
  });

  it('offers the host key algorithms already known for the host first', () => {
    const e = parseKnownHosts(`h1 ${pub('r')}\n`, 'F');
    assert.deepEqual(preferredHostKeyAlgorithms(e, 'h1').slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(preferredHostKeyAlgorithms(e, 'h2')[0], 'ssh-ed25519');
  });

  it('appends once, creating the file; the real ssh-keygen -F finds the entry', () => {
    const f = path.join(dir, 'new', 'known_hosts');
    assert.equal(appendKnownHost(f, '[127.0.0.1]:2222', keys.a!.blob), true);
    assert.equal(appendKnownHost(f, '[127.0.0.1]:2222', keys.a!.blob), false, 'no duplicate');
    assert.equal(fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length, 1);
    const out = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', f], { encoding: 'utf8' });
    assert.match(out, /ssh-ed25519/);
  });
});

describe('HostKeyCheck policies and messages', () => {
  const spec = (policy: HostKeyPolicy, files: string[]) => ({
    name: 'h1',
    address: '127.0.0.1',
    port: 2222,
    hostKeyPolicy: policy,
    knownHostsFiles: files,
  });

  it('strict: an unknown key fails saying which host, key, file and how to fix', () => {
    const f = kh('');
    const c = new HostKeyCheck(spec('strict', [f]));
    assert.equal(c.verify(keys.a!.blob), false);
    const m = c.problem!;
    assert.match(m, /h1 \(127\.0\.0\.1:2222\)/);
    assert.ok(m.includes(fingerprint(keys.a!.blob)), m);
    assert.ok(m.includes(f));
    assert.match(m, /ssh-keyscan -p 2222 -t ed25519 127\.0\.0\.1 >> /);
    assert.match(m, /--host-key-checking accept-new/);
  });

  it('strict and accept-new: a changed key fails loudly and is never replaced', () => {
    for (const policy of ['strict', 'accept-new'] as const) {
      const f = kh(`[127.0.0.1]:2222 ${pub('a')}\n`);
      const before = fs.readFileSync(f, 'utf8');
      const c = new HostKeyCheck(spec(policy, [f]));
      assert.equal(c.verify(keys.b!.blob), false);
      assert.match(c.problem!, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.ok(c.problem!.includes(fingerprint(keys.b!.blob)), 'names the new key');
      assert.ok(c.problem!.includes(fingerprint(keys.a!.blob)), 'names the old key');
      assert.match(c.problem!, /ssh-keygen -R '\[127\.0\.0\.1\]:2222'/);
      assert.equal(fs.readFileSync(f, 'utf8'), before);
    }
  });

  it('accept-new: appends an unknown key to the first file and says so', () => {
    const f1 = path.join(dir, 'an1');
    const f2 = kh('');
    const c = new HostKeyCheck(spec('accept-new', [f1, f2]));
    assert.equal(c.verify(keys.a!.blob), true);
    assert.equal(fs.readFileSync(f1, 'utf8'), `[127.0.0.1]:2222 ${pub('a')}\n`);
    assert.equal(fs.readFileSync(f2, 'utf8'), '');
    assert.match(c.notices[0]!, /Permanently added \[127\.0\.0\.1\]:2222/);
    assert.equal(new HostKeyCheck(spec('strict', [f1])).verify(keys.a!.blob), true, 'strict accepts it next time');
  });

  it('accept-new: a known_hosts file that cannot be written refuses with the reason', () => {
    const blocker = kh('');
    const c = new HostKeyCheck(spec('accept-new', [path.join(blocker, 'known_hosts')])); // parent is a file
    assert.equal(c.verify(keys.a!.blob), false);
    assert.match(c.problem!, /cannot record its ED25519 key SHA256:.* in .*known_hosts: /);
  });

  it('revoked keys are refused under every policy but off', () => {
    const f = kh(`@revoked * ${pub('a')}\n`);
    for (const policy of ['strict', 'accept-new'] as const) {
      const c = new HostKeyCheck(spec(policy, [f]));
      assert.equal(c.verify(keys.a!.blob), false);
      assert.match(c.problem!, /@revoked/);
    }
    assert.equal(new HostKeyCheck(spec('off', [f])).verify(keys.a!.blob), true);
  });

  it('off accepts anything and writes nothing', () => {
    const f = kh(`[127.0.0.1]:2222 ${pub('a')}\n`);
    const c = new HostKeyCheck(spec('off', [f]));
    assert.equal(c.verify(keys.b!.blob), true);
    assert.equal(fs.readFileSync(f, 'utf8'), `[127.0.0.1]:2222 ${pub('a')}\n`);
  });
});
