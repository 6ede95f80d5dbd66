// Inventory loading and variable precedence, checked against golden files recorded from
// ansible-inventory --host (see inventory-golden.ts) and against hand-written expectations.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  groupNames,
  hostGroups,
  hostVarLayers,
  hostVars,
  inventoryHostJson,
  isUnsafe,
  loadInventory,
  parseExtraVars,
  sortGroups,
} from '../../src/inventory/index.js';
import { fixture, HOST_CASES, HOSTS_GOLDEN, readJson } from './inventory-golden.js';

function tmpInventory(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-inv-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return path.join(dir, 'inventory.yml');
}

describe('inventory: same merged vars as ansible-inventory --host (golden files)', () => {
  for (const c of HOST_CASES) {
    it(`${c.fixture} (${c.label}${c.extra.length ? `, -e ${c.extra.join(' -e ')}` : ''})`, () => {
      const inv = loadInventory(fixture(c.fixture, 'inventory.yml'));
      const golden = readJson<Record<string, Record<string, string>>>(HOSTS_GOLDEN(c.fixture))[c.label];
      assert.deepEqual([...inv.hosts.keys()].sort(), Object.keys(golden).sort(), 'same hosts as Ansible');
      const extra = parseExtraVars(c.extra, fixture(c.fixture));
      for (const host of inv.hosts.keys()) assert.equal(inventoryHostJson(inv, host, extra), golden[host], host);
    });
  }
});

describe('inventory: structure', () => {
  const inv = loadInventory(fixture('basic', 'inventory.yml'));

  it('keeps hosts in file order, one entry per host even when listed in several groups', () => {
    assert.deepEqual(
      [...inv.hosts.keys()],
      ['mail.example.com', 'foo.example.com', 'bar.example.com', 'one.example.com', 'two.example.com', 'three.example.com'],
    );
    assert.deepEqual(inv.hosts.get('foo.example.com')!.groups, ['webservers', 'east']);
  });

  it('has implicit all and ungrouped; a host only under all is ungrouped', () => {
    assert.deepEqual(inv.groups.get('ungrouped')!.hosts, ['mail.example.com']);
    assert.deepEqual(inv.groups.get('all')!.children, ['ungrouped', 'webservers', 'dbservers', 'east', 'west', 'prod', 'test']);
  });

  it('computes depth as the longest path from all', () => {
    const depth = (g: string) => inv.groups.get(g)!.depth;
    assert.equal(depth('all'), 0);
    assert.equal(depth('prod'), 1);
    assert.equal(depth('east'), 2); // all -> prod -> east, although all -> east too
    assert.equal(depth('west'), 2);
  });

  it('lists every group of a host, and group_names without all', () => {
    assert.deepEqual(hostGroups(inv, 'bar.example.com').sort(), ['all', 'prod', 'test', 'webservers', 'west']);
    assert.deepEqual(groupNames(inv, 'bar.example.com'), ['prod', 'test', 'webservers', 'west']);
    assert.deepEqual(groupNames(inv, 'mail.example.com'), ['ungrouped']);
  });

  it('sorts groups like Ansible: depth, then ansible_group_priority, then ASCII name', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    const names = sortGroups(['alpha_child', 'beta', 'alpha', 'Zeta', 'gamma'].map((g) => p.groups.get(g)!)).map((g) => g.name);
    // Zeta < alpha (ASCII: uppercase first); gamma (priority 5) and beta (10) after the default 1.
    assert.deepEqual(names, ['Zeta', 'alpha', 'gamma', 'beta', 'alpha_child']);
    assert.equal(p.groups.get('beta')!.priority, 10);
    assert.ok(!p.groups.get('beta')!.vars.has('ansible_group_priority'), 'priority is a setting, not a var');
  });

  it('expands host ranges and host:port entries', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    assert.deepEqual(p.groups.get('ranges')!.hosts, [
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
      'db-a',
      'db-b',
      'db-c',
      'node1',
      'node3',
      'node5',
      'portal.example.com',
    ]);
    assert.equal(hostVars(p, 'portal.example.com').vars.ansible_port, 2222);
  });
});

