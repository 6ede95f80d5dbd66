import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { loadPlaybook, resolvePlaybook } from '../../src/playbook/load.js';
import { prepare, selectedByTags } from '../../src/runner/prepare.js';
import { Secrets } from '../../src/secrets.js';
import { Templates } from '../../src/template.js';
import { TASKS } from '../../tasks/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mskplay-pb-'));
function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
}
function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  assert.fail('expected an InputError');
}

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('playbook loading', () => {
  it('loads plays, tasks, handlers, tags and imports', () => {
    write('inner.yml', '- name: inner\n  tasks:\n    - name: t2\n      command: { cmd: "true" }\n');
    const f = write(
      'outer.yml',
      [
        '- name: outer',
        '  hosts: web',
        '  tags: [base]',
        '  tasks:',
        '    - name: t1',
        '      copy: { dest: /tmp/x, content: hi }',
        '      notify: h1',
        '      tags: extra',
        '  handlers:',
        '    - name: h1',
        '      service: { name: nginx, state: reloaded }',
        '- import_playbook: inner.yml',
        '',
      ].join('\n'),
    );
    const pb = loadPlaybook(f, TASKS);
    assert.equal(pb.plays.length, 2);
    assert.equal(pb.plays[0].hosts, 'web');
    assert.deepEqual(pb.plays[0].tasks[0].tags, ['base', 'extra']);
    assert.deepEqual(pb.plays[0].tasks[0].notify, ['h1']);
    assert.equal(pb.plays[0].tasks[0].pos.line, 5);
    assert.equal(pb.plays[1].tasks[0].name, 't2');
  });

  it("flattens Ansible's block: its when, tags, ignore_errors and run_once go to each of its tasks", () => {
    const f = write(
      'block.yml',
      [
        '- name: x',
        '  tasks:',
        '    - name: before',
        '      command: { cmd: "true" }',
        '    - name: proxy only',
        "      when: role != 'app'",
        '      tags: [proxy]',
        '      run_once: true',
        '      block:',
        '        - name: inner',
        '          command: { cmd: "true" }',
        '          when: extra',
        '          tags: [vhost]',
        '        - name: inner2',
        '          command: { cmd: "true" }',
        '',
      ].join('\n'),
    );
    const t = loadPlaybook(f, TASKS).plays[0]!.tasks;
    assert.deepEqual(
      t.map((x) => [x.name, x.when, x.tags, x.runOnce, x.pos.line]),
      [
        ['before', [], [], false, 3],
        ['inner', ["role != 'app'", 'extra'], ['proxy', 'vhost'], true, 10],
        ['inner2', ["role != 'app'"], ['proxy'], true, 14],
      ],
    );
  });

  it("imports a task file (Ansible's import_tasks): in place, relative to the importing file, with the import's keywords; its errors name the task file's line", () => {
    write('parts/guard.yml', '- name: guard\n  command: { cmd: "true" }\n  tags: [g]\n');
    const f = write(
      'imports.yml',
      [
        '- name: x',
        '  tasks:',
        '    - import_tasks: parts/guard.yml',
        "      when: role != 'app'",
        '      tags: [storage]',
        '    - name: after',
        '      command: { cmd: "true" }',
        '',
      ].join('\n'),
    );
    const t = loadPlaybook(f, TASKS).plays[0]!.tasks;
    assert.deepEqual(
      t.map((x) => [x.name, x.when, x.tags, path.basename(x.pos.file), x.pos.line]),
      [
        ['guard', ["role != 'app'"], ['storage', 'g'], 'guard.yml', 1],
        ['after', [], [], 'imports.yml', 6],
      ],
    );
    write('parts/bad.yml', '- name: bad\n  copy: { dest: /b }\n');
    const bad = inputError(() => loadPlaybook(write('imports-bad.yml', '- name: x\n  tasks:\n    - import_tasks: parts/bad.yml\n'), TASKS));
    assert.match(bad.message, /missing required parameter 'content'/);
    assert.deepEqual([path.basename(bad.pos!.file), bad.pos!.line], ['bad.yml', 2]);
    const missing = inputError(() => loadPlaybook(write('imports-missing.yml', '- name: x\n  tasks:\n    - import_tasks: parts/nope.yml\n'), TASKS));
    assert.match(missing.message, /task file not found: parts\/nope.yml/);
    assert.equal(missing.pos!.line, 3);
    write('parts/loop.yml', '- import_tasks: loop.yml\n');
    const loop = inputError(() => loadPlaybook(write('imports-loop.yml', '- name: x\n  tasks:\n    - import_tasks: parts/loop.yml\n'), TASKS));
    assert.match(loop.message, /import cycle: imports-loop.yml -> loop.yml -> loop.yml/);
  });

  const cases: [string, string, RegExp, number][] = [
    ['malformed YAML', '- name: x\n  tasks: [\n', /YAML syntax error/, 3],
    ['unknown play key', '- name: x\n  taskz: []\n', /unknown play key 'taskz'.*/, 2],
    ['unknown module', '- name: x\n  tasks:\n    - name: a\n      templat: { src: a, dest: /b }\n', /unknown task module 'templat'/, 4],
    ['unknown param', '- name: x\n  tasks:\n    - copy: { dest: /b, content: x, mdoe: "0644" }\n', /unknown parameter 'mdoe'/, 3],
    ['missing param', '- name: x\n  tasks:\n    - copy: { dest: /b }\n', /missing required parameter 'content'/, 3],
    ['wrong type', '- name: x\n  tasks:\n    - file: { path: /b, state: directory, mode: 644 }\n', /mode must be string/, 3],
    ['bad enum', '- name: x\n  tasks:\n    - file: { path: /b, state: dir }\n', /must be one of/, 3],
    ['unknown handler', '- name: x\n  tasks:\n    - command: { cmd: "true" }\n      notify: nope\n', /notifies 'nope'/, 3],
    ['params not a map', '- name: x\n  tasks:\n    - command: true\n', /must be a mapping/, 3],
    ['a bad serial', '- name: x\n  serial: 0\n  tasks: []\n', /serial must be a batch size/, 2],
    ['a bad max_fail_percentage', '- name: x\n  max_fail_percentage: 120\n  tasks: []\n', /max_fail_percentage must be a number from 0 to 100/, 2],
    ['a partition that is an expression', '- name: x\n  partition: "{{ a }}"\n  tasks: []\n', /partition names a variable/, 2],
    [
      'run_once on a handler',
      '- name: x\n  tasks: []\n  handlers:\n    - name: h\n      command: { cmd: "true" }\n      run_once: true\n',
      /run_once is for tasks/,
      6,
    ],
  ];
  for (const [what, text, msg, line] of cases) {
    it(`refuses ${what} with file and line`, () => {
      const f = write(`bad-${what.replace(/\W/g, '-')}.yml`, text);
      const e = inputError(() => loadPlaybook(f, TASKS));
      assert.match(e.message, msg);
      assert.equal(e.pos?.file, f);
      assert.equal(e.pos?.line, line, e.toString());
    });
  }

  it('names known playbooks when one is missing', () => {
    write('pbs/site.yml', '[]\n');
    const e = inputError(() => resolvePlaybook('stie', path.join(dir, 'pbs')));
    assert.match(e.hint ?? '', /did you mean 'site'/);
  });
});

