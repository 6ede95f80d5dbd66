// Proves our template engine writes what Ansible's template module writes, byte for byte: the
// project's nginx templates (both layouts, several var sets) and small templates for each rule in
// src/template-jinja.ts (include newlines, comments, trim/lstrip, indent, trailing newlines).
// Needs ansible-playbook (Debian's ansible-core): skipped with a message without it, but under
// CI=true its absence fails.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Templates } from '../../src/template.js';
import { fileURLToPath } from 'node:url';
import { needOrSkip } from '../prereq.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Case {
  name: string;
  src: string;
  vars: Record<string, unknown>;
}

const layoutA = {
  proxy_host: 's3.example.com',
  s3_bucket: 'mk-files',
  s3_endpoint: 'ewr1.vultrobjects.com',
  s3_prefix: 'misskey',
  s3_use_https: true,
  s3_path_style: false,
  acme_webroot: '/var/www/html',
  proxy_local_root: '/var/www/s3-local',
  proxy_dynamic_upstream: true,
  proxy_resolver: '10.0.0.2 [fd00::53]',
  proxy_resolver_ipv6: true,
  proxy_cache_path: '/var/cache/nginx/proxy_cache_images',
  proxy_cache_zone: 'images',
  proxy_cache_keys_size: '2m',
  proxy_cache_max_size: '1g',
  proxy_cache_inactive: '7d',
  proxy_cache_valid: '7d',
  proxy_cache_valid_errors: '1m',
  proxy_layout: 'subdomain',
  move_active: false,
  retire: false,
  drive_retired: false,
  retire_types_file: '/etc/nginx/mskplay/s3.example.com-types.conf',
  misskey_upstream: 'http://127.0.0.1:3000',
  acme_forward: false,
};
/** A proxy host that is not the certificate's issuer: port 80 forwards ACME challenges (a file of its own). */
const follower = {
  acme_forward: true,
  acme_issuer: 'media1',
  acme_forward_file: '/etc/nginx/conf.d/s3.example.com-acme.conf',
  acme_forward_upstream: '[2001:db8::5]',
};
/** A move in progress: the old bucket answers what the new one lacks. */
/** A retire: local files first with the bucket behind (retiring), or alone (retired). */
const retiring = { retire: true };
const retired = { retire: true, drive_retired: true };
const moving = { move_active: true, move_from_endpoint: 'sgp1.vultrobjects.com', move_from_bucket: 'mk-old', move_from_path_style: false };

// Small templates, one rule each (file name -> source).
const SYNTHETIC: Record<string, string> = {
  'comments.j2': '{# first line #}\nA\n  {# alone, indented #}\nB {# inline #}\nC\n\t{# tab #}\nD\n',
  '_inc.j2': 'INC\n',
  '_inc-lines.j2': '{# shared #}\na\n\nb\n',
  'include.j2': "x{% include 't/_inc.j2' %}y\n{% include 't/_inc.j2' %}\nend\n",
  'set-include.j2': "{% set c %}{% include 't/_inc-lines.j2' %}{% endset %}\nblock {\n{{ c | indent(4, true) }}\n}\n",
  'indent.j2': '[{{ v | indent }}]\n[{{ v | indent(3) }}]\n[{{ v | indent(2, first=true, blank=true) }}]\n[{{ v | indent(2, true) }}]\n',
  'if-end.j2': '{% if flag %}\nyes\n{% endif %}\n',
  'two-newlines.j2': 'x {{ v | length }}\n\n',
  'no-newline.j2': 'x',
  'ends-in-block.j2': 'a\n{% for i in [1, 2] %}\n{{ i }}\n{% endfor %}',
};

const CASES: Case[] = [
  { name: 'subdomain-dynamic-https', src: 'nginx/s3-subdomain.conf.j2', vars: layoutA },
  { name: 'subdomain-static-http', src: 'nginx/s3-subdomain.conf.j2', vars: { ...layoutA, proxy_dynamic_upstream: false, s3_use_https: false } },
  // A bucket with dots on HTTPS, on an endpoint with a port: path-style, TLS name without the port.
  {
    name: 'subdomain-path-style-port',
    src: 'nginx/s3-subdomain.conf.j2',
    vars: { ...layoutA, s3_bucket: 'media.example.com', s3_endpoint: 'objects.example.net:8443', s3_path_style: true },
  },
  { name: 'location-dynamic-ipv4-only', src: 'nginx/s3-location.conf.j2', vars: { ...layoutA, proxy_resolver_ipv6: false } },
  {
    name: 'location-static-port',
    src: 'nginx/s3-location.conf.j2',
    vars: { ...layoutA, proxy_dynamic_upstream: false, s3_endpoint: 'objects.example.net:7480' },
  },
  { name: 'location-dynamic', src: 'nginx/s3-location.conf.j2', vars: layoutA },
  { name: 'location-static', src: 'nginx/s3-location.conf.j2', vars: { ...layoutA, proxy_dynamic_upstream: false } },
  { name: 'cache-zone', src: 'nginx/s3-cache-zone.conf.j2', vars: layoutA },
  { name: 'subdomain-acme-follower', src: 'nginx/s3-subdomain.conf.j2', vars: { ...layoutA, ...follower } },
  { name: 'acme-forward', src: 'nginx/s3-acme-forward.conf.j2', vars: { ...layoutA, ...follower } },
  { name: 'subdomain-move', src: 'nginx/s3-subdomain.conf.j2', vars: { ...layoutA, ...moving } },
  { name: 'location-move', src: 'nginx/s3-location.conf.j2', vars: { ...layoutA, ...moving, proxy_layout: 'directory' } },
  { name: 'subdomain-retiring', src: 'nginx/s3-subdomain.conf.j2', vars: { ...layoutA, ...retiring } },
  { name: 'subdomain-retired', src: 'nginx/s3-subdomain.conf.j2', vars: { ...layoutA, ...retired } },
  { name: 'location-retiring', src: 'nginx/s3-location.conf.j2', vars: { ...layoutA, ...retiring, proxy_layout: 'directory' } },
  { name: 'location-retired', src: 'nginx/s3-location.conf.j2', vars: { ...layoutA, ...retired, proxy_layout: 'directory' } },
  { name: 'files', src: 'nginx/s3-files-location.conf.j2', vars: { ...layoutA, proxy_layout: 'files', s3_prefix: 'files' } },
  { name: 'files-move', src: 'nginx/s3-files-location.conf.j2', vars: { ...layoutA, ...moving, proxy_layout: 'files', s3_prefix: 'files' } },
  ...Object.keys(SYNTHETIC)
    .filter((f) => !f.startsWith('_')) // partials, included only
    .flatMap((f): Case[] => [
      { name: `${f}-a`, src: `t/${f}`, vars: { v: 'one\n\ntwo\n', flag: true } },
      { name: `${f}-b`, src: `t/${f}`, vars: { v: 'single', flag: false } },
    ]),
];

