// The host's mandatory access control and firewall, as far as the proxy cares: SELinux's mode
// (Fedora enforces by default: nginx may then not connect to the bucket, a 502 for every file,
// unless httpd_can_network_connect is on) and whether firewalld runs (Fedora's blocks http/https:
// certbot's HTTP-01 challenge and the proxy are unreachable until they are opened).
// Read without starting any tool: /sys/fs/selinux/enforce (the kernel's selinuxfs: "1" enforcing,
// "0" permissive; absent when SELinux is off), and systemd's view of firewalld.service.
import { defineFact, keyValues } from '../fact.js';

export interface SecurityFacts {
  selinux: 'enforcing' | 'permissive' | 'disabled';
  firewalld: boolean;
}

const none: SecurityFacts = { selinux: 'disabled', firewalld: false };

export default defineFact<SecurityFacts>({
  sections: {
    security: [
      `if [ -r "$r/sys/fs/selinux/enforce" ]; then printf 'selinux_enforce=%s\\n' "$(cat "$r/sys/fs/selinux/enforce" 2>/dev/null)"; fi`,
      `if command -v systemctl >/dev/null 2>&1; then printf 'firewalld=%s\\n' "$(systemctl is-active firewalld 2>/dev/null)"; fi`,
    ].join('\n'),
  },
  parse: (s) => {
    const v = keyValues(s.get('security'));
    const e = v.selinux_enforce;
    return { selinux: e === '1' ? 'enforcing' : e === '0' ? 'permissive' : 'disabled', firewalld: v.firewalld === 'active' };
  },
  placeholder: none,
  fixtures: { fedora36: { selinux: 'enforcing', firewalld: true }, debian11: none, ubuntu2204: none },
});
