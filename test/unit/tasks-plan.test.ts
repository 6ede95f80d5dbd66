// Fixture tests in pyinfra's style: facts + params + probe results -> the plan, per OS. No host.
import assert from 'node:assert/strict';
import { checkParams } from '../../src/playbook/params.js';
import type { CmdState, FileState, HostState, Plan, PlannedWrite, ProbeResult, TaskDef } from '../../src/task.js';
import { TASKS } from '../../tasks/index.js';
import { certificatePaths, sandboxScript } from '../../tasks/lib/nginx-check.js';
import { ALL, DEBIAN11, FEDORA36, UBUNTU2204 } from '../fixtures/facts.js';
import type { Facts } from '../../src/facts/types.js';

const state = (): HostState => ({ rollback: new Map(), changedGroups: new Set(), planned: new Map() });
function plan(module: string, params: Record<string, unknown>, results: ProbeResult[], facts: Facts = DEBIAN11, st = state()): Plan<any> {
  const def = TASKS[module] as TaskDef;
  const p = structuredClone(params);
  assert.deepEqual(checkParams(def, p), [], 'params are valid');
  return def.plan({ host: 'h', facts, check: true, state: st, renderTemplate: () => '', willWrite: (path: string) => st.planned.has(path) }, p, results);
}
const file = (content?: string, extra: Partial<FileState> = {}): FileState =>
  content === undefined ? { kind: 'file', exists: false } : { kind: 'file', exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', content, size: content.length, ...extra };
const cmd = (code: number, stdout = '', stderr = ''): CmdState => ({ kind: 'cmd', code, stdout, stderr });

describe('task plans (fixtures)', () => {
  describe('package', () => {
    it('asks dpkg on Debian/Ubuntu and rpm on Fedora, and installs with the right tool', async () => {
      const { installedQuery, installCommand } = await import('../../tasks/package.js');
      assert.match(installedQuery(DEBIAN11, ['s3cmd']), /^dpkg-query -W/);
      assert.match(installedQuery(UBUNTU2204, ['s3cmd']), /^dpkg-query -W/);
      assert.match(installedQuery(FEDORA36, ['s3cmd']), /^rpm -q/);
      assert.match(installCommand(DEBIAN11, ['s3cmd'], false), /apt-get install -y .* -- s3cmd/);
      assert.match(installCommand(FEDORA36, ['s3cmd'], false), /^dnf install -y -q -- s3cmd$/);
    });
    it('plans only the missing packages', () => {
      const p = plan('package', { name: ['nginx', 's3cmd'] }, [cmd(0, 'nginx\n')]);
      assert.equal(p.action, 'change');
      assert.deepEqual(p.action === 'change' && p.data, ['s3cmd']);
      assert.equal(plan('package', { name: 'nginx' }, [cmd(0, 'nginx\n')]).action, 'ok');
    });
  });

  describe('copy / template', () => {
    it('is ok when content, owner and mode match; shows a diff when content differs', () => {
      assert.equal(plan('copy', { dest: '/etc/x', content: 'a\n', mode: '0644' }, [file('a\n')]).action, 'ok');
      const p = plan('copy', { dest: '/etc/x', content: 'b\n' }, [file('a\n')]);
      assert.equal(p.action, 'change');
      assert.deepEqual(p.action === 'change' && p.diffs, [{ path: '/etc/x', before: 'a\n', after: 'b\n' }]);
    });
    it('notices owner and mode drift without a content diff', () => {
      const p = plan('copy', { dest: '/etc/x', content: 'a\n', owner: 'www-data', mode: '0600' }, [file('a\n')]);
      assert.equal(p.action === 'change' && p.summary, 'update /etc/x (owner root -> www-data, mode 0644 -> 0600)');
    });
  });

  describe('file', () => {
    it('creates a missing directory and fixes a wrong owner', () => {
      assert.equal(plan('file', { path: '/var/cache/x', state: 'directory' }, [file()]).action, 'change');
      const dir = { kind: 'file', exists: true, type: 'dir', owner: 'root', group: 'root', mode: '0755' } as FileState;
      assert.equal(plan('file', { path: '/var/cache/x', state: 'directory', owner: 'root', mode: '755' }, [dir]).action, 'ok');
      const p = plan('file', { path: '/var/cache/x', state: 'directory', owner: 'nginx', group: 'nginx' }, [dir], FEDORA36);
      assert.match(p.action === 'change' ? p.summary : '', /owner root -> nginx, group root -> nginx/);
    });
    it('relinks a symlink pointing elsewhere, refuses to replace a regular file', () => {
      const link = { kind: 'file', exists: true, type: 'link', linkTarget: '/a' } as FileState;
      assert.equal(plan('file', { path: '/l', state: 'link', src: '/a' }, [link]).action, 'ok');
      assert.equal(plan('file', { path: '/l', state: 'link', src: '/b' }, [link]).action, 'change');
      assert.throws(() => plan('file', { path: '/l', state: 'link', src: '/b' }, [file('x')]), /not a symlink/);
    });
  });

  describe('service', () => {
    it('fails clearly on a host without systemd', () => {
      assert.throws(() => plan('service', { name: 'nginx', state: 'reloaded' }, [cmd(0, 'active\nenabled\n')], { ...DEBIAN11, systemd: false }), /does not run systemd as PID 1/);
    });
    it('starts only what is not running; reload is an action', () => {
      assert.equal(plan('service', { name: 'nginx', state: 'started', enabled: true }, [cmd(0, 'active\nenabled\n')]).action, 'ok');
      assert.match((plan('service', { name: 'nginx', state: 'started', enabled: true }, [cmd(3, 'inactive\ndisabled\n')]) as { summary: string }).summary, /enable nginx, start nginx/);
      assert.equal(plan('service', { name: 'nginx', state: 'reloaded' }, [cmd(0, 'active\nenabled\n')]).action, 'change');
    });
  });

  describe('systemd_dropin', () => {
    it('renders sections in order and is ok when the file matches', async () => {
      const { renderDropin } = await import('../../tasks/systemd_dropin.js');
      const settings = { Unit: { After: 'network-online.target' }, Service: { Restart: 'always', RestartSec: 5 } };
      const text = renderDropin(settings);
      assert.match(text, /\[Unit\]\nAfter=network-online.target\n\n\[Service\]\nRestart=always\nRestartSec=5\n$/);
      assert.equal(plan('systemd_dropin', { unit: 'nginx.service', name: 'x', settings }, [file(text)]).action, 'ok');
      assert.equal(plan('systemd_dropin', { unit: 'nginx.service', name: 'x', settings }, [file(text.replace('always', 'no'))]).action, 'change');
    });
  });

  describe('nginx_validate', () => {
    const BROKEN = 'nginx: [emerg] unknown directive "servr_name" in /etc/nginx/conf.d/admin.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n';
    const runPlan = (st: HostState, r: ProbeResult) => (TASKS.nginx_validate as TaskDef).plan({ host: 'h', facts: DEBIAN11, check: false, state: st, renderTemplate: () => '', willWrite: () => false }, { group: 'nginx' }, [r]);
    it('in a run: nginx -t when a file of its group changed, else the current config is judged by the probe', () => {
      const st = state();
      assert.equal(runPlan(st, cmd(0, '', 'nginx: configuration file /etc/nginx/nginx.conf test is successful')).action, 'ok');
      st.changedGroups.add('nginx');
      assert.equal(runPlan(st, cmd(0)).action, 'run');
    });
    it("fails on a host whose current config already fails, naming nginx's file and line (run and check alike)", () => {
      assert.throws(() => runPlan(state(), cmd(1, '', BROKEN)), /current configuration fails nginx -t .* at \/etc\/nginx\/conf.d\/admin.conf:3/);
      assert.throws(() => plan('nginx_validate', { group: 'nginx' }, [cmd(1, '', BROKEN)]), /at \/etc\/nginx\/conf.d\/admin.conf:3/);
      assert.equal(runPlan(state(), cmd(127)).action, 'ok', 'nginx not installed: nothing to test');
    });
    it("the sandbox script: overlays over /etc, /var and the candidates' top dirs, contents in base64, a stand-in for a missing certificate", () => {
      const files: [string, PlannedWrite][] = [
        ['/etc/nginx/sites-available/s3.conf', { content: 'server {\n    ssl_certificate /etc/letsencrypt/live/s3/fullchain.pem;\n    ssl_certificate_key /etc/letsencrypt/live/s3/privkey.pem;\n}\n', group: 'nginx' }],
        ['/srv/nginx/extra.conf', { content: "add_header X 'y';\n", group: 'nginx' }],
        ['/var/cache/nginx/p', { dir: true }],
        ['/etc/nginx/sites-enabled/s3.conf', { link: '/etc/nginx/sites-available/s3.conf', group: 'nginx' }],
      ];
      const script = sandboxScript(files);
      assert.deepEqual([...script.matchAll(/-o lowerdir=([^,\s]+),/g)].map((m) => m[1]), ['/etc', '/srv', '/var']);
      assert.ok(script.indexOf('mount -t tmpfs') < script.indexOf('mount -t overlay'), 'the tmpfs first: every upper dir lives in it');
      assert.ok(!script.includes("add_header X 'y'"), 'file contents only as base64 in heredocs');
      assert.match(script, /mkdir -p \/var\/cache\/nginx\/p\n/);
      assert.match(script, /ln -s \/etc\/nginx\/sites-available\/s3.conf \/etc\/nginx\/sites-enabled\/s3.conf/);
      assert.deepEqual(certificatePaths(files), ['/etc/letsencrypt/live/s3/fullchain.pem', '/etc/letsencrypt/live/s3/privkey.pem']);
      assert.match(script, /nginx -t <\/dev\/null\n$/);
    });

    it('in check mode: the candidate files of its group (not other groups) go to the sandboxed nginx -t', () => {
      const st = state();
      st.planned.set('/etc/nginx/sites-available/s3.conf', { content: 'server {}\n', group: 'nginx' });
      st.planned.set('/etc/nginx/sites-enabled/s3.conf', { link: '/etc/nginx/sites-available/s3.conf', group: 'nginx' });
      st.planned.set('/root/.s3cfg', { content: 'x', group: undefined });
      const p = plan('nginx_validate', { group: 'nginx' }, [cmd(0)], DEBIAN11, st);
      assert.equal(p.action, 'run');
      assert.deepEqual((p as { data: [string, unknown][] }).data.map(([path]) => path), ['/etc/nginx/sites-available/s3.conf', '/etc/nginx/sites-enabled/s3.conf']);
    });
  });

  describe('s3_policy', () => {
    const info = (policy: string) => cmd(0, `s3://b/ (bucket):\n   Location:  us-east-1\n   Payer:     BucketOwner\n   Expiration Rule: none\n   Policy:    ${policy}\n   CORS:      none\n   ACL:       test: FULL_CONTROL\n`);
    it('treats an equivalent policy (other spelling) as equal', () => {
      const same = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::b/*' }] });
      assert.equal(plan('s3_policy', { bucket: 'bkt', config: '/root/.s3cfg' }, [info(same.replace(/:::b\//, ':::bkt/'))]).action, 'ok');
    });
    it('reports a missing or different policy with a JSON diff', () => {
      const p = plan('s3_policy', { bucket: 'bkt', config: '/root/.s3cfg' }, [info('none')]);
      assert.equal(p.action, 'change');
      assert.match(p.action === 'change' ? p.diffs![0].after : '', /arn:aws:s3:::bkt\/\*/);
      const other = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::bkt/*' }] });
      assert.equal(plan('s3_policy', { bucket: 'bkt', config: '/root/.s3cfg' }, [info(other)]).action, 'change');
    });
    it('plans a change, not a failure, before s3cmd is set up', () => {
      assert.equal(plan('s3_policy', { bucket: 'bkt', config: '/root/.s3cfg' }, [cmd(127)]).action, 'change');
      assert.equal(plan('s3_bucket', { bucket: 'bkt', config: '/root/.s3cfg' }, [cmd(12)]).action, 'change');
      assert.equal(plan('s3_bucket', { bucket: 'bkt', config: '/root/.s3cfg' }, [cmd(0)]).action, 'ok');
      assert.throws(() => plan('s3_bucket', { bucket: 'bkt', config: '/root/.s3cfg' }, [cmd(77, '', 'ERROR: Access Denied')]), /cannot read bucket/);
    });
  });

  describe('s3cmd_config', () => {
    it('writes host_bucket in virtual-host style, HTTPS, mode 0600', async () => {
      const { renderS3cfg } = await import('../../tasks/s3cmd_config.js');
      const text = renderS3cfg({ path: '/root/.s3cfg', owner: 'root', access_key: 'AK', secret_key: 'SK', endpoint: 'ewr1.vultrobjects.com' });
      assert.match(text, /host_base = ewr1.vultrobjects.com\nhost_bucket = %\(bucket\)s.ewr1.vultrobjects.com/);
      assert.match(text, /use_https = True/);
      const p = plan('s3cmd_config', { path: '/root/.s3cfg', owner: 'root', access_key: 'AK', secret_key: 'SK', endpoint: 'ewr1.vultrobjects.com' }, [file(text, { mode: '0644' })]);
      assert.equal(p.action === 'change' && p.summary, 'update /root/.s3cfg (mode 0644 -> 0600)');
    });
  });

  describe('certbot', () => {
    const params = { domain: 's3.example.social', email: 'a@example.social' };
    it('skips when a valid certificate is there', () => {
      assert.equal(plan('certbot', params, [cmd(0), cmd(0, '203.0.113.9\n')]).action, 'ok');
    });
    it('refuses before certbot when the name does not resolve to this host', () => {
      assert.throws(() => plan('certbot', params, [cmd(1), cmd(0, '203.0.113.9\n')]), /resolves to 203.0.113.9, not to this host/);
      assert.throws(() => plan('certbot', params, [cmd(1), cmd(2, '')]), /does not resolve/);
      assert.equal(plan('certbot', params, [cmd(1), cmd(0, '192.0.2.10\n')]).action, 'change');
    });
    it("uses the nginx plugin without touching the managed vhost, and certbot's default CA unless told", async () => {
      const { certbotCommand } = await import('../../tasks/certbot.js');
      const c = certbotCommand({ domain: 's3.ex.social', email: '', server: '' });
      assert.match(c, /^certbot certonly --nginx -d s3.ex.social --non-interactive --agree-tos/);
      assert.match(c, /--register-unsafely-without-email/);
      assert.doesNotMatch(c, /--server/);
      assert.match(certbotCommand({ domain: 's3.ex.social', server: 'https://acme.test/dir' }), /--server https:\/\/acme.test\/dir/);
    });
  });

  describe('nginx_block (layout B)', () => {
    const vhost = [
      'server {',
      '    listen 80;',
      '    server_name ex.social;',
      '    return 301 https://$server_name$request_uri;',
      '}',
      '',
      'server {',
      '    listen 443 ssl http2;',
      '    server_name ex.social; # the instance',
      '    location / {',
      '        proxy_pass http://127.0.0.1:3000; # "{" in a comment',
      '    }',
      '}',
      '',
    ].join('\n');
    const params = { path: '/etc/nginx/sites-available/misskey.conf', id: 's3-proxy', server_name: 'ex.social', block: 'location /storage/ {\n    proxy_pass https://b.s3;\n}\n' };
    it('inserts the block into the TLS server block only, keeping every other line', () => {
      const p = plan('nginx_block', params, [file(vhost)]);
      assert.equal(p.action, 'change');
      const after = p.action === 'change' ? p.diffs![0].after : '';
      const added = after.split('\n').filter((l) => !vhost.split('\n').includes(l));
      assert.deepEqual(added, ['    # BEGIN mskplay s3-proxy (managed block: edits inside are replaced)', '    location /storage/ {', '        proxy_pass https://b.s3;', '    # END mskplay s3-proxy']);
      assert.ok(after.indexOf('# BEGIN') > after.indexOf('listen 443'), 'inside the 443 server');
      assert.equal(plan('nginx_block', params, [file(after)]).action, 'ok', 'second run: no change');
      const edited = after.replace('https://b.s3;', 'https://evil;');
      assert.equal(plan('nginx_block', params, [file(edited)]).action, 'change', 'a hand edit inside the block is drift');
    });
    it('refuses a vhost without that server_name', () => {
      assert.throws(() => plan('nginx_block', { ...params, server_name: 'other.social' }, [file(vhost)]), /no server block with server_name other.social \(found: ex.social, ex.social\)/);
    });
  });

  describe('proxy_layout guard', () => {
    const base = { subdomain_vhost: '/etc/nginx/conf.d/s3.x.conf', misskey_vhost: '/etc/nginx/conf.d/misskey.conf', block_id: 's3-proxy' };
    it('refuses to switch a host that has the other layout, unless forced', () => {
      const a = file('# Managed by mskplay: caching proxy ...');
      assert.throws(() => plan('proxy_layout', { ...base, layout: 'directory' }, [a, file('server {}')]), /already serves drive files through the 'subdomain' layout/);
      assert.equal(plan('proxy_layout', { ...base, layout: 'directory', force: true }, [a, file('server {}')]).action, 'ok');
      assert.equal(plan('proxy_layout', { ...base, layout: 'subdomain' }, [a, file('server {}')]).action, 'ok');
      assert.equal(plan('proxy_layout', { ...base, layout: 'directory' }, [file(), file('server {}')]).action, 'ok');
    });
  });

  describe('misskey_meta (v11/v12 admin API)', () => {
    const params = (line: string) => ({
      line, path: '/home/misskey/misskey', api_url: 'http://127.0.0.1:3000', token: 'tok-123456',
      base_url: 'https://s3.example.com', bucket: 'mk-files', prefix: 'misskey', endpoint: 'ewr1.vultrobjects.com',
      access_key: 'AK-123456', secret_key: 'SK-123456',
    });
    const probesOf = (line: string) => TASKS.misskey_meta!.probes(params(line) as never, DEBIAN11);
    const pkg = (version: string, name = 'misskey') => file(JSON.stringify({ name, version }));
    const api = (body: unknown, status = 200) => cmd(0, `${JSON.stringify(body)}\n${status}`);
    const settled = { useObjectStorage: true, objectStorageBaseUrl: 'https://s3.example.com', objectStorageBucket: 'mk-files',
      objectStoragePrefix: 'misskey', objectStorageEndpoint: 'ewr1.vultrobjects.com', objectStorageRegion: null, objectStoragePort: null,
      objectStorageAccessKey: 'AK-123456', objectStorageSecretKey: 'SK-123456', objectStorageUseSSL: true, objectStorageUseProxy: true,
      objectStorageSetPublicRead: false, objectStorageS3ForcePathStyle: true };

    it('asks the one endpoint of a known line, both only for auto', () => {
      const endpoints = (line: string) => probesOf(line).flatMap((p) => (p.kind === 'cmd' ? [/\/api\/(\S+?)'?$/.exec(p.cmd)![1]] : []));
      assert.deepEqual(endpoints('v12'), ['admin/meta']);
      assert.deepEqual(endpoints('v11'), ['meta']);
      assert.deepEqual(endpoints('auto'), ['admin/meta', 'meta']);
      assert.deepEqual(endpoints('v10'), []);
    });
    it('plans from the read of the line it was given or detected', () => {
      const stale = { ...settled, objectStorageBucket: 'old' };
      // v12 given: the only read is admin/meta.
      assert.equal(plan('misskey_meta', params('v12'), [pkg('12.117.1'), api(settled)]).action, 'ok');
      // auto on a v11 checkout: the second read (meta with detail) counts, not the first.
      const p = plan('misskey_meta', { ...params('auto'), force_base_url: true }, [pkg('1.4.0-atsuchan-b2', 'areionskey'), api(settled), api(stale)]);
      assert.equal(p.action, 'change');
      assert.deepEqual(p.action === 'change' && p.data, { objectStorageBucket: 'mk-files' });
      assert.equal(plan('misskey_meta', params('auto'), [pkg('12.117.1'), api(settled), api(stale)]).action, 'ok');
    });
  });

  describe('s3_smoke', () => {
    it('wants 200 MISS then 200 HIT with the same bytes', async () => {
      const { judgeSmoke } = await import('../../tasks/s3_smoke.js');
      assert.equal(judgeSmoke('GET1 200 MISS\nBODY1 same\nGET2 200 HIT\nBODY2 same\nURL u\nDEL ok\n').ok, true);
      assert.match(judgeSmoke('GET1 200 MISS\nBODY1 same\nGET2 200 MISS\nBODY2 same\nURL u\n').message, /X-Cache MISS, MISS/);
      assert.match(judgeSmoke('GET1 403 MISS\nBODY1 differs\nGET2 403 HIT\nBODY2 differs\nURL u\n').message, /HTTP 403, 403/);
      assert.equal(plan('s3_smoke', { config: '/root/.s3cfg', bucket: 'bkt', prefix: 'misskey', base_url: 'https://s3.x' }, []).action, 'run');
    });
  });

  for (const [os, facts] of Object.entries(ALL)) {
    it(`${os}: service and restart tasks need systemd only`, () => {
      assert.equal(plan('misskey_restart', { service: 'misskey', url: 'http://127.0.0.1:3000' }, [], facts).action, 'change');
    });
  }
});
