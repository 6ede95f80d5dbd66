// The Debian packages the sandbox and the tests need on this machine, installed when missing, so
// `npm run demo` and `npm test` work on a fresh machine with nothing installed by hand.
// Run directly (`node dist/test/world/packages.js`) it installs them and exits (used by .ci/run).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEBIAN_PACKAGES = [
  // test hosts: rootfs layers, namespaces, DNS, ssh
  'mmdebstrap',
  'dnsmasq-base',
  'iproute2',
  'util-linux',
  'mount',
  'procps',
  'openssh-client',
  'openssh-server',
  'sudo',
  'curl',
  'openssl',
  'ca-certificates',
  // S3 (Ceph radosgw) and ACME (Pebble); s3cmd for tests run from this machine
  'ceph-mon',
  'ceph-osd',
  'radosgw',
  'ceph-common',
  'pebble',
  's3cmd',
  // certbot's own test on this machine
  'nginx',
  'certbot',
  'python3-certbot-nginx',
  // cross-checks against the real Ansible (inventory, patterns) and the benchmark
  'ansible-core',
];

export function missingPackages(pkgs = DEBIAN_PACKAGES): string[] {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...pkgs], { encoding: 'utf8' });
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

/** Install what is missing (root only). Returns a one-line reason when it cannot, else null. */
export function ensureDebianPackages(log: (m: string) => void = (m) => console.log(m), pkgs = DEBIAN_PACKAGES): string | null {
  const missing = missingPackages(pkgs);
  if (missing.length === 0) return null;
  if (process.getuid?.() !== 0) return `missing Debian packages (${missing.join(' ')}) and not root to install them`;
  log(`installing Debian packages: ${missing.join(' ')} (once; a few minutes)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (upd.status !== 0) return `apt-get update failed (exit ${upd.status})`;
  // policy-rc.d keeps package scripts from starting daemons (nginx, ceph) on this machine.
  const policy = '/usr/sbin/policy-rc.d';
  const ours = !fs.existsSync(policy);
  if (ours) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const inst = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (inst.status !== 0) return `apt-get install ${missing.join(' ')} failed (exit ${inst.status})`;
  } finally {
    if (ours) fs.rmSync(policy, { force: true });
  }
  const still = missingPackages(pkgs);
  return still.length ? `still missing after install: ${still.join(' ')}` : null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const why = ensureDebianPackages();
  if (why) {
    console.error(`packages: ${why}`);
    process.exit(1);
  }
  console.log('packages: all present');
}
