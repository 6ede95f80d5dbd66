// Extra vars (-e), typed connection vars, and Python-style JSON output.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { connVars, parseExtraVars, pyJsonDumps, type VarLayer } from '../../src/inventory/index.js';
import { splitKvArgs, decodeEscapes } from '../../src/inventory/extravars.js';
import { pyFloatRepr } from '../../src/inventory/pyjson.js';

const values = (layer: VarLayer) => Object.fromEntries([...layer].map(([k, e]) => [k, e.value]));

function tmp(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-ev-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function throwsInput(fn: () => unknown, message: RegExp, pos?: { file?: string; line?: number; col?: number }): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.match(e.message, message);
    if (pos?.file !== undefined) assert.equal(e.pos?.file, pos.file);
    if (pos?.line !== undefined) assert.equal(e.pos?.line, pos.line);
    if (pos?.col !== undefined) assert.equal(e.pos?.col, pos.col);
    assert.ok(e.hint, 'says what to do');
    return true;
  });
}

describe('extra vars: key=value', () => {
  it('splits on spaces, values are strings, quotes group words and are removed', () => {
    const layer = parseExtraVars(['a=1 b="two words" c=\'x y\' d= e=yes'], '/');
    assert.deepEqual(values(layer), { a: '1', b: 'two words', c: 'x y', d: '', e: 'yes' });
  });

  it('keeps the first = as the separator and decodes backslash escapes', () => {
    assert.deepEqual(values(parseExtraVars(['url=http://x/?a=b tab=a\\tb nl=1\\n2 q=\\"quoted\\"'], '/')), {
      url: 'http://x/?a=b',
      tab: 'a\tb',
      nl: '1\n2',
      q: 'quoted', // escapes are decoded first, then the quotes removed (checked with ansible-inventory)
    });
  });

  it('keeps template blocks together', () => {
    assert.deepEqual(values(parseExtraVars(['msg={{ a | default("x y") }} n=1'], '/')), { msg: '{{ a | default("x y") }}', n: '1' });
  });

  it('records the argument and column of each variable', () => {
    const layer = parseExtraVars(['x=1', 'a=1  b=2'], '/');
    assert.deepEqual(layer.get('x')!.pos, { file: '-e #1', line: 1, col: 1 });
    assert.deepEqual(layer.get('b')!.pos, { file: '-e #2', line: 1, col: 6 });
  });

  it('later -e win', () => {
    assert.deepEqual(values(parseExtraVars(['a=1 b=1', 'a=2', '{"b": 3}'], '/')), { a: '2', b: 3 });
  });

  it('refuses words without =, bad names, unbalanced quotes, and bare file names', () => {
    throwsInput(() => parseExtraVars(['a=1 oops'], '/'), /'oops' is not key=value/, { file: '-e #1', col: 5 });
    throwsInput(() => parseExtraVars(['my-var=1'], '/'), /invalid variable name 'my-var'/);
    throwsInput(() => parseExtraVars(['a="open'], '/'), /unbalanced quote/);
    throwsInput(() => parseExtraVars(['./vars.yml'], '/'), /look like a file name/);
    throwsInput(() => parseExtraVars(['ansible_port=ssh'], '/'), /ansible_port must be an integer/, { file: '-e #1', col: 1 });
  });

  it('splits like Ansible: multiple spaces, newlines', () => {
    assert.deepEqual(
      splitKvArgs('a=1   b="x  y"\nc=3', { file: 't' }).map((t) => t.text),
      ['a=1', 'b="x  y"', 'c=3'],
    );
    assert.equal(decodeEscapes('\\u00e9\\x41\\\\n'), 'éA\\n');
  });
});

