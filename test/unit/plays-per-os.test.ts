// The real playbooks rendered with each OS's facts (no host): what differs between Fedora,
// Debian and Ubuntu (package tool, nginx user, vhost layout) comes out right.
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadPlaybook } from '../../src/playbook/load.js';
import { magicVars } from '../../src/runner/prepare.js';
import { LazyVars, Templates } from '../../src/template.js';
import { TASKS } from '../../tasks/index.js';
import { renderS3cfg } from '../../tasks/s3cmd_config.js';
import { LAYOUT_A_MARK } from '../../tasks/lib/nginx-conf.js';
import { ALL, DEBIAN11, FEDORA36 } from '../fixtures/facts.js';
import type { Facts } from '../../src/facts/types.js';
import { ROOT } from '../e2e/play.js';

const templates = new Templates({
  templateDir: path.join(ROOT, 'templates'),
  env: { MSK_S3_ACCESS_KEY: 'AKIDEXAMPLE', MSK_S3_SECRET_KEY: 'secret-example', MSK_MISSKEY_TOKEN: 'token-example' },
});
const site = loadPlaybook(path.join(ROOT, 'playbooks', 'site.yml'), TASKS);
const hostVars = { misskey_domain: 'ex.social', s3_bucket: 'ex-social-drive', acme_email: 'a@ex.social' };

/** name -> rendered params (or 'skipped') of every task of every play, as a host would see them. */
function render(facts: Facts, extra: Record<string, unknown> = {}): Record<string, any> {
  const out: Record<string, any> = {};
  for (const play of site.plays) {
    const lazy = new LazyVars(templates, { ...play.defaults, ...hostVars, ...extra }, magicVars('h', facts, false));
    for (const t of [...play.tasks, ...play.handlers]) {
      const skip = t.when.some((c) => !templates.evaluate(c, lazy.context()));
      out[t.name] = skip ? 'skipped' : templates.renderValue(t.params, lazy.context());
    }
  }
  return out;
}

