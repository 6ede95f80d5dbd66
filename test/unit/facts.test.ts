// Facts: the real os-release files of the supported distros (and some unsupported ones), the parser
// on hand-made script output, and the real script run with sh on this machine (and on fixture trees).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskError } from '../../src/errors.js';
import { FACTS_MARKER, FACTS_SCRIPT, FactsError, osFamily, parseFacts, parseOsRelease } from '../../src/facts/gather.js';
import { parseNginxDirectives } from '../../src/facts/all/nginx.js';
import { parseAddresses } from '../../src/facts/all/network.js';
import type { Facts } from '../../src/facts/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const OS_RELEASE = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../test/fixtures/os-release' : '../fixtures/os-release');
const osRelease = (name: string) => fs.readFileSync(path.join(OS_RELEASE, name), 'utf8');

interface Parts {
  os: string;
  hostname?: string;
  uid?: string;
  systemd?: string[];
  commands?: string[];
  nginx?: string[];
  directives?: string[];
  groups?: string[];
  addresses?: string[];
  security?: string[];
}

/** Output shaped like FACTS_SCRIPT's. */
function output(p: Parts): string {
  const sec = (name: string, lines: string[]) => `\n${FACTS_MARKER} ${name}\n${lines.join('\n')}\n`;
  return [
    sec('os-release', [osRelease(p.os)]),
    sec('hostname', [p.hostname ?? 'h1']),
    sec('uid', [p.uid ?? '0']),
    sec('systemd', p.systemd ?? ['run_systemd_system=yes', 'pid1_comm=systemd']),
    sec('commands', p.commands ?? ['apt-get=/usr/bin/apt-get', 'dnf=/usr/bin/dnf', 'nginx=']),
    sec('nginx', p.nginx ?? ['conf=no', 'sites_enabled=no', 'conf_d=no']),
    sec('nginx-directives', p.directives ?? []),
    sec('groups', p.groups ?? ['www-data=www-data', 'nginx=nginx']),
    sec('addresses', p.addresses ?? []),
    sec('security', p.security ?? []),
    sec('end', []),
  ].join('');
}

const SUPPORTED = 'supported: Fedora 36, Debian 11/12, Ubuntu 22.04';

describe('facts: SELinux mode and firewalld (read from selinuxfs and systemd, no tool started)', () => {
  it('enforcing (1), permissive (0), and disabled when selinuxfs is not there; firewalld only when active', () => {
    const f = (lines: string[]) => parseFacts(output({ os: 'fedora-36', security: lines }));
    assert.deepEqual([f(['selinux_enforce=1', 'firewalld=active']).selinux, f(['selinux_enforce=1', 'firewalld=active']).firewalld], ['enforcing', true]);
    assert.equal(f(['selinux_enforce=0']).selinux, 'permissive');
    assert.deepEqual([f(['firewalld=inactive']).selinux, f(['firewalld=inactive']).firewalld], ['disabled', false]);
    assert.equal(f(['firewalld=unknown']).firewalld, false, '`systemctl is-active` of a unit that is not installed');
  });
});