const hasAnsiblePlaybook = () => !spawnSync('ansible-playbook', ['--version'], { stdio: 'ignore' }).error;

describe('templates vs real Ansible (ansible.builtin.template)', function () {
  this.timeout(180_000);
  let dir = '';

  before(function () {
    needOrSkip(this, hasAnsiblePlaybook(), 'ansible-playbook not found: install the Debian package ansible-core to cross-check with Ansible');
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('renders every case byte-identically (trim_blocks and lstrip_blocks on, as mskplay)', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-tpl-'));
    const tdir = path.join(dir, 'templates');
    fs.mkdirSync(path.join(tdir, 't'), { recursive: true });
    fs.symlinkSync(path.join(PROJECT_ROOT, 'templates', 'nginx'), path.join(tdir, 'nginx'));
    for (const [f, src] of Object.entries(SYNTHETIC)) fs.writeFileSync(path.join(tdir, 't', f), src);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    // One task per case, each with its own vars (YAML accepts JSON).
    const play = [
      {
        hosts: 'localhost',
        connection: 'local',
        gather_facts: false,
        vars: { ansible_python_interpreter: '/usr/bin/python3' },
        tasks: CASES.map((c) => ({
          name: c.name,
          'ansible.builtin.template': { src: c.src, dest: path.join(out, c.name), lstrip_blocks: true },
          vars: c.vars,
        })),
      },
    ];
    fs.writeFileSync(path.join(dir, 'play.yml'), JSON.stringify(play, null, 1));
    const r = spawnSync('ansible-playbook', ['-i', 'localhost,', path.join(dir, 'play.yml')], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        ANSIBLE_CONFIG: path.join(dir, 'none.cfg'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_LOCALHOST_WARNING: 'False',
        ANSIBLE_RETRY_FILES_ENABLED: 'False',
      },
    });
    assert.equal(r.status, 0, `ansible-playbook failed:\n${r.stdout}\n${r.stderr}`);

    const ours = new Templates({ templateDir: tdir });
    for (const c of CASES) {
      const theirs = fs.readFileSync(path.join(out, c.name), 'utf8');
      assert.equal(ours.renderFile(c.src, c.vars), theirs, `${c.name} (${c.src}) differs from Ansible's rendering`);
    }
    // The cases are not vacuous: a layout A vhost has its proxy location, a synthetic one its text.
    assert.match(fs.readFileSync(path.join(out, 'subdomain-dynamic-https'), 'utf8'), /location @proxy \{\n {8}# Through a variable/);
    // The include loses its newline and trim_blocks eats the one after the tag.
    assert.equal(fs.readFileSync(path.join(out, 'include.j2-a'), 'utf8'), 'xINCy\nINCend\n');
    assert.match(fs.readFileSync(path.join(out, 'location-dynamic-ipv4-only'), 'utf8'), /resolver 10.0.0.2 \[fd00::53\] valid=300s ipv6=off;/);
    assert.match(fs.readFileSync(path.join(out, 'subdomain-dynamic-https'), 'utf8'), /resolver 10.0.0.2 \[fd00::53\] valid=300s;/);
    // A move: the old bucket in a named location after the new one, layout C chaining on to Misskey.
    assert.match(
      fs.readFileSync(path.join(out, 'subdomain-move'), 'utf8'),
      /error_page 403 404 = @mskplay_old_bucket;[\s\S]*location @mskplay_old_bucket \{[\s\S]*set \$mskplay_s3_upstream mk-old\.sgp1\.vultrobjects\.com;/,
    );
    assert.match(
      fs.readFileSync(path.join(out, 'files-move'), 'utf8'),
      /location @mskplay_old_bucket \{\n    recursive_error_pages on;\n    proxy_intercept_errors on;\n    error_page 403 404 = @mskplay_misskey_files;/,
    );
    const pathStyle = fs.readFileSync(path.join(out, 'subdomain-path-style-port'), 'utf8');
    assert.match(
      pathStyle,
      /set \$mskplay_s3_upstream objects.example.net:8443;\n\s+proxy_pass https:\/\/\$mskplay_s3_upstream\/media.example.com\$request_uri;/,
    );
    assert.match(pathStyle, /proxy_ssl_name objects.example.net;/);
    assert.match(
      fs.readFileSync(path.join(out, 'location-static-port'), 'utf8'),
      /proxy_pass https:\/\/mk-files.objects.example.net:7480\$request_uri;[\s\S]*proxy_ssl_name mk-files.objects.example.net;/,
    );
  });
});
