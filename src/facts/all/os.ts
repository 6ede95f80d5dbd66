// The OS (os-release) and its package manager. Supported hosts are exact major versions: Fedora
// 36, Debian 11/12, Ubuntu 22.04. Anything else (older, newer, derivatives like Linux Mint) is
// refused before a task runs: package names, nginx layout and users were only checked on those.
import { FactsError } from '../errors.js';
import { defineFact } from '../fact.js';

export type OsFamily = 'debian' | 'redhat';

export interface OsFacts {
  /** Set for an OS outside the supported list that runs because allow_untested_os is set. */
  warnings?: string[];
  /** os-release ID: debian, ubuntu, fedora. */
  os_id: string;
  /** os-release VERSION_ID: "11", "12", "22.04", "36". */
  os_version: string;
  os_codename: string;
  os_pretty: string;
  os_family: OsFamily;
  pkg_mgr: 'apt' | 'dnf';
}

const SUPPORTED: { id: string; versions: string[]; family: OsFamily; pkg_mgr: OsFacts['pkg_mgr'] }[] = [
  { id: 'fedora', versions: ['36'], family: 'redhat', pkg_mgr: 'dnf' },
  { id: 'debian', versions: ['11', '12'], family: 'debian', pkg_mgr: 'apt' },
  { id: 'ubuntu', versions: ['22.04'], family: 'debian', pkg_mgr: 'apt' },
];

export const SUPPORTED_OS_TEXT = 'Fedora 36, Debian 11/12, Ubuntu 22.04';

/** os-release(5): KEY=value lines; values may be "double" (with \ escapes) or 'single' quoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if (v.startsWith('"')) {
      let s = '';
      for (let i = 1; i < v.length && v[i] !== '"'; i++) s += v[i] === '\\' && i + 1 < v.length ? v[++i] : v[i];
      v = s;
    } else if (v.startsWith("'")) {
      const end = v.indexOf("'", 1);
      v = v.slice(1, end < 0 ? undefined : end);
    } else {
      v = v.replace(/\\(.)/g, '$1');
    }
    out[m[1]] = v;
  }
  return out;
}

/** debian for ID/ID_LIKE debian or ubuntu; redhat for fedora, rhel, centos; else undefined. */
export function osFamily(id: string, idLike = ''): OsFamily | undefined {
  const names = [id, ...idLike.split(/\s+/)].filter(Boolean).map((s) => s.toLowerCase());
  if (names.some((n) => n === 'debian' || n === 'ubuntu')) return 'debian';
  if (names.some((n) => n === 'fedora' || n === 'rhel' || n === 'centos')) return 'redhat';
  return undefined;
}

const debian11: OsFacts = {
  os_id: 'debian',
  os_version: '11',
  os_codename: 'bullseye',
  os_pretty: 'Debian GNU/Linux 11 (bullseye)',
  os_family: 'debian',
  pkg_mgr: 'apt',
};

export default defineFact<OsFacts>({
  sections: {
    'os-release': 'if [ -r "$r/etc/os-release" ]; then cat "$r/etc/os-release"\nelif [ -r "$r/usr/lib/os-release" ]; then cat "$r/usr/lib/os-release"; fi',
  },
  parse: (s, _base, opts) => {
    const os = parseOsRelease((s.get('os-release') ?? []).join('\n'));
    if (!os.ID) throw new FactsError('cannot read /etc/os-release on the host', `supported: ${SUPPORTED_OS_TEXT}`);
    const pretty = os.PRETTY_NAME || [os.NAME || os.ID, os.VERSION_ID].filter(Boolean).join(' ');
    const distro = SUPPORTED.find((d) => d.id === os.ID && d.versions.includes(os.VERSION_ID ?? ''));
    const family = osFamily(os.ID, os.ID_LIKE);
    const base = { os_id: os.ID, os_version: os.VERSION_ID ?? '', os_codename: os.VERSION_CODENAME ?? '', os_pretty: pretty };
    if (distro && family) return { ...base, os_family: distro.family, pkg_mgr: distro.pkg_mgr };
    // A relative we have not tested (Debian 13, Fedora 37, Ubuntu 24.04, Mint): refused unless asked for.
    if (family && opts.allowUntestedOs) {
      return {
        ...base,
        os_family: family,
        pkg_mgr: family === 'debian' ? 'apt' : 'dnf',
        warnings: [`untested OS ${pretty} (supported: ${SUPPORTED_OS_TEXT}): running because allow_untested_os is set`],
      };
    }
    throw new FactsError(`unsupported OS: ${pretty} (supported: ${SUPPORTED_OS_TEXT})${family ? '; to try it anyway: -e allow_untested_os=true' : ''}`);
  },
  placeholder: { os_id: 'debian', os_version: '12', os_codename: 'bookworm', os_pretty: 'Debian GNU/Linux 12 (bookworm)', os_family: 'debian', pkg_mgr: 'apt' },
  fixtures: {
    fedora36: { os_id: 'fedora', os_version: '36', os_codename: '', os_pretty: 'Fedora Linux 36 (Server Edition)', os_family: 'redhat', pkg_mgr: 'dnf' },
    debian11,
    ubuntu2204: { ...debian11, os_id: 'ubuntu', os_version: '22.04', os_codename: 'jammy', os_pretty: 'Ubuntu 22.04.1 LTS' },
  },
});
