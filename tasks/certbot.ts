// certbot: a certificate for the proxy name, obtained with certbot's nginx plugin
// (`certbot certonly --nginx`), and only when no valid one is there (a cheap openssl check first:
// certbot itself is not byte-idempotent). `certonly` leaves our managed vhost alone; the vhost
// template points at /etc/letsencrypt/live/<name>/. Renewals reload nginx through a deploy hook.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type CmdState } from '../src/task.js';

interface Params {
  domain: string;
  email?: string;
  server?: string;
  renew_before_days?: number;
  check_dns?: boolean;
}

export const livePath = (domain: string) => `/etc/letsencrypt/live/${domain}/fullchain.pem`;

export function certbotCommand(p: Params): string {
  const args = ['certonly', '--nginx', '-d', p.domain, '--non-interactive', '--agree-tos', '--keep-until-expiring', '--no-random-sleep-on-renew', '--deploy-hook', 'systemctl reload nginx'];
  args.push(...(p.email ? ['-m', p.email] : ['--register-unsafely-without-email']));
  if (p.server) args.push('--server', p.server);
  return sh`certbot ${args}`;
}

export default defineTask<Params>({
  name: 'certbot',
  doc: "Obtain a certificate with certbot's nginx plugin unless a valid one exists",
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['domain'],
    properties: {
      domain: { type: 'string', pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+$' },
      email: { type: 'string', pattern: '^$|^[^@\\s]+@[^@\\s]+$', description: 'ACME account email; empty: register without one' },
      server: { type: 'string', pattern: '^$|^https://', description: "ACME directory URL; empty: certbot's default CA" },
      renew_before_days: { type: 'integer', minimum: 1, default: 30 },
      check_dns: { type: 'boolean', default: true },
    },
  },
  probes: (p) => [
    { kind: 'cmd', cmd: sh`test -s ${livePath(p.domain)} && openssl x509 -checkend ${String((p.renew_before_days ?? 30) * 86400)} -noout -in ${livePath(p.domain)}` },
    { kind: 'cmd', cmd: sh`getent ahosts ${p.domain} | awk '{print $1}' | sort -u` },
  ],
  plan: (ctx, p, [cert, dns]) => {
    if ((cert as CmdState).code === 0) return { action: 'ok', msg: `valid certificate for ${p.domain}` };
    if (p.check_dns !== false) {
      const resolved = (dns as CmdState).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      if (!resolved.length) throw new TaskError(`${p.domain} does not resolve: create its DNS A/AAAA record pointing at this host before asking for a certificate`);
      if (!resolved.some((a) => ctx.facts.addresses.includes(a))) {
        throw new TaskError(`${p.domain} resolves to ${resolved.join(', ')}, not to this host (${ctx.facts.addresses.join(', ')}): fix its DNS record first, or the ACME challenge fails`);
      }
    }
    return { action: 'change', summary: `obtain a certificate for ${p.domain}` };
  },
  apply: async (ctx, p) => {
    const r = await ctx.conn.exec(certbotCommand(p));
    if (r.code !== 0) throw new TaskError(`certbot failed for ${p.domain} (exit ${r.code})`, (r.stderr || r.stdout).trim().split('\n').slice(-12).join('\n'));
    return { changed: true };
  },
});
