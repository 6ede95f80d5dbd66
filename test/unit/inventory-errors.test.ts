// Bad inventories are refused with an InputError that names file:line:col and says what to do.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { hostVars, loadInventory } from '../../src/inventory/index.js';

function write(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-inv-err-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return path.join(dir, 'inventory.yml');
}

interface Expect {
  message: RegExp;
  line?: number;
  col?: number;
  /** File name relative to the inventory's directory (default inventory.yml). */
  file?: string;
  hint?: RegExp;
}

function expectError(files: Record<string, string>, e: Expect): InputError {
  const inv = write(files);
  let caught: unknown;
  try {
    loadInventory(inv);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof InputError, `expected an InputError, got ${String(caught)}`);
  assert.match(caught.message, e.message);
  assert.equal(caught.pos?.file, path.join(path.dirname(inv), e.file ?? 'inventory.yml'));
  if (e.line !== undefined) assert.equal(caught.pos?.line, e.line, `line of: ${caught.message}`);
  if (e.col !== undefined) assert.equal(caught.pos?.col, e.col, `col of: ${caught.message}`);
  if (e.hint) assert.match(caught.hint ?? '', e.hint);
  assert.ok(caught.hint, 'every inventory error says what to do');
  return caught;
}

const inv = (text: string) => ({ 'inventory.yml': text });

describe('inventory errors: YAML and shape', () => {
  it('malformed YAML names the line and column', () => {
    expectError(inv('all:\n  hosts:\n    web1:\n   bad: [1, 2\n'), { message: /same column/, line: 4, col: 4 });
  });

  it('a duplicate key is an error (Ansible would silently keep the last)', () => {
    expectError(inv('all:\n  hosts:\n    web1:\n    web1:\n'), { message: /duplicate key 'web1' \(first at line 3\)/, line: 4, col: 5, hint: /duplicate/ });
  });

  it('an empty file or one with only comments', () => {
    expectError(inv(''), { message: /inventory is empty/, hint: /all:/ });
    expectError(inv('# nothing\n'), { message: /inventory is empty/ });
  });

  it('groups but no hosts', () => {
    expectError(inv('all:\n  children:\n    web:\n'), { message: /inventory has no hosts/ });
  });

  it('a list at the top', () => {
    expectError(inv('- web1\n- web2\n'), { message: /must be a mapping of group names.*found a list/, line: 1, col: 1 });
  });

  it('an INI inventory gets a conversion hint', () => {
    expectError(inv('# hosts\n[web]\nweb1 ansible_host=192.0.2.1\n'), { message: /INI inventory/, line: 2, col: 1, hint: /ansible-inventory .*--list -y/ });
  });

  it('an inventory plugin config is not an inventory', () => {
    expectError(inv('plugin: aws_ec2\n'), { message: /plugin configuration/, line: 1, col: 1 });
  });

  it('unknown key at group level, with a suggestion', () => {
    expectError(inv('all:\n  children:\n    web:\n      host:\n        web1:\n'), {
      message: /unknown key 'host' in group 'web': only hosts, children and vars/,
      line: 4,
      col: 7,
      hint: /did you mean 'hosts'/,
    });
    expectError(inv('all:\n  hosts:\n    a:\n  groups:\n    b:\n'), { message: /unknown key 'groups'/, line: 4, col: 3, hint: /children/ });
  });

  it('hosts written as a list instead of a mapping', () => {
    expectError(inv('all:\n  children:\n    web:\n      hosts:\n        - web1\n        - web2\n'), {
      message: /'hosts' of group 'web' must be a mapping of names, found a list/,
      line: 5,
      col: 9,
      hint: /not a list[\s\S]*web1:/,
    });
  });

  it('vars that are not a mapping', () => {
    expectError(inv('all:\n  vars:\n    - a\n  hosts:\n    h:\n'), { message: /vars of group 'all' must be a mapping.*found a list/, line: 3, col: 5 });
    expectError(inv('all:\n  vars: just_a_string\n  hosts:\n    h:\n'), { message: /vars of group 'all' must be a mapping/, line: 2, col: 9 });
  });

  it('a group that is not a mapping', () => {
    expectError(inv('web:\n  - web1\n'), { message: /group 'web' must be a mapping with hosts, children or vars, found a list/, line: 2, col: 3 });
  });

  it('a host followed by a scalar instead of its vars', () => {
    expectError(inv('all:\n  hosts:\n    web1: 192.0.2.10\n'), {
      message: /host 'web1' must be followed by a mapping of its variables/,
      line: 3,
      col: 11,
      hint: /ansible_host/,
    });
  });
});

