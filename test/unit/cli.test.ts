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
const inv = f(
  'inventory.yml',
  'all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n    web2:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n  children:\n    web:\n      hosts:\n        web1:\n',
);
const tagged = f('tagged.yml', '- name: t\n  hosts: all\n  tasks:\n    - name: a\n      copy: { dest: /tmp/x, content: "x" }\n      tags: [proxy, storage]\n');
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
    [
      'an unknown task module',
      [f('bad-mod.yml', '- hosts: all\n  tasks:\n    - name: a\n      copyy: { dest: /x, content: y }\n'), '-i', inv],
      /bad-mod.yml:4:7: unknown task module 'copyy'[\s\S]*did you mean 'copy'/,
    ],
    [
      'a missing param',
      [f('bad-param.yml', '- hosts: all\n  tasks:\n    - copy: { dest: /x }\n'), '-i', inv],
      /bad-param.yml:3:\d+: missing required parameter 'content'/,
    ],
    ['an undefined variable', [okBook, '-i', inv], /ok.yml:5:\d+: task 'say' on web1: undefined variable 'greeting'/],
    ['bad -e JSON', [okBook, '-i', inv, '-e', '{"greeting": '], /-e/],
    ['a missing -e file', [okBook, '-i', inv, '-e', '@' + path.join(dir, 'none.yml')], /none.yml/],
    ['an unknown playbook', ['nosuchplay', '-i', inv], /no playbook named 'nosuchplay'/],
    [
      'an nginx time nginx would refuse, in --check',
      [
        'site',
        '-i',
        f('site-inv.yml', 'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive }\n'),
        '--check',
        '-e',
        'proxy_cache_valid=notatime',
      ],
      /-e #1:1:1: play .* on web1: proxy_cache_valid is not an nginx time: "notatime"/,
    ],
    [
      'an nginx size nginx would refuse, from the inventory',
      [
        'site',
        '-i',
        f(
          'site-inv2.yml',
          'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive, proxy_cache_max_size: 20x }\n',
        ),
      ],
      /site-inv2.yml:3:\d+: play .* proxy_cache_max_size is not an nginx size: "20x"/,
    ],
    [
      'a host in two instances (two groups give it different misskey_instance values)',
      [
        'site',
        '-i',
        f(
          'two-inst.yml',
          'all:\n  hosts:\n    app1: { ansible_host: 127.0.0.1, ansible_port: 1 }\n  children:\n    ex:\n      hosts: { app1: {} }\n      vars: { misskey_instance: ex, misskey_domain: ex.social, s3_bucket: ex-drive }\n    other:\n      hosts: { app1: {} }\n      vars: { misskey_instance: other }\n',
        ),
        '--check',
      ],
      /two-inst.yml:10:\d+: app1 gets misskey_instance "ex" from inventory vars of group 'ex' \(.*two-inst.yml:7:\d+\) and "other" from inventory vars of group 'other': a host belongs to one instance/,
    ],
    [
      'an instance with no proxy host',
      [
        'site',
        '-i',
        f(
          'no-proxy.yml',
          'all:\n  hosts:\n    app1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n    app2: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n  vars: { misskey_instance: ex, misskey_domain: ex.social, s3_bucket: ex-drive }\n',
        ),
        '--check',
      ],
      /no-proxy.yml:3:\d+: misskey_instance "ex" has no host with misskey_role "proxy" or "both" \(its hosts: app1 "app", app2 "app"\)/,
    ],
    [
      'two instances sharing one bucket and prefix',
      [
        'site',
        '-i',
        f(
          'shared-bucket.yml',
          'all:\n  hosts:\n    a: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: a.social, s3_bucket: one-drive }\n    b: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: b.social, s3_bucket: one-drive }\n',
        ),
        '--check',
      ],
      /shared-bucket.yml:4:\d+: misskey_instance "a" and "b" both use s3_bucket "one-drive", s3_endpoint "ewr1.vultrobjects.com", s3_prefix "misskey": two instances would write over each other's files/,
    ],
    [
      'two proxy hosts for one name without acme_issuer',
      [
        'site',
        '-i',
        f(
          'two-proxies.yml',
          'all:\n  hosts:\n    app1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n    media1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: proxy }\n    media2: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: proxy }\n  vars: { misskey_instance: ex, misskey_domain: ex.social, s3_bucket: ex-drive }\n',
        ),
        '--check',
      ],
      /two-proxies.yml:\d+:\d+: misskey_instance "ex" has 2 hosts with misskey_role "proxy"\/"both", proxy_layout "subdomain" \(media1, media2\) but acme_issuer is not set on media1[\s\S]*hint: set acme_issuer: media1/,
    ],
    [
      'an acme_issuer that is not one of the proxy hosts',
      [
        'site',
        '-i',
        f(
          'issuer-app.yml',
          'all:\n  hosts:\n    app1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n    media1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: proxy }\n    media2: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: proxy }\n  vars: { misskey_instance: ex, misskey_domain: ex.social, s3_bucket: ex-drive, acme_issuer: app1 }\n',
        ),
        '--check',
      ],
      /issuer-app.yml:6:\d+: misskey_instance "ex": acme_issuer "app1" is not one of its hosts with misskey_role "proxy"\/"both", proxy_layout "subdomain" \(media1, media2\)/,
    ],
    [
      'a retire of an instance with two app servers whose files are not shared',
      [
        'retire',
        '-i',
        f(
          'retire-two-apps.yml',
          'all:\n  hosts:\n    app1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n    app2: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n    media1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: proxy }\n  vars: { misskey_instance: ex, misskey_domain: ex.social, s3_bucket: ex-drive, retire: true }\n',
        ),
        '--check',
      ],
      /retire-two-apps.yml:6:\d+: misskey_instance "ex" has 2 hosts with misskey_role "app"\/"both" and retire \(app1, app2\): after a retire Misskey keeps new uploads on its own disk[\s\S]*hint: set retire_files_shared: true/,
    ],
    [
      'layout C on a proxy host without Misskey, its fallback still on loopback',
      [
        'site',
        '-i',
        f(
          'c-proxy.yml',
          'all:\n  hosts:\n    app1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n    front: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: proxy }\n  vars: { misskey_instance: ex, misskey_domain: ex.social, s3_bucket: ex-drive, proxy_layout: files, s3_prefix: files }\n',
        ),
        '--check',
      ],
      /misskey_upstream "http:\/\/127\.0\.0\.1:3000" cannot be right here \(misskey_role "proxy", proxy_layout "files"\)[\s\S]*hint: misskey_upstream: where nginx reaches Misskey/,
    ],
    [
      'a misspelled --tags',
      [tagged, '-i', inv, '--tags', 'prxy'],
      /--tags prxy: no task of .*tagged.yml has the tag 'prxy'; did you mean 'proxy'\?[\s\S]*hint: the tags of this playbook: proxy, storage/,
    ],
    ['a --skip-tags no task has', [tagged, '-i', inv, '--check', '--skip-tags', 'nosuchtag'], /--skip-tags nosuchtag: no task of .* has the tag 'nosuchtag'/],
    ['a tag among good ones', [tagged, '-i', inv, '-t', 'proxy,strage'], /has the tag 'strage'; did you mean 'storage'\?/],
    [
      'a misspelled param, as unknown with the right name',
      [f('typo-param.yml', '- hosts: all\n  tasks:\n    - s3_bucket: { bucket: b-1, confg: /root/.s3cfg }\n'), '-i', inv],
      /typo-param.yml:3:\d+: unknown parameter 'confg' for task 's3_bucket'; did you mean 'config'\?[\s\S]*hint: its parameters: npm run play -- doc s3_bucket/,
    ],
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

  it("the README's -e k=v force switches work as written: 'true' is a boolean, as in Ansible", async () => {
    const siteInv = f(
      'site-inv3.yml',
      'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive }\n',
    );
    const env = { MSK_S3_ACCESS_KEY: 'AKIDEXAMPLE1', MSK_S3_SECRET_KEY: 'secret-example-1', MSK_MISSKEY_TOKEN: 'token-example-1' };
    for (const v of ['proxy_layout_force=true', 'misskey_base_url_force=true', 'proxy_layout_force=yes', 'misskey_base_url_force=0']) {
      const r = await play(['site', '-i', siteInv, '--check', '-e', v], { env });
      assert.equal(r.code, 4, `${v}: got past preflight to the (unreachable) host\n${r.all}`);
    }
    const bad = await play(['site', '-i', siteInv, '--check', '-e', 'proxy_layout_force=maybe'], { env });
    assert.equal(bad.code, 5, bad.all);
    assert.match(bad.stderr, /force must be a boolean \(true\/false, yes\/no, on\/off, 1\/0\) \(value from proxy_layout_force from -e #1/);
  });

  it('misskey_version auto needs no MSK_MISSKEY_TOKEN before connecting (a v10 host needs none); v12 does', async () => {
    const env = { MSK_S3_ACCESS_KEY: 'AKIDEXAMPLE1', MSK_S3_SECRET_KEY: 'secret-example-1', MSK_MISSKEY_TOKEN: '' };
    const auto = f('site-auto.yml', 'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive }\n');
    const r = await play(['site', '-i', auto, '--check'], { env });
    assert.equal(r.code, 4, r.all);
    const v12 = await play(['site', '-i', auto, '--check', '-e', 'misskey_version=v12'], { env });
    assert.equal(v12.code, 5, v12.all);
    assert.match(v12.stderr, /undefined variable 'env MSK_MISSKEY_TOKEN'/);
  });

  it("refuses a prefix the proxy cannot serve: a slash, empty, or (layout B) one of Misskey's routes", async () => {
    const env = { MSK_S3_ACCESS_KEY: 'AKIDEXAMPLE1', MSK_S3_SECRET_KEY: 'secret-example-1', MSK_MISSKEY_TOKEN: 'token-example-1' };
    const cases: [string[], RegExp][] = [
      [
        [
          'site',
          '-i',
          f(
            'site-inv4.yml',
            'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive, proxy_layout: directory, s3_prefix: files }\n',
          ),
        ],
        /(storage|proxy|proxy-layout-guard).yml:\d+:\d+: .*s3_prefix 'files' is one of Misskey's own routes/,
      ],
      [
        [
          'site',
          '-i',
          f(
            'site-inv5.yml',
            'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive, s3_prefix: a/b }\n',
          ),
        ],
        /s3_prefix must be one path segment .* got "a\/b"/,
      ],
      [
        [
          'site',
          '-i',
          f(
            'site-inv6.yml',
            "all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive, s3_prefix: '' }\n",
          ),
        ],
        /s3_prefix must be one path segment .* got ""/,
      ],
      [
        [
          'site',
          '-i',
          f(
            'site-inv7.yml',
            'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive, proxy_layout: files, s3_prefix: storage }\n',
          ),
        ],
        /s3_prefix must be 'files' in layout C \(proxy_layout: files\).* got "storage"/,
      ],
      [
        [
          'site',
          '-i',
          f(
            'site-inv8.yml',
            'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive, proxy_layout: files, drive_base_url: "https://cdn.ex.social" }\n',
          ),
        ],
        /the drive baseUrl must be the instance URL https:\/\/ex\.social: got https:\/\/cdn\.ex\.social/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = await play(args, { env });
      assert.equal(r.code, 5, r.all);
      assert.match(r.stderr, msg);
    }
  });

  it("refuses a keys zone far too small for the cache's max_size, with the arithmetic (the guide's 2m for 20g)", async () => {
    const env = { MSK_S3_ACCESS_KEY: 'AKIDEXAMPLE1', MSK_S3_SECRET_KEY: 'secret-example-1', MSK_MISSKEY_TOKEN: 'token-example-1' };
    const small = f(
      'site-keys.yml',
      'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_domain: ex.social, s3_bucket: ex-drive, proxy_cache_keys_size: 2m }\n',
    );
    const r = await play(['site', '-i', small, '--check'], { env });
    assert.equal(r.code, 5, r.all);
    assert.match(
      r.stderr,
      /site-keys.yml:3:\d+: .*proxy_cache_keys_size 2m holds about 16000 keys \(8000 per MB\), but proxy_cache_max_size 20g fits about 163840 files of 128 KiB.*use proxy_cache_keys_size: 21m/,
    );
    const ok = await play(['site', '-i', small, '--check', '-e', 'proxy_cache_max_size=1g'], { env });
    assert.equal(ok.code, 4, `2m is enough for 1g: ${ok.all}`);
  });

  it('judges an instance as a whole with --limit to one of its hosts: not refused for the hosts left out', async () => {
    const i = f(
      'inst-limit.yml',
      'all:\n  hosts:\n    app1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: app }\n    media1: { ansible_host: 127.0.0.1, ansible_port: 1, misskey_role: proxy }\n  vars: { misskey_instance: ex, misskey_domain: ex.social, s3_bucket: ex-drive, misskey_version: v10 }\n',
    );
    const r = await play(['site', '-i', i, '--check', '--limit', 'app1'], { env: { MSK_S3_ACCESS_KEY: 'AKEXAMPLE', MSK_S3_SECRET_KEY: 'secret-example' } });
    assert.equal(r.code, 4, r.all);
    assert.match(r.all, /app1[^\n]*UNREACHABLE/);
  });

  it('special tags (always, never, tagged, untagged, all) need no task to carry them', async () => {
    // They pass the tag check, so the run goes on to connect: unreachable (4), not bad input (5).
    const r = await play([tagged, '-i', inv, '-l', 'web1', '--tags', 'always,tagged', '--skip-tags', 'never']);
    assert.equal(r.code, 4, r.all);
  });

  it('warns once, by the recap and in --json, about host_vars/group_vars files that match no host or group', async () => {
    const wi = f(
      'warn/inventory.yml',
      'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1, ansible_port: 1 }\n  children:\n    web: { hosts: { web1: {} } }\n',
    );
    f('warn/host_vars/webl.yml', 'x: 1\n');
    f('warn/group_vars/wbe.yml', 'y: 2\n');
    const json = path.join(dir, 'warn.json');
    const r = await play([tagged, '-i', wi, '--json', json]);
    assert.equal(r.code, 4, r.all);
    const lines = r.all.split('\n').filter((l) => l.includes('[WARNING]'));
    assert.equal(lines.length, 2, r.all);
    assert.match(r.stdout, /PLAY RECAP[\s\S]*\[WARNING\]: .*host_vars\/webl.yml: no host named 'webl' .* \(did you mean 'web1'\?\)/);
    assert.match(r.stdout, /\[WARNING\]: .*group_vars\/wbe.yml: no group named 'wbe'.*did you mean 'web'/);
    assert.equal(JSON.parse(fs.readFileSync(json, 'utf8')).warnings.length, 2);
  });

  it('docs/tasks.md is what `npm run docs` writes now (generated from the task definitions)', async () => {
    const { tasksMarkdown } = await import('../../src/ui/doc.js');
    const { TASKS } = await import('../../tasks/index.js');
    const { TASKS_DOC } = await import('../../src/docs-gen.js');
    assert.equal(fs.readFileSync(TASKS_DOC, 'utf8'), tasksMarkdown(TASKS), 'docs/tasks.md is stale: run npm run docs');
  });

  it('--list-tasks shows each task with its module and one-line doc', async () => {
    const r = await play([tagged, '-i', inv, '--list-tasks']);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /a\tcopy\tTAGS: \[proxy, storage\]\t# Write a file with the given content/);
  });

  it("doc lists the tasks and shows one task's params (type, required, secret, description)", async () => {
    const list = await play(['doc']);
    assert.equal(list.code, 0, list.all);
    assert.match(list.stdout, /^s3_bucket\s+Ensure the bucket exists/m);
    const one = await play(['doc', 's3cmd_config']);
    assert.equal(one.code, 0, one.all);
    assert.match(one.stdout, /secret_key  \(string; required; secret/);
    assert.match(one.stdout, /endpoint  \(string; required\)\n\s+host\[:port\], no scheme/);
    assert.match(one.stdout, /\nEXAMPLE\n  - s3cmd_config: \{ path: \/root\/.s3cfg/);
    const cert = await play(['doc', 'certbot']);
    assert.match(cert.stdout, /renew_before_days  \(integer; optional; default 30\)/);
    const bad = await play(['doc', 's3_buckt']);
    assert.equal(bad.code, 5, bad.all);
    assert.match(bad.stderr, /no task named 's3_buckt'[\s\S]*did you mean 's3_bucket'/);
  });

  it('lists hosts with --limit patterns and exits 0 without connecting', async () => {
    const r = await play([okBook, '-i', inv, '--list-hosts', '-l', 'all:!web']);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /hosts \(1\):\n\s+web2/);
  });

  it("prints one host's merged vars as JSON (like ansible-inventory --host)", async () => {
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