describe('extra vars: JSON/YAML and @file', () => {
  it('reads a JSON or YAML flow mapping with types', () => {
    assert.deepEqual(values(parseExtraVars(['{"a": 1, "b": [true, null], "c": {"d": "e"}}'], '/')), { a: 1, b: [true, null], c: { d: 'e' } });
    assert.deepEqual(values(parseExtraVars(['{a: yes, b: 0755}'], '/')), { a: true, b: 493 });
  });

  it('points at the line and column of an error inside the argument', () => {
    throwsInput(() => parseExtraVars(['{"ansible_become": "perhaps"}'], '/'), /ansible_become must be a boolean/, { file: '-e #1', line: 1, col: 2 });
    throwsInput(() => parseExtraVars(['[1, 2]'], '/'), /must be a mapping/, { file: '-e #1' });
    throwsInput(() => parseExtraVars(['{"a": 1'], '/'), /./, { file: '-e #1', line: 1 });
  });

  it('reads @file relative to cwd, naming that file in positions', () => {
    const dir = tmp({ 'vars.yml': '# site vars\nbucket: media\nport: 8080\n', 'vars.json': '{"port": 9}' });
    const layer = parseExtraVars(['@vars.yml', '@vars.json'], dir);
    assert.deepEqual(values(layer), { bucket: 'media', port: 9 });
    assert.deepEqual(layer.get('bucket')!.pos, { file: 'vars.yml', line: 2, col: 1 });
    assert.deepEqual(layer.get('port')!.pos, { file: 'vars.json', line: 1, col: 2 });
  });

  it('errors in @file name that file and line', () => {
    const dir = tmp({ 'bad.yml': 'a: 1\nansible_port: 99999\n', 'list.yml': '- a\n', 'empty.yml': '', 'broken.yml': 'a: [\n' });
    throwsInput(() => parseExtraVars(['@bad.yml'], dir), /ansible_port must be an integer/, { file: 'bad.yml', line: 2, col: 1 });
    throwsInput(() => parseExtraVars(['@list.yml'], dir), /must be a mapping/, { file: 'list.yml', line: 1 });
    throwsInput(() => parseExtraVars(['@empty.yml'], dir), /is empty/, { file: 'empty.yml' });
    throwsInput(() => parseExtraVars(['@broken.yml'], dir), /./, { file: 'broken.yml' });
    throwsInput(() => parseExtraVars(['@missing.yml'], dir), /cannot read extra vars file \(ENOENT\)/, { file: 'missing.yml' });
  });
});

describe('connection vars', () => {
  const hv = (vars: Record<string, unknown>) => ({ vars, sources: Object.fromEntries(Object.keys(vars).map((k) => [k, { file: 'inv.yml', line: 1 }])) });

  it('converts to typed values', () => {
    assert.deepEqual(
      connVars(
        hv({ ansible_host: '192.0.2.1', ansible_port: '2222', ansible_become: 'yes', ansible_host_key_checking: false, ansible_connection: 'ssh', other: 1 }),
      ),
      { ansible_host: '192.0.2.1', ansible_port: 2222, ansible_become: true, ansible_host_key_checking: false, ansible_connection: 'ssh' },
    );
  });

  it('resolves aliases; the alias wins when both are set, like Ansible', () => {
    assert.deepEqual(connVars(hv({ ansible_ssh_host: 'a', ansible_host: 'b', ansible_ssh_user: 'u', ansible_private_key_file: '/k' })), {
      ansible_host: 'a',
      ansible_user: 'u',
      ansible_ssh_private_key_file: '/k',
    });
  });

  it('refuses values that are still templates, naming where they came from', () => {
    throwsInput(() => connVars(hv({ ansible_port: '{{ base + 1 }}' })), /ansible_port is a template/, { file: 'inv.yml', line: 1 });
  });

  it('refuses wrong types with the source position', () => {
    throwsInput(() => connVars(hv({ ansible_become: 'sometimes' })), /ansible_become must be a boolean/, { file: 'inv.yml' });
  });
});

describe('Python-style JSON (what ansible-inventory prints)', () => {
  it('prints floats like Python repr', () => {
    const cases: Array<[number, string]> = [
      [1, '1.0'],
      [0.5, '0.5'],
      [-2.5, '-2.5'],
      [1e16, '1e+16'],
      [1.5e16, '1.5e+16'],
      [123456789012345.6, '123456789012345.6'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [0, '0.0'],
      [-0, '-0.0'],
      [Infinity, 'Infinity'],
      [NaN, 'NaN'],
      [1e300, '1e+300'],
    ];
    for (const [x, s] of cases) assert.equal(pyFloatRepr(x), s, String(x));
  });

  it('sorts keys at every level and indents by 4', () => {
    assert.equal(
      pyJsonDumps({ b: [], a: { d: 1, c: {} }, e: 'é"\n' }),
      '{\n    "a": {\n        "c": {},\n        "d": 1\n    },\n    "b": [],\n    "e": "é\\"\\n"\n}',
    );
  });
});
