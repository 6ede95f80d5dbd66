// nginx as the host has it: its worker user and group, and the vhost layout (sites-available +
// sites-enabled, or conf.d only). What nginx.conf says wins over the distribution's default once
// nginx (and so its nginx.conf) is there.
import { defineFact, keyValues } from '../fact.js';

export interface NginxFacts {
  /** User the nginx workers run as (nginx.conf `user`, else the distro default). */
  nginx_user: string;
  nginx_group: string;
  /** 'sites' = sites-available + sites-enabled (Debian/Ubuntu); 'confd' = conf.d only (Fedora). */
  nginx_layout: 'sites' | 'confd';
  nginx_installed: boolean;
}

/** Each distribution's packaged nginx. */
const DEFAULTS: Record<string, { user: string; layout: NginxFacts['nginx_layout'] }> = {
  fedora: { user: 'nginx', layout: 'confd' },
  debian: { user: 'www-data', layout: 'sites' },
  ubuntu: { user: 'www-data', layout: 'sites' },
};

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
      const words = stmt
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => w.replace(/^["']|["']$/g, ''));
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

const debian: NginxFacts = { nginx_user: 'www-data', nginx_group: 'www-data', nginx_layout: 'sites', nginx_installed: true };

export default defineFact<NginxFacts>({
  commands: ['nginx'],
  sections: {
    nginx: `printf 'conf=%s\\n' "$(yn test -f "$conf")"\nprintf 'sites_enabled=%s\\n' "$(yn test -d "$r/etc/nginx/sites-enabled")"\nprintf 'conf_d=%s\\n' "$(yn test -d "$r/etc/nginx/conf.d")"`,
    'nginx-directives': `if [ -r "$conf" ]; then\n  sed -n -e 's/#.*//' -e '/^[[:space:]]*user[[:space:]]/p' -e '/^[[:space:]]*include[[:space:]]/p' "$conf"\nfi`,
    groups: [
      'u=""',
      'if [ -r "$conf" ]; then',
      `  u=$(sed -n -e 's/#.*//' -e 's/^[[:space:]]*user[[:space:]][[:space:]]*\\([^;[:space:]]*\\).*/\\1/p' "$conf" | head -n 1)`,
      'fi',
      `for n in $u www-data nginx; do printf '%s=%s\\n' "$n" "$(id -gn "$n" 2>/dev/null)"; done`,
    ].join('\n'),
  },
  parse: (s, os) => {
    const dflt = DEFAULTS[os.os_id] ?? DEFAULTS.debian;
    const cmds = keyValues(s.get('commands'));
    const nginx = keyValues(s.get('nginx'));
    const groups = keyValues(s.get('groups'));
    const conf = parseNginxDirectives(s.get('nginx-directives'));
    const confPresent = nginx.conf === 'yes';
    const installed = Boolean(cmds.nginx) || confPresent;
    const user = conf.user ?? dflt.user;
    return {
      nginx_user: user,
      nginx_group: conf.group ?? (groups[user] || user),
      nginx_layout: installed && confPresent ? (conf.includesSites ? 'sites' : 'confd') : dflt.layout,
      nginx_installed: installed,
    };
  },
  placeholder: debian,
  fixtures: { fedora36: { nginx_user: 'nginx', nginx_group: 'nginx', nginx_layout: 'confd', nginx_installed: true }, debian11: debian, ubuntu2204: debian },
});
