import assert from 'node:assert/strict';
import { CHANGED_MARK, MASK, Secrets, maskFieldPair } from '../../src/secrets.js';

describe('secrets', () => {
  it('masks every occurrence, also inside JSON-escaped text and nested values', () => {
    const s = new Secrets();
    s.add('p@ss"word');
    assert.equal(s.mask('a p@ss"word b p@ss"word'), `a ${MASK} b ${MASK}`);
    assert.equal(s.mask(JSON.stringify({ k: 'p@ss"word' })), `{"k":"${MASK}"}`);
    assert.deepEqual(s.maskDeep({ a: ['x p@ss"word'] }), { a: [`x ${MASK}`] });
  });
  it('ignores empty, very short and non-string values', () => {
    const s = new Secrets();
    s.add('');
    s.add(undefined);
    s.add('abc');
    assert.equal(s.size, 0);
    assert.equal(s.mask('text'), 'text');
  });

  describe('by field (values we do not know: an old key after a rotation)', () => {
    const OLD = 'OLDcanarySECRET0123456789';
    const NEW = 'NEWsecretVALUE9876543210';
    it("s3cmd's ini lines: both sides masked, the diff still says the key changed", () => {
      const f = maskFieldPair(
        `access_key = AKOLD12345\nsecret_key = ${OLD}\nhost_base = s3\n`,
        `access_key = AKOLD12345\nsecret_key = ${NEW}\nhost_base = s3\n`,
      );
      assert.equal(f.before, `access_key = ${MASK}\nsecret_key = ${MASK}\nhost_base = s3\n`);
      assert.equal(f.after, `access_key = ${MASK}\nsecret_key = ${CHANGED_MARK}\nhost_base = s3\n`);
      assert.deepEqual(f.found.sort(), ['AKOLD12345', 'AKOLD12345', NEW, OLD].sort());
    });
    it("Misskey v10's YAML (quoted), v11/v12 meta lines (JSON values) and JSON objects", () => {
      const y = maskFieldPair(
        `drive:\n  config:\n    accessKey: 'AK'\n    secretKey: '${OLD}'\n`,
        `drive:\n  config:\n    accessKey: 'AK'\n    secretKey: '${NEW}'\n`,
      );
      assert.equal(y.before, `drive:\n  config:\n    accessKey: ${MASK}\n    secretKey: ${MASK}\n`);
      assert.equal(y.after, `drive:\n  config:\n    accessKey: ${MASK}\n    secretKey: ${CHANGED_MARK}\n`);
      assert.ok(y.found.includes(OLD), 'the quotes are not part of the value found');
      const m = maskFieldPair(`objectStorageSecretKey: "${OLD}"\nobjectStorageBucket: "b"\n`, `objectStorageSecretKey: "${NEW}"\nobjectStorageBucket: "b"\n`);
      assert.equal(m.before, `objectStorageSecretKey: ${MASK}\nobjectStorageBucket: "b"\n`);
      assert.equal(m.after, `objectStorageSecretKey: ${CHANGED_MARK}\nobjectStorageBucket: "b"\n`);
      const j = maskFieldPair(`{\n  "token": "${OLD}",\n  "x": 1\n}`, `{\n  "x": 1\n}`);
      assert.equal(j.before, `{\n  "token": ${MASK},\n  "x": 1\n}`);
    });
    it('a field only on one side is masked without a mark; unrelated lines stay; declared names count too', () => {
      const f = maskFieldPair('', `secret_key = ${NEW}\n`);
      assert.equal(f.after, `secret_key = ${MASK}\n`);
      assert.equal(maskFieldPair('expires max;\nproxy_cache_valid 200 1d;\n', '').before, 'expires max;\nproxy_cache_valid 200 1d;\n');
      assert.equal(maskFieldPair(`pin = ${OLD}\n`, '', ['pin']).before, `pin = ${MASK}\n`);
    });
    it('values found are masked by value afterwards; null, booleans and short words are not remembered', () => {
      const s = new Secrets();
      for (const v of ['null', 'false', 'abc', OLD]) s.addFound(v);
      assert.equal(s.mask(`a null false ${OLD}`), `a null false ${MASK}`);
    });
  });
});
