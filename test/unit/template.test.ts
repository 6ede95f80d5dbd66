import assert from 'node:assert/strict';
import { LazyVars, Templates, TemplateRenderError } from '../../src/template.js';

describe('templates', () => {
  const t = new Templates({ env: { MSK_TOKEN: 'tok-123' } });
  const vars = { a: 1, name: 'h1', nested: { x: 'y' }, list: [1, 2] };

  it('renders variables and attributes', () => {
    assert.equal(t.renderString('{{ name }}-{{ nested.x }}-{{ a + 1 }}', vars), 'h1-y-2');
  });

  it('fails on an undefined variable, naming it', () => {
    assert.throws(
      () => t.renderString('x {{ missing }}', vars),
      (e: unknown) => e instanceof TemplateRenderError && e.variable === 'missing',
    );
    assert.throws(() => t.renderString('{{ nested.nope }}', vars), /undefined variable 'nope'/);
    assert.throws(() => t.renderString('{{ missing | upper }}', vars), /undefined variable 'missing'/);
    assert.throws(() => t.evaluate("missing == 'x'", vars), /undefined variable 'missing'/);
  });

  it('keeps default() and "is defined" working for undefined names', () => {
    assert.equal(t.renderString('{{ missing | default("d") }}', vars), 'd');
    assert.equal(t.evaluate('missing is defined', vars), false);
    assert.equal(t.evaluate('name is defined', vars), true);
  });

  it('keeps native types for a lone expression', () => {
    assert.deepEqual(t.renderValue({ l: '{{ list }}', n: '{{ a }}', s: 'n={{ a }}', b: '{{ a == 1 }}' }, vars), { l: [1, 2], n: 1, s: 'n=1', b: true });
  });

  it("reads the environment with lookup('env', NAME) and fails when it is unset", () => {
    assert.equal(t.renderString("{{ lookup('env', 'MSK_TOKEN') }}", vars), 'tok-123');
    assert.throws(
      () => t.renderString("{{ lookup('env', 'NOPE') }}", vars),
      (e: unknown) => (e as TemplateRenderError).variable === 'env NOPE',
    );
  });

  it('renders variables that are templates themselves, lazily, and reports cycles', () => {
    const lazy = new LazyVars(
      t,
      { domain: 'ex.social', host: 's3.{{ domain }}', broken: '{{ nope }}', c1: '{{ c2 }}', c2: '{{ c1 }}' },
      { facts: { os: 'debian' } },
    );
    const used = new Set<string>();
    assert.equal(t.renderValue('{{ host }}/{{ facts.os }}', lazy.context(), used), 's3.ex.social/debian');
    assert.ok(used.has('host') && used.has('domain'), 'tracks the variables a value came from');
    assert.throws(() => t.renderValue('{{ c1 }}', lazy.context()), /variable cycle: c1 -> c2 -> c1/);
  });

  it('formats resolvers for nginx', () => {
    assert.equal(t.renderString('{{ ns | nginx_resolvers }}', { ns: ['10.0.0.1', 'fd00::1'] }), '10.0.0.1 [fd00::1]');
  });
});