describe('playbooks rendered per OS (fixtures)', () => {
  it('Fedora: cache dir owned by nginx, vhost in conf.d, no sites-enabled link; firewalld and SELinux tasks', () => {
    const r = render(FEDORA36);
    assert.deepEqual(r["http and https open in firewalld's active zones"], { services: ['http', 'https'] });
    assert.deepEqual(r['nginx may connect to the bucket (SELinux httpd_can_network_connect)'], { name: 'httpd_can_network_connect', value: true });
    assert.deepEqual(r['Local files readable by nginx (SELinux label of the local root, layouts A and B)'], {
      path: '/var/www/s3.ex.social',
      type: 'httpd_sys_content_t',
    });
    assert.equal(r['Cache directory owned by the nginx worker user'].owner, 'nginx');
    assert.equal(r['Proxy vhost (layout A)'].dest, '/etc/nginx/conf.d/s3.ex.social.conf');
    assert.equal(r['Enable the proxy vhost (layout A, sites-enabled)'], 'skipped');
  });

  for (const os of ['Debian 11', 'Ubuntu 22.04'] as const) {
    it(`${os}: cache dir owned by www-data, vhost in sites-available with a sites-enabled link`, () => {
      const r = render(ALL[os]);
      assert.equal(r['Cache directory owned by the nginx worker user'].owner, 'www-data');
      assert.equal(r['Proxy vhost (layout A)'].dest, '/etc/nginx/sites-available/s3.ex.social.conf');
      assert.deepEqual(r['Enable the proxy vhost (layout A, sites-enabled)'], {
        path: '/etc/nginx/sites-enabled/s3.ex.social.conf',
        state: 'link',
        src: '/etc/nginx/sites-available/s3.ex.social.conf',
        rollback_group: 'nginx',
      });
    });
  }

  it('layout B edits the Misskey vhost (per OS path) and uses <domain>/storage as the baseUrl', () => {
    const fed = render(FEDORA36, { proxy_layout: 'directory' });
    assert.equal(fed['Proxy location in the Misskey vhost (layout B)'].path, '/etc/nginx/conf.d/misskey.conf');
    assert.equal(fed['Proxy vhost (layout A)'], 'skipped');
    assert.equal(fed['Certificate for the proxy name'], 'skipped');
    const deb = render(DEBIAN11, { proxy_layout: 'directory' });
    assert.equal(deb['Proxy location in the Misskey vhost (layout B)'].path, '/etc/nginx/sites-available/misskey.conf');
    assert.match(
      deb['Proxy location in the Misskey vhost (layout B)'].block,
      /^# <baseUrl>\/storage\/<name> is the object storage\/<name>[\s\S]*location \/storage\/ \{\n    limit_except GET OPTIONS \{/,
    );
    assert.equal(deb['Drive settings in .config/default.yml (v10)'].base_url, 'https://ex.social');
    assert.equal(deb['Drive settings in .config/default.yml (v10)'].prefix, 'storage');
  });

  it('layout C edits the Misskey vhost (per OS path): /files/ bucket first, Misskey after; baseUrl the instance, prefix files', () => {
    for (const [os, facts] of [
      ['Fedora 36', FEDORA36],
      ['Debian 11', DEBIAN11],
    ] as const) {
      const r = render(facts, { proxy_layout: 'files' });
      const t = r['Files location in the Misskey vhost, bucket first, then Misskey (layout C)'];
      assert.equal(t.path, os === 'Fedora 36' ? '/etc/nginx/conf.d/misskey.conf' : '/etc/nginx/sites-available/misskey.conf');
      assert.equal(r['Proxy location in the Misskey vhost (layout B)'], 'skipped');
      assert.equal(r['Proxy vhost (layout A)'], 'skipped');
      assert.notEqual(r['Cache zone at http level (layouts B, C)'], 'skipped');
      const block = t.block as string;
      assert.match(block, /location \/files\/ \{[\s\S]*error_page 403 404 = @mskplay_misskey_files;[\s\S]*proxy_cache_key \$scheme:\/\/\$host\$request_uri;/);
      assert.doesNotMatch(block.split('location @mskplay_misskey_files')[0]!, /proxy_cache_valid any/, 'no bucket 403/404 in the cache');
      assert.match(block, /location @mskplay_misskey_files \{\n    proxy_pass http:\/\/127\.0\.0\.1:3000;[\s\S]*proxy_cache_valid any 1m;/);
      assert.equal(r['Drive settings in .config/default.yml (v10)'].base_url, 'https://ex.social');
      assert.equal(r['Drive settings in .config/default.yml (v10)'].prefix, 'files');
    }
  });

  it('a bucket name with dots on HTTPS goes path-style (s3cmd and the proxy); without dots, or on HTTP, virtual-host', () => {
    const cfg = (extra: Record<string, unknown>) => renderS3cfg(render(DEBIAN11, extra)['s3cmd config (keys, endpoint, HTTPS)']);
    assert.match(cfg({ s3_bucket: 'media.ex.social' }), /^host_bucket = ewr1.vultrobjects.com$/m);
    assert.match(cfg({}), /^host_bucket = %\(bucket\)s.ewr1.vultrobjects.com$/m);
    assert.match(cfg({ s3_bucket: 'media.ex.social', s3_use_https: false }), /^host_bucket = %\(bucket\)s.ewr1.vultrobjects.com$/m);
    const lazy = new LazyVars(templates, { ...site.plays[1].defaults, ...hostVars, s3_bucket: 'media.ex.social' }, magicVars('h', DEBIAN11, false));
    const vhost = templates.renderFile('nginx/s3-subdomain.conf.j2', lazy.context());
    assert.match(vhost, /proxy_pass https:\/\/\$mskplay_s3_upstream\/media.ex.social\$request_uri;/);
    assert.match(vhost, /proxy_ssl_name ewr1.vultrobjects.com;/);
    assert.ok(vhost.startsWith(LAYOUT_A_MARK), 'the layout guard finds the mark it looks for');
    assert.match(vhost, /keys_zone=images:21m max_size=20g/, 'the key zone is derived from max_size (128 KiB mean object, 8000 keys per MB)');
  });

  it('Vultr region presets give the endpoint; the proxy keeps the URI (the object key) whole', () => {
    const r = render(DEBIAN11, { s3_region: 'sgp1' });
    assert.equal(r['s3cmd config (keys, endpoint, HTTPS)'].endpoint, 'sgp1.vultrobjects.com');
    const block = render(DEBIAN11, { proxy_layout: 'directory', s3_region: 'sgp1' })['Proxy location in the Misskey vhost (layout B)'].block as string;
    assert.match(block, /set \$mskplay_s3_upstream ex-social-drive.sgp1.vultrobjects.com;\n    proxy_pass https:\/\/\$mskplay_s3_upstream\$request_uri;/);
    assert.match(block, /resolver 127.0.0.53 valid=300s ipv6=off;/, 'the fixture hosts are IPv4-only');
  });
});