describe('inventory: precedence and sources', () => {
  const file = fixture('basic', 'inventory.yml');
  const inv = loadInventory(file);

  it('group_vars/all beats vars of any group in the inventory file (Ansible precedence)', () => {
    const hv = hostVars(inv, 'one.example.com');
    assert.equal(hv.vars.ntp_server, 'ntp.group-vars-all.example');
    assert.deepEqual(hv.sources.ntp_server, { file: fixture('basic', 'group_vars', 'all.yml'), line: 1, col: 1 });
  });

  it('names the file, line and column of each winning definition', () => {
    const hv = hostVars(inv, 'bar.example.com');
    assert.equal(hv.vars.ansible_port, 2222);
    assert.deepEqual(hv.sources.ansible_port, { file, line: 17, col: 11 });
    assert.equal(hv.vars.role, 'web');
    assert.deepEqual(hv.sources.role, { file, line: 12, col: 9 }); // `role: web` under webservers' vars
    assert.equal(hv.vars.web_root, '/srv/www', 'group_vars/webservers/ is read in sorted order');
    assert.deepEqual(hv.sources.web_root, { file: fixture('basic', 'group_vars', 'webservers', '20-extra.yaml'), line: 1, col: 1 });
  });

  it('host_vars beat inventory host vars, which beat every group layer', () => {
    const hv = hostVars(inv, 'foo.example.com');
    assert.equal(hv.vars.role, 'frontend');
    assert.equal(hv.sources.role.file, fixture('basic', 'host_vars', 'foo.example.com.yml'));
  });

  it('extra vars win over everything, the last -e first', () => {
    const extra = parseExtraVars(['role=one http_port=1', 'role=two'], fixture('basic'));
    const hv = hostVars(inv, 'foo.example.com', extra);
    assert.equal(hv.vars.role, 'two');
    assert.equal(hv.vars.http_port, '1', 'k=v values are strings, like Ansible');
    assert.deepEqual(hv.sources.role, { file: '-e #2', line: 1, col: 1 });
    assert.deepEqual(hv.sources.http_port, { file: '-e #1', line: 1, col: 10 });
  });

  it('lists the layers lowest first with their labels', () => {
    const labels = hostVarLayers(inv, 'bar.example.com').map((l) => l.label);
    assert.deepEqual(labels, [
      "inventory vars of group 'all'",
      "inventory vars of group 'prod'", // depth 1, by name
      "inventory vars of group 'test'",
      "inventory vars of group 'webservers'",
      "inventory vars of group 'west'", // depth 2 (all -> prod -> west)
      'group_vars/all',
      'group_vars/prod',
      'group_vars/test',
      'group_vars/webservers',
      'group_vars/west',
      "inventory vars of host 'bar.example.com'",
      'host_vars/bar.example.com',
    ]);
  });

  it('replaces mappings at the top level, never deep-merges them', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    assert.deepEqual(hostVars(p, 'h1').vars.nested, { a: 9 });
    assert.deepEqual(hostVars(p, 'h2').vars.nested, { z: 1 });
    assert.deepEqual(hostVars(p, 'h3').vars.nested, { a: 1, b: { c: 2 } });
  });

  it('returns copies: changing the result does not change the inventory', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    const hv = hostVars(p, 'h3');
    (hv.vars.nested as { a: number }).a = 42;
    assert.deepEqual(hostVars(p, 'h3').vars.nested, { a: 1, b: { c: 2 } });
  });

  it('reads only the first of group_vars/<g>, <g>.yml, <g>.yaml, <g>.json', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    const hv = hostVars(p, 'h3');
    assert.equal(hv.vars.beta_file, 'yml');
    assert.ok(!('beta_only_yaml' in hv.vars), 'beta.yaml is ignored when beta.yml exists');
    assert.equal(hv.vars.gamma_file, 'noext');
  });

  it('reads a group_vars directory recursively, skipping hidden, backup and other files', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    const dir = fixture('precedence', 'group_vars', 'alpha');
    assert.deepEqual(
      p.varsFiles.filter((f) => f.startsWith(dir + path.sep)),
      [path.join(dir, '01.yml'), path.join(dir, '02'), path.join(dir, 'sub', '03.json')],
    );
    assert.equal(hostVars(p, 'h1').vars.alpha_file, 3);
  });

  it('warns about group_vars that match no group', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    assert.equal(p.warnings.length, 1);
    assert.match(p.warnings[0], /unknown_group\.yml: no group named 'unknown_group'/);
  });

  it('keeps !unsafe strings marked, so templating can leave them alone', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    const hv = hostVars(p, 's1');
    assert.equal(hv.vars.unsafe, '{{ not_a_template }}');
    assert.ok(isUnsafe(hv.vars, 'unsafe'));
    assert.ok(!isUnsafe(hv.vars, 'quoted_yes'));
  });

  it('reads YAML 1.1 scalars the way PyYAML does', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    const v = hostVars(p, 's1').vars;
    assert.equal(v.yes_word, true);
    assert.equal(v.off_word, false);
    assert.equal(v.y_letter, 'y');
    assert.equal(v.octal, 493);
    assert.equal(v.eight, '08');
    assert.equal(v.exp_no_dot, '1e3');
    assert.equal(v.sexagesimal, 80);
    assert.equal(v.version, 1.1);
    assert.equal(v.date, '2001-12-14');
    assert.equal(v.empty, null);
  });

  it('accepts a group_vars file that is a single JSON document, with JSON number rules', () => {
    const p = loadInventory(fixture('precedence', 'inventory.yml'));
    assert.equal(hostVars(p, 'h1').vars.json_exp, 1000);
  });

  it('loads a fresh inventory with a group_vars directory per group and host_vars JSON', () => {
    const file = tmpInventory({
      'inventory.yml': 'all:\n  hosts:\n    h1:\n      x: inv\n',
      'group_vars/all/a.yml': 'x: gv\ny: 1\n',
      'host_vars/h1.json': '{"y": 2}',
    });
    const hv = hostVars(loadInventory(file), 'h1');
    assert.deepEqual(hv.vars, { x: 'inv', y: 2 });
    assert.equal(hv.sources.y.file, path.join(path.dirname(file), 'host_vars', 'h1.json'));
  });

  it('skips empty vars files, like Ansible', () => {
    const file = tmpInventory({ 'inventory.yml': 'all:\n  hosts:\n    h1:\n', 'group_vars/all.yml': '# nothing yet\n' });
    assert.deepEqual(hostVars(loadInventory(file), 'h1').vars, {});
  });
});
