// The host's own addresses (certbot checks its name points here) and nameservers (nginx's resolver).
import { defineFact } from '../fact.js';

export interface NetworkFacts {
  /** IPv4/IPv6 addresses of the host's interfaces (without loopback and link-local). */
  addresses: string[];
  /** Nameservers from /etc/resolv.conf (the default resolver for nginx's proxy_pass by name). */
  nameservers: string[];
  /** The host has a global IPv6 address (else nginx's resolver is told ipv6=off). */
  ipv6: boolean;
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
      for (const a of line.slice('hostname-I='.length).split(/\s+/)) if (a && !/^127\./.test(a) && a !== '::1' && !/^fe80:/i.test(a)) out.push(a);
  }
  return [...new Set(out)];
}

const fixture: NetworkFacts = { addresses: ['192.0.2.10'], nameservers: ['127.0.0.53'], ipv6: false };

export default defineFact<NetworkFacts>({
  sections: {
    addresses: `if command -v ip >/dev/null 2>&1; then ip -o addr show 2>/dev/null\nelse printf 'hostname-I=%s\\n' "$(hostname -I 2>/dev/null)"; fi`,
    resolv: `if [ -r "$r/etc/resolv.conf" ]; then sed -n -e 's/^[[:space:]]*nameserver[[:space:]][[:space:]]*\\([^[:space:]#]*\\).*/\\1/p' "$r/etc/resolv.conf"; fi`,
  },
  parse: (s) => {
    const addresses = parseAddresses(s.get('addresses'));
    return { addresses, nameservers: (s.get('resolv') ?? []).map((l) => l.trim()).filter(Boolean), ipv6: addresses.some((a) => a.includes(':')) };
  },
  placeholder: { addresses: ['192.0.2.1'], nameservers: ['192.0.2.53'], ipv6: false },
  fixtures: { fedora36: fixture, debian11: fixture, ubuntu2204: fixture },
});