describe('facts: os-release of the supported distributions', () => {
  const cases: Array<[string, Partial<Facts>]> = [
    [
      'fedora-36',
      {
        os_id: 'fedora',
        os_version: '36',
        os_codename: '',
        os_pretty: 'Fedora Linux 36 (Server Edition)',
        os_family: 'redhat',
        pkg_mgr: 'dnf',
        nginx_user: 'nginx',
        nginx_group: 'nginx',
        nginx_layout: 'confd',
      },
    ],
    [
      'debian-11',
      {
        os_id: 'debian',
        os_version: '11',
        os_codename: 'bullseye',
        os_pretty: 'Debian GNU/Linux 11 (bullseye)',
        os_family: 'debian',
        pkg_mgr: 'apt',
        nginx_user: 'www-data',
        nginx_group: 'www-data',
        nginx_layout: 'sites',
      },
    ],
    [
      'debian-12',
      {
        os_id: 'debian',
        os_version: '12',
        os_codename: 'bookworm',
        os_pretty: 'Debian GNU/Linux 12 (bookworm)',
        os_family: 'debian',
        pkg_mgr: 'apt',
        nginx_user: 'www-data',
        nginx_layout: 'sites',
      },
    ],
    [
      'ubuntu-22.04',
      {
        os_id: 'ubuntu',
        os_version: '22.04',
        os_codename: 'jammy',
        os_pretty: 'Ubuntu 22.04.3 LTS',
        os_family: 'debian',
        pkg_mgr: 'apt',
        nginx_user: 'www-data',
        nginx_layout: 'sites',
      },
    ],
  ];
  for (const [name, want] of cases) {
    it(`${name}: distro defaults when nginx is not installed`, () => {
      const f = parseFacts(output({ os: name }));
      for (const [k, v] of Object.entries(want)) assert.deepEqual(f[k as keyof Facts], v, k);
      assert.equal(f.nginx_installed, false);
      assert.equal(f.warnings, undefined);
    });
  }
});

describe('facts: unsupported systems are refused with the supported list', () => {
  const cases: Array<[string, string]> = [
    ['fedora-38', 'Fedora Linux 38 (Container Image)'],
    ['centos-7', 'CentOS Linux 7 (Core)'],
    ['alpine-3.18', 'Alpine Linux v3.18'],
    ['debian-trixie-sid', 'Debian GNU/Linux trixie/sid'],
    ['linuxmint-21', 'Linux Mint 21'],
  ];
  for (const [name, pretty] of cases) {
    it(name, () => {
      assert.throws(
        () => parseFacts(output({ os: name })),
        (e: unknown) =>
          e instanceof FactsError &&
          e instanceof TaskError &&
          e.message === `unsupported OS: ${pretty} (${SUPPORTED})${name === 'alpine-3.18' ? '' : '; to try it anyway: -e allow_untested_os=true'}`,
      );
    });
  }

  it('allow_untested_os runs a relative of a supported system, with a warning; never an unrelated one', () => {
    const f = parseFacts(output({ os: 'fedora-38' }), { allowUntestedOs: true });
    assert.deepEqual([f.os_family, f.pkg_mgr], ['redhat', 'dnf']);
    assert.match(f.warnings?.join('\n') ?? '', /untested OS Fedora Linux 38 \(Container Image\) \(supported: .*\): running because allow_untested_os is set/);
    assert.equal(parseFacts(output({ os: 'linuxmint-21' }), { allowUntestedOs: true }).pkg_mgr, 'apt');
    assert.throws(() => parseFacts(output({ os: 'alpine-3.18' }), { allowUntestedOs: true }), /unsupported OS: Alpine/);
  });

  it('families follow ID and ID_LIKE (derivatives are recognised, still unsupported)', () => {
    assert.equal(osFamily('linuxmint', 'ubuntu debian'), 'debian');
    assert.equal(osFamily('centos', 'rhel fedora'), 'redhat');
    assert.equal(osFamily('fedora'), 'redhat');
    assert.equal(osFamily('alpine'), undefined);
  });
});

