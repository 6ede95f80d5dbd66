// Turning the facts script's output into Facts (pure: no I/O, so fixtures cover every distro).
//
// Supported hosts are exact major versions: Fedora 36, Debian 11/12, Ubuntu 22.04. Anything else
// (older, newer, derivatives like Linux Mint) is refused before a task runs: package names, nginx
// layout and users were only checked on those.

import { TaskError } from '../errors.js';
import { FACTS_MARKER } from './script.js';
import type { Facts, OsFamily } from './types.js';

/** The host cannot be handled (unsupported OS, unreadable output). */
export class FactsError extends TaskError {
  constructor(message: string, detail?: string) {
    super(message, detail);
    this.name = 'FactsError';
  }
}

interface Distro {
  id: string;
  versions: string[];
  family: OsFamily;
  pkg_mgr: Facts['pkg_mgr'];
  nginx_user: string;
  nginx_layout: Facts['nginx_layout'];
}

const SUPPORTED: Distro[] = [
  { id: 'fedora', versions: ['36'], family: 'redhat', pkg_mgr: 'dnf', nginx_user: 'nginx', nginx_layout: 'confd' },
  { id: 'debian', versions: ['11', '12'], family: 'debian', pkg_mgr: 'apt', nginx_user: 'www-data', nginx_layout: 'sites' },
  { id: 'ubuntu', versions: ['22.04'], family: 'debian', pkg_mgr: 'apt', nginx_user: 'www-data', nginx_layout: 'sites' },
];

export const SUPPORTED_OS_TEXT = 'Fedora 36, Debian 11/12, Ubuntu 22.04';

/** Split the script output into its sections (name -> lines). */
export function splitSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.replace(/\r\n/g, '\n').split('\n')) {
    const m = line.startsWith(FACTS_MARKER + ' ') ? line.slice(FACTS_MARKER.length + 1).trim() : undefined;
    if (m) sections.set(m, (current = []));
    else current?.push(line);
  }
  return sections;
}

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

function keyValues(lines: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

interface NginxConf {
  user?: string;
  group?: string;
  includesSites: boolean;
}

/** The `user` and `include` directives of nginx.conf's main context (comments ignored). */
export function parseNginxDirectives(lines: string[] = []): NginxConf {
  const conf: NginxConf = { includesSites: false };
  for (const line of lines) {
    for (const stmt of line.replace(/#.*/, '').split(';')) {
      const words = stmt.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/^["']|["']$/g, ''));
      if (words[0] === 'user' && words[1] && conf.user === undefined) {
        conf.user = words[1];
        conf.group = words[2];
      } else if (words[0] === 'include' && words.slice(1).some((p) => p.includes('sites-enabled'))) {
        conf.includesSites = true;
      }
    }
  }
  return conf;
}

/** Interface addresses without loopback and link-local ones, from `ip -o addr` (or `hostname -I`). */
export function parseAddresses(lines: string[] = []): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const ip = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9A-Fa-f:.]+)(?:\/\d+)?\b.*?\bscope\s+(\w+)/.exec(line);
    if (ip) {
      if (ip[1] !== 'lo' && ip[4] !== 'host' && ip[4] !== 'link') out.push(ip[3]);
      continue;
    }
    if (line.startsWith('hostname-I='))
      for (const a of line.slice('hostname-I='.length).split(/\s+/))
        if (a && !/^127\./.test(a) && a !== '::1' && !/^fe80:/i.test(a)) out.push(a);
  }
  return [...new Set(out)];
}

/** Facts from the output of FACTS_SCRIPT. Throws FactsError for unsupported hosts or broken output. */
export function parseFacts(output: string): Facts {
  const s = splitSections(output);
  if (!s.has('end'))
    throw new FactsError('fact gathering output is incomplete (no end marker)', output.slice(-500));
  const os = parseOsRelease((s.get('os-release') ?? []).join('\n'));
  if (!os.ID) throw new FactsError('cannot read /etc/os-release on the host', `supported: ${SUPPORTED_OS_TEXT}`);
  const pretty = os.PRETTY_NAME || [os.NAME || os.ID, os.VERSION_ID].filter(Boolean).join(' ');
  const distro = SUPPORTED.find((d) => d.id === os.ID && d.versions.includes(os.VERSION_ID ?? ''));
  const family = osFamily(os.ID, os.ID_LIKE);
  if (!distro || !family) throw new FactsError(`unsupported OS: ${pretty} (supported: ${SUPPORTED_OS_TEXT})`);

  const hostname = (s.get('hostname') ?? []).map((l) => l.trim()).find(Boolean) ?? '';
  const uidText = (s.get('uid') ?? []).map((l) => l.trim()).find(Boolean) ?? '';
  if (!/^\d+$/.test(uidText)) throw new FactsError('cannot read the remote user id (id -u)', uidText);
  const sysd = keyValues(s.get('systemd'));
  const cmds = keyValues(s.get('commands'));
  const nginx = keyValues(s.get('nginx'));
  const groups = keyValues(s.get('groups'));
  const conf = parseNginxDirectives(s.get('nginx-directives'));

  const confPresent = nginx.conf === 'yes';
  const nginxInstalled = Boolean(cmds.nginx) || confPresent;
  // What the host has wins over the distro default once nginx (and so its nginx.conf) is there.
  const layout: Facts['nginx_layout'] = nginxInstalled && confPresent ? (conf.includesSites ? 'sites' : 'confd') : distro.nginx_layout;
  const user = conf.user ?? distro.nginx_user;
  const group = conf.group ?? (groups[user] || user);

  const facts: Facts = {
    hostname,
    os_id: os.ID,
    os_version: os.VERSION_ID,
    os_codename: os.VERSION_CODENAME ?? '',
    os_pretty: pretty,
    os_family: distro.family,
    pkg_mgr: distro.pkg_mgr,
    nginx_user: user,
    nginx_group: group,
    nginx_layout: layout,
    nginx_installed: nginxInstalled,
    systemd: sysd.run_systemd_system === 'yes' && (sysd.pid1_comm === undefined || sysd.pid1_comm === '' || sysd.pid1_comm === 'systemd'),
    uid: Number(uidText),
    addresses: parseAddresses(s.get('addresses')),
    nameservers: (s.get('resolv') ?? []).map((l) => l.trim()).filter(Boolean),
  };
  const tool = distro.pkg_mgr === 'apt' ? 'apt-get' : 'dnf';
  if (!cmds[tool]) facts.warnings = [`${tool} not found on the host: package tasks will fail`];
  return facts;
}
