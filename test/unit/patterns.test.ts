// Host patterns and --limit: golden results recorded from `ansible --list-hosts`, the examples of
// Ansible's intro_patterns guide, and the syntax errors we refuse.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { groupHosts, loadInventory, selectHosts, splitHostPattern } from '../../src/inventory/index.js';
import { globToRegExp } from '../../src/inventory/fnmatch.js';
import { caseKey, fixture, PATTERNS_GOLDEN, patternOrderIsStable, readJson, type PatternGolden } from './inventory-golden.js';

const inv = loadInventory(fixture('patterns', 'inventory.yml'));
const cwd = fixture('patterns');
const sel = (pattern: string, limit?: string) => selectHosts(inv, pattern, { limit, cwd });

function rejects(fn: () => unknown, message: RegExp, hint?: RegExp): InputError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof InputError, `expected InputError, got ${String(caught)}`);
  assert.match(caught.message, message);
  if (hint) assert.match(caught.hint ?? '', hint);
  return caught;
}

describe('patterns: same selection as ansible --list-hosts (golden file)', () => {
  const golden = readJson<PatternGolden[]>(PATTERNS_GOLDEN);
  it('has golden entries to compare', () => assert.ok(golden.length >= 50));
  for (const g of golden) {
    it(caseKey(g), () => {
      if (g.unmatched) {
        rejects(() => sel(g.pattern, g.limit), /could not match supplied host pattern/, /known groups: .*webservers/);
        return;
      }
      const ours = sel(g.pattern, g.limit);
      if (patternOrderIsStable(inv, g)) assert.deepEqual(ours, g.hosts);
      else assert.deepEqual([...ours].sort(), [...g.hosts].sort());
    });
  }
});

describe('patterns: intro_patterns examples', () => {
  it('all and * select every host', () => {
    assert.equal(sel('all').length, inv.hosts.size);
    assert.deepEqual(sel('*'), sel('all'));
  });

  it('a:b and a,b are unions, in the order given', () => {
    assert.deepEqual(sel('dbservers:staging'), ['db1.example.com', 'db2.example.com', 'web1.example.com', 'web3.example.com', 'stage-a', 'stage-b']);
    assert.deepEqual(sel('dbservers,staging'), sel('dbservers:staging'));
  });

  it('a:!b excludes, a:&b intersects', () => {
    assert.deepEqual(sel('webservers:!staging'), ['web1.example.com', 'web2.example.com', 'web4.example.com']);
    assert.deepEqual(sel('webservers:&dbservers'), ['web1.example.com']);
  });

  it('evaluates plain parts first, then &, then ! whatever their position: a:b:&c:!d', () => {
    // (webservers ∪ dbservers) ∩ staging − web3
    assert.deepEqual(sel('!web3.example.com:&staging:webservers:dbservers'), ['db2.example.com']);
    assert.deepEqual(sel('webservers:dbservers:&staging:!web3.example.com'), ['db2.example.com']);
  });

  it('only ! and & parts start from all', () => {
    assert.deepEqual(sel('!europe:!webservers:!dbservers:!staging'), ['solo', '192.0.2.50']);
  });

  it('globs: *.example.com, web?, character classes', () => {
    assert.deepEqual(sel('db*.example.com'), ['db1.example.com', 'db2.example.com']);
    assert.deepEqual(sel('stage-?'), ['stage-a', 'stage-b']);
    assert.deepEqual(sel('berlin[!1]'), ['berlin2']);
    assert.deepEqual(sel('192.0.2.*'), ['192.0.2.50']);
  });

  it('a regex starts with ~ and matches from the start of the name', () => {
    assert.deepEqual(sel('~(web|db)1\\.example\\.com'), ['web1.example.com', 'db1.example.com']);
    assert.deepEqual(sel('~.*erlin'), ['berlin1', 'berlin2']);
    rejects(() => sel('~erlin'), /could not match/, /known groups/); // anchored at the start, like re.match
  });

  it('a regex may contain : inside parentheses and brackets', () => {
    assert.deepEqual(splitHostPattern('~web(?:1|2)\\.example:dbservers'), ['~web(?:1|2)\\.example', 'dbservers']);
    assert.deepEqual(sel('~web(?:1|2)\\.example:db1.example.com'), ['web1.example.com', 'web2.example.com', 'db1.example.com']);
  });

  it('slices: g[0], g[-1], g[i:j] with the end included, g[i:]', () => {
    assert.deepEqual(groupHosts(inv, 'webservers'), ['web1.example.com', 'web2.example.com', 'web3.example.com', 'web4.example.com']);
    assert.deepEqual(sel('webservers[0]'), ['web1.example.com']);
    assert.deepEqual(sel('webservers[-1]'), ['web4.example.com']);
    assert.deepEqual(sel('webservers[0:2]'), ['web1.example.com', 'web2.example.com', 'web3.example.com']);
    assert.deepEqual(sel('webservers[2:]'), ['web3.example.com', 'web4.example.com']);
    assert.deepEqual(sel('webservers[1:1]'), ['web2.example.com']);
  });

  it('[..] at the end is a slice when it holds numbers; otherwise a glob class', () => {
    assert.deepEqual(sel('stage-[ab]'), ['stage-a', 'stage-b']);
    assert.deepEqual(sel('web[1].example.com'), ['web1.example.com'], 'not at the end: a class');
    assert.deepEqual(sel('berlin[!1]'), ['berlin2']);
    // Like Ansible, berlin[12] is index 12 of what `berlin` matches, not the class [12].
    rejects(() => sel('berlin[12]'), /no hosts matched the subscripted pattern 'berlin\[12\]'/);
    assert.deepEqual(sel('berlin[1]'), ['berlin2']);
  });

  it('a group lists its own hosts first, then its children breadth first', () => {
    assert.deepEqual(groupHosts(inv, 'europe'), ['paris1', 'lyon1', 'munich1', 'berlin1', 'berlin2']);
    assert.deepEqual(sel('europe[3]'), ['berlin1']);
  });

  it('a plain host name and whitespace around parts', () => {
    assert.deepEqual(sel(' solo , paris1 '), ['solo', 'paris1']);
  });

  it('an empty group selects nothing without error; an empty intersection too', () => {
    assert.deepEqual(sel('edge_empty'), []);
    assert.deepEqual(sel('france:&germany'), []);
  });
});