describe('facts: what the host actually has wins once nginx is installed', () => {
  const debianConf = [
    'user www-data;',
    'include /etc/nginx/modules-enabled/*.conf;',
    '\tinclude /etc/nginx/conf.d/*.conf;',
    '\tinclude /etc/nginx/sites-enabled/*;',
  ];

  it('Debian with the packaged nginx.conf: sites layout, www-data', () => {
    const f = parseFacts(
      output({
        os: 'debian-12',
        commands: ['apt-get=/usr/bin/apt-get', 'dnf=', 'nginx=/usr/sbin/nginx'],
        nginx: ['conf=yes', 'sites_enabled=yes', 'conf_d=yes'],
        directives: debianConf,
      }),
    );
    assert.equal(f.nginx_installed, true);
    assert.equal(f.nginx_layout, 'sites');
    assert.equal(f.nginx_user, 'www-data');
    assert.equal(f.nginx_group, 'www-data');
  });

  it('Debian whose nginx.conf no longer includes sites-enabled: conf.d layout', () => {
    const f = parseFacts(
      output({ os: 'debian-11', nginx: ['conf=yes', 'sites_enabled=yes', 'conf_d=yes'], directives: ['user www-data;', 'include /etc/nginx/conf.d/*.conf;'] }),
    );
    assert.equal(f.nginx_installed, true, 'nginx.conf present means installed');
    assert.equal(f.nginx_layout, 'confd');
  });

  it('Fedora with its packaged nginx.conf: conf.d layout, user nginx, group from id -gn', () => {
    const f = parseFacts(
      output({
        os: 'fedora-36',
        commands: ['apt-get=', 'dnf=/usr/bin/dnf', 'nginx=/usr/sbin/nginx'],
        nginx: ['conf=yes', 'sites_enabled=no', 'conf_d=yes'],
        directives: [
          'user nginx;',
          'include /usr/share/nginx/modules/*.conf;',
          '    include             /etc/nginx/mime.types;',
          '    include /etc/nginx/conf.d/*.conf;',
        ],
        groups: ['nginx=nginx', 'www-data=', 'nginx=nginx'],
      }),
    );
    assert.deepEqual([f.nginx_layout, f.nginx_user, f.nginx_group, f.pkg_mgr], ['confd', 'nginx', 'nginx', 'dnf']);
  });

  it('Ubuntu with a custom nginx user: its primary group comes from id -gn', () => {
    const f = parseFacts(
      output({
        os: 'ubuntu-22.04',
        nginx: ['conf=yes', 'sites_enabled=yes', 'conf_d=yes'],
        directives: ['user web;  # custom', 'include /etc/nginx/sites-enabled/*.conf;'],
        groups: ['web=webgroup', 'www-data=www-data', 'nginx='],
      }),
    );
    assert.deepEqual([f.nginx_layout, f.nginx_user, f.nginx_group], ['sites', 'web', 'webgroup']);
  });

  it('user directive with an explicit group; a user with no entry falls back to its own name', () => {
    assert.deepEqual(parseNginxDirectives(['user www-data adm;']), { user: 'www-data', group: 'adm', includesSites: false });
    const f = parseFacts(
      output({
        os: 'fedora-36',
        nginx: ['conf=yes', 'sites_enabled=no', 'conf_d=yes'],
        directives: ['user ghost;'],
        groups: ['ghost=', 'www-data=', 'nginx='],
      }),
    );
    assert.deepEqual([f.nginx_user, f.nginx_group], ['ghost', 'ghost']);
  });

  it('ignores commented-out directives and finds statements sharing a line', () => {
    assert.deepEqual(parseNginxDirectives(['# user nobody;', 'worker_processes 1; user "nginx";', 'include sites-enabled/*; # note']), {
      user: 'nginx',
      group: undefined,
      includesSites: true,
    });
  });
});

