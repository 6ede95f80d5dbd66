// Proves the golden files are what real Ansible (ansible-core, Debian package `ansible-core`) prints,
// and that our loader and patterns give the same. Needs `ansible-inventory` and `ansible` on PATH:
// skipped with a message without them, but under CI=true their absence fails.
// RECORD_GOLDEN=1 rewrites the golden files from Ansible's output.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { inventoryHostJson, loadInventory, parseExtraVars, selectHosts } from '../../src/inventory/index.js';
import {
  ansibleHostJson,
  ansibleListHosts,
  caseKey,
  fixture,
  hasAnsible,
  HOST_CASES,
  HOSTS_GOLDEN,
  PATTERN_CASES,
  PATTERNS_GOLDEN,
  patternOrderIsStable,
  pool,
  readJson,
  type PatternGolden,
} from './inventory-golden.js';
import { needOrSkip } from '../prereq.js';

const record = process.env.RECORD_GOLDEN === '1';
const sorted = (a: string[]) => [...a].sort();

describe('inventory vs real Ansible (ansible-inventory, ansible --list-hosts)', function () {
  this.timeout(300_000);

  before(function () {
    needOrSkip(this, hasAnsible(), 'ansible-inventory not found: install the Debian package ansible-core to cross-check with Ansible');
  });

  for (const fx of [...new Set(HOST_CASES.map((c) => c.fixture))]) {
    it(`${fx}: ansible-inventory --host prints the golden JSON, and so do we`, async () => {
      const inv = loadInventory(fixture(fx, 'inventory.yml'));
      const golden: Record<string, Record<string, string>> = record ? {} : readJson(HOSTS_GOLDEN(fx));
      let compared = 0;
      for (const c of HOST_CASES.filter((x) => x.fixture === fx)) {
        const extra = parseExtraVars(c.extra, fixture(fx));
        if (record) golden[c.label] = {};
        const hosts = [...inv.hosts.keys()];
        const outputs = await pool(hosts.map((h) => () => ansibleHostJson(fx, h, c.extra)));
        for (const [i, host] of hosts.entries()) {
          const theirs = outputs[i];
          if (record) golden[c.label][host] = theirs;
          assert.equal(theirs, golden[c.label][host], `golden of ${fx}/${c.label}/${host} is stale (RECORD_GOLDEN=1)`);
          assert.equal(inventoryHostJson(inv, host, extra), theirs, `${fx} ${c.label} host ${host}`);
          compared++;
        }
      }
      if (record) fs.writeFileSync(HOSTS_GOLDEN(fx), JSON.stringify(golden, null, 2) + '\n');
      assert.ok(compared >= inv.hosts.size);
    });
  }

  it('host patterns and --limit select what ansible --list-hosts selects', async () => {
    const inv = loadInventory(fixture('patterns', 'inventory.yml'));
    const golden = new Map((record ? [] : readJson<PatternGolden[]>(PATTERNS_GOLDEN)).map((g) => [caseKey(g), g]));
    const recorded: PatternGolden[] = [];
    const results = await pool(PATTERN_CASES.map((c) => () => ansibleListHosts(c)));
    for (const [i, c] of PATTERN_CASES.entries()) {
      const theirs = results[i];
      recorded.push(theirs);
      const stable = patternOrderIsStable(inv, c);
      const g = golden.get(caseKey(c));
      if (!record) {
        assert.ok(g, `no golden entry for ${caseKey(c)} (RECORD_GOLDEN=1)`);
        assert.equal(theirs.unmatched, g.unmatched, caseKey(c));
        assert.deepEqual(stable ? theirs.hosts : sorted(theirs.hosts), stable ? g.hosts : sorted(g.hosts), caseKey(c));
      }
      if (theirs.unmatched) {
        assert.throws(() => selectHosts(inv, c.pattern, { limit: c.limit, cwd: fixture('patterns') }), /could not match supplied host pattern/, caseKey(c));
      } else {
        const ours = selectHosts(inv, c.pattern, { limit: c.limit, cwd: fixture('patterns') });
        assert.deepEqual(stable ? ours : sorted(ours), stable ? theirs.hosts : sorted(theirs.hosts), caseKey(c));
      }
    }
    if (record) fs.writeFileSync(PATTERNS_GOLDEN, JSON.stringify(recorded, null, 2) + '\n');
  });
});
