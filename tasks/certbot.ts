// certbot: a certificate for the proxy name, obtained with certbot's nginx plugin
// (`certbot certonly --nginx`), and only when no valid one is there (a cheap openssl check first:
// certbot itself is not byte-idempotent). `certonly` leaves our managed vhost alone; the vhost
// template points at /etc/letsencrypt/live/<name>/. Renewals reload nginx through a deploy hook.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { bool, int, params, str, type Infer } from '../src/params-spec.js';
import { defineTask, type CmdState } from '../src/task.js';

const spec = params({
  domain: str({ pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+$' }).doc('the name the certificate is for'),
  email: str({ pattern: '^$|^[^@\\s]+@[^@\\s]+$' }).optional().doc('ACME account email; empty: register without one'),
  server: str({ pattern: '^$|^https://' }).optional().doc("ACME directory URL; empty: certbot's default CA"),
  renew_before_days: int({ minimum: 1 }).default(30).doc('obtain a new one when the current one expires sooner'),
  check_dns: bool().default(true).doc('refuse before certbot when the name does not resolve to this host'),
});
type Params = Infer<typeof spec>;

export const livePath = (domain: string) => `/etc/letsencrypt/live/${domain}/fullchain.pem`;

export function certbotCommand(p: Pick<Params, 'domain' | 'email' | 'server'>): string {
  const args = [
    'certonly',
    '--nginx',
    '-d',
    p.domain,
    '--non-interactive',
    '--agree-tos',
    '--keep-until-expiring',
    '--no-random-sleep-on-renew',
    '--deploy-hook',
    'systemctl reload nginx',
  ];
  args.push(...(p.email ? ['-m', p.email] : ['--register-unsafely-without-email']));
  if (p.server) args.push('--server', p.server);
  return sh`certbot ${args}`;
}

export default defineTask({
  name: 'certbot',
  doc: "Obtain a certificate with certbot's nginx plugin unless a valid one exists",
  params: spec,
  example: '- certbot: { domain: s3.example.social, email: admin@example.social }',
  probes: (p) => [
    {
      kind: 'cmd',
      cmd: sh`test -s ${livePath(p.domain)} && openssl x509 -checkend ${String((p.renew_before_days ?? 30) * 86400)} -noout -in ${livePath(p.domain)}`,
    },
    { kind: 'cmd', cmd: sh`getent ahosts ${p.domain} | awk '{print $1}' | sort -u` },
  ],
  plan: (ctx, p, [cert, dns]) => {
    if ((cert as CmdState).code === 0) return { action: 'ok', msg: `valid certificate for ${p.domain}` };
    if (p.check_dns !== false) {
      const resolved = (dns as CmdState).stdout
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
      if (!resolved.length)
        throw new TaskError(`${p.domain} does not resolve: create its DNS A/AAAA record pointing at this host before asking for a certificate`);
      if (!resolved.some((a) => ctx.facts.addresses.includes(a))) {
        throw new TaskError(
          `${p.domain} resolves to ${resolved.join(', ')}, not to this host (${ctx.facts.addresses.join(', ')}): fix its DNS record first, or the ACME challenge fails`,
        );
      }
    }
    return { action: 'change', summary: `obtain a certificate for ${p.domain}`, steps: [{ cmd: certbotCommand(p), what: `certbot for ${p.domain}` }] };
  },
});