describe('patterns: --limit', () => {
  it('filters the pattern, keeping its order', () => {
    assert.deepEqual(sel('dbservers:webservers', 'web*'), ['web1.example.com', 'web2.example.com', 'web3.example.com', 'web4.example.com']);
    assert.deepEqual(sel('all', 'all:!europe').length, inv.hosts.size - 5);
  });

  it('@file reads one host or pattern per line (a .retry file)', () => {
    assert.deepEqual(fs.readFileSync(fixture('patterns', 'limit.retry'), 'utf8'), 'web1.example.com\nparis1\n\ngermany\n');
    assert.deepEqual(sel('all', '@limit.retry'), ['web1.example.com', 'paris1', 'munich1', 'berlin1', 'berlin2']);
    assert.deepEqual(sel('all', 'solo,@limit.retry'), ['solo', 'web1.example.com', 'paris1', 'munich1', 'berlin1', 'berlin2']);
  });

  it('a line of the limit file that matches nothing is named by file and line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-limit-'));
    fs.writeFileSync(path.join(dir, 'hosts.retry'), 'solo\nsolo2\n');
    const e = rejects(() => selectHosts(inv, 'all', { limit: '@hosts.retry', cwd: dir }), /could not match supplied host pattern 'solo2'/);
    assert.deepEqual(e.pos, { file: 'hosts.retry', line: 2, col: 1 });
  });

  it('a missing limit file, a directory, an empty limit', () => {
    rejects(() => sel('all', '@nope.retry'), /unable to read limit file \(ENOENT\)/);
    rejects(() => selectHosts(inv, 'all', { limit: '@.', cwd }), /must be a file, not a directory/);
    rejects(() => sel('all', ''), /--limit is empty/);
    assert.equal(rejects(() => sel('all', 'nosuch'), /could not match/).pos?.file, '--limit');
  });
});

