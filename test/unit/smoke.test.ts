import assert from 'node:assert/strict';
import { formatPos } from '../../src/errors.js';
describe('errors', () => {
  it('formats a position as file:line:col', () => {
    assert.equal(formatPos({ file: 'a.yml', line: 3, col: 5 }), 'a.yml:3:5');
  });
});