describe('inventory errors: names and graph', () => {
  it('a host named like a group', () => {
    expectError(inv('all:\n  children:\n    web:\n      hosts:\n        db:\n    db:\n      hosts:\n        db1:\n'), {
      message: /'db' is both a host and a group/,
      line: 5,
      col: 9,
      hint: /rename/,
    });
    expectError(inv('all:\n  hosts:\n    all:\n'), { message: /'all' is both a host and a group/ });
  });

  it('a cycle in children, with the path', () => {
    expectError(inv('a:\n  children:\n    b:\n      children:\n        c:\n          children:\n            a:\n  hosts:\n    h1:\n'), {
      // Found when the last edge is added: a's children are read after their own children.
      message: /children form a cycle: b -> c -> a -> b/,
      line: 3,
      col: 5,
      hint: /remove 'b' from the children of 'a'/,
    });
  });

  it('a group as its own child, and all as a child', () => {
    expectError(inv('web:\n  children:\n    web:\n'), { message: /cannot be a child of itself/, line: 3, col: 5 });
    expectError(inv('web:\n  children:\n    all:\n'), { message: /'all' cannot be a child/, line: 3, col: 5 });
  });

  it('invalid host names', () => {
    expectError(inv('all:\n  hosts:\n    "web 1":\n'), { message: /invalid host name 'web 1'/, line: 3, col: 5, hint: /letters, digits/ });
    expectError(inv('all:\n  hosts:\n    web/1:\n'), { message: /invalid host name 'web\/1'/ });
    expectError(inv('all:\n  hosts:\n    "*":\n'), { message: /invalid host name '\*'/ });
  });

  it('a host name YAML reads as a number must be quoted', () => {
    expectError(inv('all:\n  hosts:\n    10:\n'), { message: /a host name must be a string, found a number \(10\)/, line: 3, col: 5, hint: /quote it: "10"/ });
  });

  it('invalid group names', () => {
    expectError(inv('all:\n  children:\n    "web:prod":\n      hosts:\n        w:\n'), {
      message: /invalid group name 'web:prod'/,
      line: 3,
      col: 5,
      hint: /host patterns/,
    });
  });

  it('bad host ranges', () => {
    expectError(inv('all:\n  hosts:\n    web[3:1]:\n'), { message: /begin <= end/, line: 3, col: 5, hint: /web\[01:10\]/ });
    expectError(inv('all:\n  hosts:\n    web[01:5]:\n'), { message: /equal-length/ });
    expectError(inv('all:\n  hosts:\n    web[1:]:\n'), { message: /end value/ });
  });

  it('invalid variable names', () => {
    expectError(inv('all:\n  vars:\n    my-var: 1\n  hosts:\n    h:\n'), {
      message: /invalid variable name 'my-var'/,
      line: 3,
      col: 5,
      hint: /letters, digits and '_'/,
    });
  });

  it('ansible_group_priority that is not an integer', () => {
    expectError(inv('all:\n  children:\n    g:\n      vars:\n        ansible_group_priority: high\n      hosts:\n        h:\n'), {
      message: /ansible_group_priority must be an integer/,
      line: 5,
      col: 9,
    });
  });

  it('vault values are not supported', () => {
    expectError(inv('all:\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n  hosts:\n    h:\n'), {
      message: /Vault/,
      line: 3,
      hint: /-e @file/,
    });
  });
});