describe('facts: systemd, uid, addresses, broken output', () => {
  it('systemd only when /run/systemd/system exists and PID 1 is systemd', () => {
    const sd = (lines: string[]) => parseFacts(output({ os: 'debian-12', systemd: lines })).systemd;
    assert.equal(sd(['run_systemd_system=yes', 'pid1_comm=systemd']), true);
    assert.equal(sd(['run_systemd_system=yes', 'pid1_comm=']), true, 'unreadable /proc/1/comm: trust the directory');
    assert.equal(sd(['run_systemd_system=no', 'pid1_comm=sshd']), false);
    assert.equal(sd(['run_systemd_system=yes', 'pid1_comm=sshd']), false, 'a stale directory in a container');
  });

  it('reads the uid and the hostname', () => {
    const f = parseFacts(output({ os: 'debian-12', uid: '1000', hostname: 'web1.example.com' }));
    assert.equal(f.uid, 1000);
    assert.equal(f.hostname, 'web1.example.com');
  });

  it('keeps global addresses from ip -o addr, dropping loopback and link-local', () => {
    const lines = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever',
      '2: eth0    inet 10.231.0.11/24 brd 10.231.0.255 scope global eth0\\       valid_lft forever preferred_lft forever',
      '2: eth0    inet6 2001:db8::11/64 scope global \\       valid_lft forever preferred_lft forever',
      '2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever',
    ];
    assert.deepEqual(parseAddresses(lines), ['10.231.0.11', '2001:db8::11']);
    assert.deepEqual(parseAddresses(['hostname-I=10.231.0.12 127.0.0.1 fe80::2 2001:db8::12 ']), ['10.231.0.12', '2001:db8::12']);
  });

  it('warns when the package manager is missing', () => {
    const f = parseFacts(output({ os: 'fedora-36', commands: ['apt-get=', 'dnf=', 'nginx='] }));
    assert.deepEqual(f.warnings, ['dnf not found on the host: package tasks will fail']);
  });

  it('refuses truncated output, a missing os-release and a missing uid', () => {
    const full = output({ os: 'debian-12' });
    assert.throws(() => parseFacts(full.slice(0, full.indexOf(`${FACTS_MARKER} end`))), /incomplete \(no end marker\)/);
    assert.throws(() => parseFacts(`${FACTS_MARKER} os-release\n\n${FACTS_MARKER} end\n`), /cannot read \/etc\/os-release/);
    assert.throws(() => parseFacts(output({ os: 'debian-12', uid: 'id: not found' })), /cannot read the remote user id/);
  });

  it('parses os-release quoting: double quotes with escapes, single quotes, comments, bare words', () => {
    const r = parseOsRelease('# comment\nNAME="Foo \\"Bar\\" \\\\ Linux"\nID=foo\nVERSION=\'1 (one)\'\nX=a\\ b\n\nBAD LINE\n');
    assert.deepEqual(r, { NAME: 'Foo "Bar" \\ Linux', ID: 'foo', VERSION: '1 (one)', X: 'a b' });
  });
});