describe('patterns: errors', () => {
  it('a part that matches nothing is an error listing the known groups (Ansible only warns)', () => {
    const e = rejects(
      () => sel('webservers:!webserver'),
      /could not match supplied host pattern 'webserver'/,
      /known groups: all, berlin, dbservers, edge_empty, europe, france/,
    );
    assert.match(e.hint!, /hosts: solo, 192\.0\.2\.50, web1\.example\.com/);
  });

  it('names where the pattern was written when told', () => {
    const e = rejects(() => selectHosts(inv, 'nosuch', { pos: { file: 'playbooks/site.yml', line: 2, col: 10 } }), /could not match/);
    assert.deepEqual(e.pos, { file: 'playbooks/site.yml', line: 2, col: 10 });
  });

  it('unbalanced brackets', () => {
    rejects(() => sel('webservers[0'), /unbalanced '\['/);
    rejects(() => sel('webservers]'), /unbalanced '\]'/);
    rejects(() => sel('web[12.example.com'), /unbalanced '\['/);
  });

  it('a bad regex', () => {
    rejects(() => sel('~web(1'), /invalid host list pattern '~web\(1'/, /regular expression/);
    rejects(() => sel('~*'), /invalid host list pattern/);
  });

  it('the removed [x-y] subscript and reversed or out-of-range slices', () => {
    rejects(() => sel('webservers[1-2]'), /removed \[x-y\] form/, /webservers\[1:2\]/);
    rejects(() => sel('webservers[2:1]'), /ends before it starts/);
    rejects(() => sel('webservers[4]'), /no hosts matched the subscripted pattern 'webservers\[4\]'/, /index from 0 to 3/);
    rejects(() => sel('webservers[-5]'), /no hosts matched the subscripted pattern/);
  });

  it('empty patterns and parts', () => {
    rejects(() => sel(''), /empty host pattern/);
    rejects(() => sel(' , '), /empty host pattern/);
    rejects(() => sel('webservers:!'), /empty host pattern after '!'/);
  });

  it('@file only in --limit', () => {
    rejects(() => sel('@limit.retry'), /@file is only read by --limit/, /--limit @limit\.retry/);
  });
});

describe('patterns: splitting and globs', () => {
  it('splits on , and : but not inside [] or in IPv6 addresses', () => {
    assert.deepEqual(splitHostPattern('a,b[1], c[2:3] , d'), ['a', 'b[1]', 'c[2:3]', 'd']);
    assert.deepEqual(splitHostPattern('a:b:&c:!d'), ['a', 'b', '&c', '!d']);
    assert.deepEqual(splitHostPattern('a,b:!c'), ['a', 'b', '!c']);
    assert.deepEqual(splitHostPattern('fe80::1,!2001:db8::1'), ['fe80::1', '!2001:db8::1']);
    assert.deepEqual(splitHostPattern('fe80::1'), ['fe80::1']);
  });

  it('selects IPv6 host names', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-v6-'));
    fs.writeFileSync(path.join(dir, 'inventory.yml'), 'all:\n  hosts:\n    "2001:db8::10":\n    "2001:db8::11":\n    web:\n');
    const v6 = loadInventory(path.join(dir, 'inventory.yml'));
    assert.deepEqual(selectHosts(v6, '2001:db8::10'), ['2001:db8::10']);
    // With IPv6 names, separate parts with commas (':' is ambiguous there, as in Ansible).
    assert.deepEqual(selectHosts(v6, 'all,!2001:db8::10'), ['2001:db8::11', 'web']);
  });

  it('translates globs like fnmatch', () => {
    const m = (g: string, s: string) => globToRegExp(g).test(s);
    assert.ok(m('web*', 'web1.example.com'));
    assert.ok(!m('web*', 'aweb1'));
    assert.ok(m('w?b', 'web'));
    assert.ok(m('[a-c]x', 'bx'));
    assert.ok(!m('[!a-c]x', 'bx'));
    assert.ok(m('[]]x', ']x'));
    assert.ok(m('a.b', 'a.b'));
    assert.ok(!m('a.b', 'axb'), '. is literal');
    assert.ok(!m('Web*', 'web1'), 'case-sensitive');
    assert.ok(m('a+(b)', 'a+(b)'), 'regex characters are literal');
  });
});
