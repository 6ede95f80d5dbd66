// The CLI refuses bad input before touching any host: exit 5, file:line:col and a hint.
// Hosts here point at 127.0.0.1 port 1, so any connection attempt would show up as unreachable (4).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { play } from '../e2e/play.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mskplay-cli-'));
const f = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
};
const inv = f('inventory.yml', 'all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n    web2:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n  children:\n    web:\n      hosts:\n        web1:\n');
const okBook = f('ok.yml', '- name: ok\n  hosts: all\n  tasks:\n    - name: say\n      copy: { dest: /tmp/x, content: "{{ greeting }}" }\n');

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('CLI: bad input is refused before any host is touched', function () {
  this.timeout(30_000);
  const cases: [string, string[], RegExp][] = [
    ['a bad flag', [okBook, '-i', inv, '--frobnicate'], /Unknown option '--frobnicate'/],
    ['a bad --forks', [okBook, '-i', inv, '-f', 'many'], /--forks must be a whole number/],
    ['a missing inventory', [okBook, '-i', path.join(dir, 'nope.yml')], /nope.yml: file not found/],
    ['malformed inventory YAML', [okBook, '-i', f('bad-inv.yml', 'all:\n  hosts:\n    a: [\n')], /bad-inv.yml:\d+:\d+/],
    ['an unknown inventory key', [okBook, '-i', f('bad-key.yml', 'all:\n  hostz:\n    a:\n')], /bad-key.yml:2:3/],
    ['a wrong port type', [okBook, '-i', f('bad-port.yml', 'all:\n  hosts:\n    a:\n      ansible_port: lots\n')], /bad-port.yml:4:7.*ansible_port/],
    ['a pattern matching nothing', [okBook, '-i', inv, '-l', 'db*'], /could not match supplied host pattern 'db\*'/],
    ['a bad pattern', [okBook, '-i', inv, '-l', 'web[0:'], /web\[0:/],
    ['an unknown task module', [f('bad-mod.yml', '- hosts: all\n  tasks:\n    - name: a\n      copyy: { dest: /x, content: y }\n'), '-i', inv], /bad-mod.yml:4:7: unknown task module 'copyy'[\s\S]*did you mean 'copy'/],
    ['a missing param', [f('bad-param.yml', '- hosts: all\n  tasks:\n    - copy: { dest: /x }\n'), '-i', inv], /bad-param.yml:3:\d+: missing required parameter 'content'/],
    ['an undefined variable', [okBook, '-i', inv], /ok.yml:5:\d+: task 'say' on web1: undefined variable 'greeting'/],
    ['bad -e JSON', [okBook, '-i', inv, '-e', '{"greeting": '], /-e/],
    ['a missing -e file', [okBook, '-i', inv, '-e', '@' + path.join(dir, 'none.yml')], /none.yml/],
    ['an unknown playbook', ['nosuchplay', '-i', inv], /no playbook named 'nosuchplay'/],
  ];
  for (const [what, args, msg] of cases) {
    it(`refuses ${what} (exit 5)`, async () => {
      const r = await play(args);
      assert.equal(r.code, 5, r.all);
      assert.match(r.stderr, msg);
      assert.match(r.stderr, /nothing was changed on any host/);
      assert.doesNotMatch(r.all, /UNREACHABLE|PLAY RECAP/);
    });
  }

  it('lists hosts with --limit patterns and exits 0 without connecting', async () => {
    const r = await play([okBook, '-i', inv, '--list-hosts', '-l', 'all:!web']);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /hosts \(1\):\n\s+web2/);
  });

  it('prints one host\'s merged vars as JSON (like ansible-inventory --host)', async () => {
    const r = await play(['inventory', '--host', 'web1', '-i', inv, '-e', 'extra=1']);
    assert.equal(r.code, 0, r.all);
    assert.deepEqual(JSON.parse(r.stdout), { ansible_host: '127.0.0.1', ansible_port: 1, extra: '1' });
  });

  it('reports an unreachable host with exit 4 and a recap line', async () => {
    const r = await play([okBook, '-i', inv, '-e', 'greeting=hi', '-l', 'web1']);
    assert.equal(r.code, 4, r.all);
    assert.match(r.stdout, /web1\s+: ok=0\s+changed=0\s+unreachable=1\s+failed=0/);
  });

  it('prints --version and --help', async () => {
    assert.match((await play(['--version'])).stdout, /^mskplay \d+\.\d+\.\d+/);
    assert.match((await play(['--help'])).stdout, /exit codes: 0 ok \| 2 a task failed \| 3 check mode found drift \| 4 a host was unreachable/);
  });
});