describe('inventory errors: connection vars are type-checked where they are written', () => {
  const host = (vars: string) => inv(`all:\n  hosts:\n    h1:\n${vars}`);

  it('ansible_port must be an integer 1..65535', () => {
    expectError(host('      ansible_port: twenty-two\n'), {
      message: /ansible_port must be an integer from 1 to 65535, found the string "twenty-two"/,
      line: 4,
      col: 7,
    });
    expectError(host('      ansible_port: 70000\n'), { message: /ansible_port must be an integer/, line: 4 });
    expectError(host('      ansible_port: 0\n'), { message: /ansible_port must be an integer/ });
    expectError(host('      ansible_ssh_port: 22.5\n'), { message: /ansible_ssh_port must be an integer/, hint: /ansible_ssh_port: 22/ });
  });

  it('booleans, strings and the connection type', () => {
    expectError(host('      ansible_become: maybe\n'), { message: /ansible_become must be a boolean, found the string "maybe"/ });
    expectError(host('      ansible_host_key_checking: 2\n'), { message: /ansible_host_key_checking must be a boolean/ });
    expectError(host('      ansible_host: 10\n'), { message: /ansible_host must be a non-empty string, found number 10/, hint: /quote/ });
    expectError(host('      ansible_user: [root]\n'), { message: /ansible_user must be a non-empty string, found a list/ });
    expectError(host('      ansible_connection: docker\n'), { message: /ansible_connection must be 'ssh' or 'local'/ });
  });

  it('in a group_vars file, the error names that file', () => {
    expectError(
      { 'inventory.yml': 'all:\n  hosts:\n    h1:\n', 'group_vars/all.yml': '# conn\nansible_port: "22x"\n' },
      {
        message: /ansible_port must be an integer/,
        file: path.join('group_vars', 'all.yml'),
        line: 2,
        col: 1,
      },
    );
  });

  it('accepts what Ansible accepts', () => {
    const file = write(
      host(
        '      ansible_port: "2222"\n      ansible_become: "yes"\n      ansible_host_key_checking: off\n      ansible_host: "{{ inventory_hostname }}.lan"\n      ansible_connection: local\n',
      ),
    );
    assert.equal(hostVars(loadInventory(file), 'h1').vars.ansible_port, '2222');
  });
});

describe('inventory errors: vars files', () => {
  it('a YAML error in a group_vars file names that file', () => {
    expectError(
      { 'inventory.yml': 'all:\n  hosts:\n    h1:\n', 'group_vars/all/main.yml': 'a: 1\nb: [\n' },
      {
        message: /./,
        file: path.join('group_vars', 'all', 'main.yml'),
        line: 3,
      },
    );
  });

  it('a vars file must hold a mapping', () => {
    expectError(
      { 'inventory.yml': 'all:\n  hosts:\n    h1:\n', 'host_vars/h1.yml': '- a\n- b\n' },
      {
        message: /vars file .*h1\.yml must be a mapping of variable names to values, found a list/,
        file: path.join('host_vars', 'h1.yml'),
        line: 1,
        col: 1,
      },
    );
  });

  it('a missing inventory file', () => {
    assert.throws(
      () => loadInventory('/nonexistent/inventory.yml'),
      (e: unknown) => e instanceof InputError && /file not found/.test(e.message) && e.pos?.file === '/nonexistent/inventory.yml',
    );
  });

  it('an unknown host asked for vars', () => {
    const file = write(inv('all:\n  hosts:\n    h1:\n'));
    assert.throws(
      () => hostVars(loadInventory(file), 'h2'),
      (e: unknown) => e instanceof InputError && /unknown host 'h2'/.test(e.message) && /h1/.test(e.hint ?? ''),
    );
  });
});
