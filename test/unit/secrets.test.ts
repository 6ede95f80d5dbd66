import assert from 'node:assert/strict';
import { MASK, Secrets } from '../../src/secrets.js';

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
});