describe('tags', () => {
  it("follows Ansible's rules for always, never, tagged and untagged", () => {
    const none = { tags: [], skipTags: [] };
    assert.ok(selectedByTags([], none));
    assert.ok(!selectedByTags(['never'], none));
    assert.ok(selectedByTags(['a'], { tags: ['a'], skipTags: [] }));
    assert.ok(!selectedByTags(['b'], { tags: ['a'], skipTags: [] }));
    assert.ok(selectedByTags(['always'], { tags: ['a'], skipTags: [] }));
    assert.ok(!selectedByTags(['always'], { tags: [], skipTags: ['always'] }));
    assert.ok(selectedByTags(['x'], { tags: ['tagged'], skipTags: [] }));
    assert.ok(selectedByTags([], { tags: ['untagged'], skipTags: [] }));
    assert.ok(!selectedByTags(['a', 'b'], { tags: ['a'], skipTags: ['b'] }));
  });
});

describe('preflight', () => {
  const templates = new Templates({ templateDir: path.join(dir, 'tpl'), env: {} });
  write('tpl/t.j2', 'x={{ undefined_in_template }}\n');
  const run = (text: string, hostVars: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => {
    const f = write(`pre-${Math.random().toString(36).slice(2)}.yml`, text);
    const pb = loadPlaybook(f, TASKS);
    const secrets = new Secrets();
    const work = prepare({
      playbook: pb,
      playHosts: () => ['h1'],
      inventoryVars: () => ({ vars: hostVars, sources: Object.fromEntries(Object.keys(hostVars).map((k) => [k, { file: 'inventory.yml', line: 7, col: 5 }])) }),
      extraVars: { vars: extra, sources: {} },
      registry: TASKS,
      templates,
      secrets,
      tags: { tags: [], skipTags: [] },
      check: false,
    });
    return { work, secrets, file: f };
  };

  it('partitions hosts by a variable known before connecting, and refuses one that needs facts', () => {
    const pb = '- name: x\n  partition: inst\n  serial: 1\n  tasks:\n    - command: { cmd: "true" }\n      run_once: true\n';
    const { work } = run(pb, { inst: 'ex' });
    const task = work[0]!.plays[0]!.tasks[0]!;
    assert.equal(task.runOnce, true);
    // h1 is the one likely to run it (its condition may hold): it reads its probes ahead.
    assert.deepEqual(work[0]!.plays[0]!.coord, {
      group: 'ex',
      members: ['h1'],
      everyone: ['h1'],
      batches: [['h1']],
      maxFailPercentage: undefined,
      onceOwners: new Map([[task.id, 'h1']]),
    });
    const e = inputError(() => run(pb, { inst: '{{ facts.os_family }}' }));
    assert.match(e.message, /the partition variable inst depends on facts/);
  });

  it('a run_once task is read ahead by the first host of the partition whose condition may hold (not an app server that skips it)', () => {
    const f = write(
      'once-owner.yml',
      '- name: x\n  partition: inst\n  tasks:\n    - command: { cmd: "true" }\n      when: role != \'app\'\n      run_once: true\n',
    );
    const roles: Record<string, string> = { app1: 'app', media1: 'proxy', media2: 'proxy' };
    const work = prepare({
      playbook: loadPlaybook(f, TASKS),
      playHosts: () => Object.keys(roles),
      inventoryVars: (h) => ({ vars: { inst: 'ex', role: roles[h] }, sources: {} }),
      extraVars: { vars: {}, sources: {} },
      registry: TASKS,
      templates,
      secrets: new Secrets(),
      tags: { tags: [], skipTags: [] },
      check: false,
    });
    const c = work[0]!.plays[0]!.coord;
    assert.deepEqual([...c.onceOwners!.values()], ['media1']);
  });

  it('refuses an undefined variable in params, naming the task line and the variable', () => {
    const e = inputError(() => run('- name: x\n  tasks:\n    - name: t\n      copy:\n        dest: /x\n        content: "{{ nope }}"\n'));
    assert.match(e.message, /undefined variable 'nope'/);
    assert.equal(e.pos?.line, 6);
  });

  it('refuses an undefined variable inside a template file', () => {
    const e = inputError(() => run('- name: x\n  tasks:\n    - template: { src: t.j2, dest: /x }\n'));
    assert.match(e.message, /undefined variable 'undefined_in_template' in templates\/t.j2/);
  });

  it('refuses a bad rendered value and says which variable it came from', () => {
    const e = inputError(() => run('- name: x\n  tasks:\n    - file: { path: /x, state: directory, mode: "{{ m }}" }\n', { m: 'rwx' }));
    assert.match(e.message, /mode must match pattern/);
    assert.match(e.message, /m from inventory.yml:7:5/);
  });

  it('does not render params of a task whose condition is false', () => {
    const { work } = run('- name: x\n  tasks:\n    - copy: { dest: /x, content: "{{ nope }}" }\n      when: flag\n', { flag: false });
    assert.equal(work.length, 1);
  });

  it('lets -e win over inventory vars and registers secret params', () => {
    const { secrets } = run('- name: x\n  tasks:\n    - command: { cmd: "true", stdin: "{{ token }}" }\n', { token: 'inv-token' }, { token: 'extra-token' });
    assert.equal(secrets.mask('extra-token inv-token'), '******** inv-token');
  });
});
