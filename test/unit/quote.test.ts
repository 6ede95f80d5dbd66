import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { raw, sh, shJoin, shq } from '../../src/connection/quote.js';

// Strings chosen to break naive quoting: every one must come back byte for byte from a real shell.
const NASTY: string[] = [
  '',
  ' ',
  'plain',
  "it's",
  "''",
  "'",
  '"double" "quotes"',
  'back\\slash\\',
  'trailing backslash\\',
  '$(touch /tmp/quote-test-pwned)',
  '`touch /tmp/quote-test-pwned`',
  '${HOME} $HOME $0 $1 $@ $* $$ $? $!',
  '*',
  '/etc/*',
  '?[a-z]*{a,b}',
  '~',
  '~root/x',
  '-n',
  '-e \\n',
  '--help',
  'a\nb',
  '\n',
  'line1\nline2\n',
  '\ttab\r\ncrlf',
  'semi;colon && and || or | pipe > out < in & bg',
  '# not a comment',
  'A=1',
  'a=b c=d',
  'héllo wörld ✓ 日本語 🚀',
  '\x01\x02\x7f\x1b[31m',
  'mixed \'single\' and "double" and $(sub) and `tick` and \\',
  '!event',
  '%1',
  '=cmd',
  ' leading and trailing ',
];

/** Run `printf %s <quoted>` through a shell and return exactly what it printed. */
function roundTrip(shell: string, value: string): string {
  return execFileSync(shell, ['-c', `printf %s ${shq(value)}`], { encoding: 'utf8' });
}

describe('quote: shq', () => {
  it('leaves safe words bare', () => {
    for (const w of ['abc', '/etc/nginx/nginx.conf', 'a-b_c.d', 'user@host', 'x:y,z', '0644', '+x']) {
      assert.equal(shq(w), w);
    }
  });

  it('quotes everything else with single quotes', () => {
    assert.equal(shq(''), "''");
    assert.equal(shq('a b'), "'a b'");
    assert.equal(shq("it's"), "'it'\\''s'");
    assert.equal(shq('$x'), "'$x'");
    assert.equal(shq('A=1'), "'A=1'");
    assert.equal(shq('~'), "'~'");
  });

  it('refuses NUL bytes and non-strings', () => {
    assert.throws(() => shq('a\0b'), /NUL/);
    assert.throws(() => shq(undefined as unknown as string), /expected a string/);
  });

  for (const shell of ['/bin/sh', '/bin/dash', '/bin/bash']) {
    it(`round-trips nasty strings through ${shell} -c`, function () {
      // All three are Essential packages on Debian: a missing one is a broken machine.
      if (!fs.existsSync(shell)) assert.fail(`${shell} is missing`);
      try {
        fs.rmSync('/tmp/quote-test-pwned', { force: true });
      } catch {
        /* not there */
      }
      for (const s of NASTY) {
        assert.equal(roundTrip(shell, s), s, `value ${JSON.stringify(s)}`);
      }
      assert.equal(fs.existsSync('/tmp/quote-test-pwned'), false, 'a quoted value was executed');
    });
  }

  it('survives two levels of sh -c (quote of a quoted command)', () => {
    for (const s of NASTY) {
      const inner = `printf %s ${shq(s)}`;
      const out = execFileSync('/bin/sh', ['-c', `/bin/sh -c ${shq(inner)}`], { encoding: 'utf8' });
      assert.equal(out, s, `value ${JSON.stringify(s)}`);
    }
  });
});

describe('quote: sh``', () => {
  it('quotes every interpolated value', () => {
    assert.equal(sh`rm -f -- ${'a b'} ${'c'}`, "rm -f -- 'a b' c");
    assert.equal(sh`echo ${"it's"}`, "echo 'it'\\''s'");
    assert.equal(sh`chmod ${420} x`, 'chmod 420 x');
  });

  it('turns arrays into separate quoted words, and an empty array into nothing', () => {
    assert.equal(sh`ls ${['a', 'b c', '$d']}`, "ls a 'b c' '$d'");
    assert.equal(sh`ls ${[]}`, 'ls ');
  });

  it('inserts raw() text verbatim and quotes a nested sh`` result as one word', () => {
    const inner = sh`printf %s ${'x y'}`;
    assert.equal(sh`${raw(inner)} | cat`, "printf %s 'x y' | cat");
    assert.equal(sh`/bin/sh -c ${inner}`, `/bin/sh -c ${shq(inner)}`);
  });

  it('refuses undefined and null instead of printing them', () => {
    assert.throws(() => sh`echo ${undefined as unknown as string}`, /undefined/);
    assert.throws(() => sh`echo ${null as unknown as string}`, /null/);
  });

  it('array words arrive as separate argv entries in a real shell', () => {
    const words = NASTY.filter((s) => s !== '');
    const cmd = sh`for a in ${words}; do printf '%s\\0' "$a"; done`;
    const out = execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
    assert.deepEqual(out.split('\0').slice(0, -1), words);
  });

  it('shJoin quotes argv so that sh -c sees the same argv', () => {
    const argv = ['printf', '%s|', ...NASTY];
    const out = execFileSync('/bin/sh', ['-c', shJoin(argv)], { encoding: 'utf8' });
    assert.equal(out, NASTY.map((s) => `${s}|`).join(''));
  });
});