describe('facts: the real script, run with sh on this machine', function () {
  this.timeout(20_000);

  function run(shell: string, env: NodeJS.ProcessEnv = {}): string {
    return execFileSync(shell, ['-c', FACTS_SCRIPT], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  }

  function sourced(field: string): string {
    return execFileSync('sh', ['-c', `. /etc/os-release; printf %s "$${field}"`], { encoding: 'utf8' });
  }

  const shells = ['/bin/sh', '/usr/bin/dash', '/usr/bin/bash'].filter((s) => fs.existsSync(s));

  for (const shell of shells) {
    it(`${shell}: prints every section and exits 0; the parsed facts match this machine`, () => {
      const out = run(shell);
      for (const name of ['os-release', 'hostname', 'uid', 'systemd', 'commands', 'nginx', 'nginx-directives', 'groups', 'addresses', 'end'])
        assert.ok(out.includes(`\n${FACTS_MARKER} ${name}\n`), `section ${name}`);
      const f = parseFacts(out);
      assert.equal(f.os_id, sourced('ID'));
      assert.equal(f.os_version, sourced('VERSION_ID'));
      assert.equal(f.os_codename, sourced('VERSION_CODENAME'));
      assert.equal(f.uid, process.getuid!());
      assert.equal(f.hostname, os.hostname());
      assert.equal(f.systemd, fs.existsSync('/run/systemd/system') && fs.readFileSync('/proc/1/comm', 'utf8').trim() === 'systemd');
      const nginxThere = fs.existsSync('/etc/nginx/nginx.conf') || fs.existsSync('/usr/sbin/nginx');
      assert.equal(f.nginx_installed, nginxThere, 'found even though PATH lacks /usr/sbin');
      const expected = Object.values(os.networkInterfaces())
        .flat()
        .filter((a) => a && !a.internal && !/^fe80:/i.test(a.address))
        .map((a) => a!.address);
      assert.deepEqual([...f.addresses].sort(), [...new Set(expected)].sort());
    });
  }

  function tree(files: Record<string, string>, dirs: string[] = []): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mss-facts-'));
    for (const d of dirs) fs.mkdirSync(path.join(root, d), { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      fs.writeFileSync(path.join(root, name), text);
    }
    return root;
  }

  it('on a Fedora 36 tree with its nginx.conf: conf.d layout and user nginx', () => {
    const root = tree(
      {
        'etc/os-release': osRelease('fedora-36'),
        'etc/nginx/nginx.conf':
          '# For more information on configuration, see nginx(8).\nuser nginx;\nworker_processes auto;\n# user www-data;\ninclude /usr/share/nginx/modules/*.conf;\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n}\n',
      },
      ['etc/nginx/conf.d', 'run/systemd/system'],
    );
    const f = parseFacts(run('/bin/sh', { MSS_FACTS_ROOT: root }));
    assert.deepEqual([f.os_id, f.os_version, f.pkg_mgr, f.nginx_layout, f.nginx_user, f.nginx_installed], ['fedora', '36', 'dnf', 'confd', 'nginx', true]);
  });

  it('on an Ubuntu tree with sites-enabled and an odd user: what nginx.conf says', () => {
    const root = tree(
      {
        'usr/lib/os-release': osRelease('ubuntu-22.04'),
        'etc/nginx/nginx.conf': 'user nobody nogroup; pid /run/nginx.pid;\nhttp {\n\tinclude /etc/nginx/sites-enabled/*;\n}\n',
      },
      ['etc/nginx/sites-enabled'],
    );
    const f = parseFacts(run('/bin/sh', { MSS_FACTS_ROOT: root }));
    assert.deepEqual([f.os_id, f.os_version, f.nginx_layout, f.nginx_user, f.nginx_group], ['ubuntu', '22.04', 'sites', 'nobody', 'nogroup']);
  });

  it('a user value with shell characters stays data (the script quotes it)', () => {
    const marker = path.join(os.tmpdir(), `mss-facts-injected-${process.pid}`);
    const root = tree({ 'etc/os-release': osRelease('debian-12'), 'etc/nginx/nginx.conf': `user $(touch${'${IFS}'}${marker})*;\n` });
    const f = parseFacts(run('/bin/sh', { MSS_FACTS_ROOT: root }));
    assert.equal(fs.existsSync(marker), false);
    assert.equal(f.nginx_user, `$(touch\${IFS}${marker})*`);
  });

  it('on an unsupported tree, the parser refuses it', () => {
    const root = tree({ 'etc/os-release': osRelease('centos-7') });
    assert.throws(
      () => parseFacts(run('/bin/sh', { MSS_FACTS_ROOT: root })),
      new RegExp(`unsupported OS: CentOS Linux 7 \\(Core\\) \\(${SUPPORTED.replace(/[./]/g, '\\$&')}\\)`),
    );
  });
});

describe('facts: nameservers', () => {
  it('reads the nameservers of /etc/resolv.conf for the nginx resolver default', async () => {
    const { parseFacts } = await import('../../src/facts/gather.js');
    const out = [
      '@@mss-facts os-release',
      'ID=debian',
      'VERSION_ID="12"',
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
      '@@mss-facts hostname',
      'h1',
      '@@mss-facts uid',
      '0',
      '@@mss-facts resolv',
      '10.231.0.1',
      'fd00::53',
      '@@mss-facts end',
      '',
    ].join('\n');
    assert.deepEqual(parseFacts(out).nameservers, ['10.231.0.1', 'fd00::53']);
  });
});
