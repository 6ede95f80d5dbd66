// certbot: a certificate for the proxy name, obtained with certbot's nginx plugin
// (`certbot certonly --nginx`), and only when no valid one is there (a cheap openssl check first:
// certbot itself is not byte-idempotent). `certonly` leaves our managed vhost alone; the vhost
// template points at /etc/letsencrypt/live/<name>/. Renewals reload nginx through a deploy hook.
// With `share` (an instance with several proxy hosts, this one obtaining for all): the certificate
// and key are handed to the others in memory (certbot_copy writes them there), and the name may
// resolve to them: they forward the ACME challenges here.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { bool, int, params, str, type Infer } from '../src/params-spec.js';
import { defineTask, type CmdState, type FileState, type Share } from '../src/task.js';

const spec = params({
  domain: str({ pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+$' }).doc('the name the certificate is for'),
  email: str({ pattern: '^$|^[^@\\s]+@[^@\\s]+$' }).optional().doc('ACME account email; empty: register without one'),
  server: str({ pattern: '^$|^https://' }).optional().doc("ACME directory URL; empty: certbot's default CA"),
  renew_before_days: int({ minimum: 1 }).default(30).doc('obtain a new one when the current one expires sooner'),
  check_dns: bool().default(true).doc('refuse before certbot when the name does not resolve to this host'),
  share: bool()
    .default(false)
    .doc(
      "hand the certificate and key to the instance's other proxy hosts (in memory, for certbot_copy); the name may then resolve to them instead, as they forward ACME challenges here",
    ),
});
type Params = Infer<typeof spec>;

export const livePath = (domain: string) => `/etc/letsencrypt/live/${domain}/fullchain.pem`;
export const keyPath = (domain: string) => `/etc/letsencrypt/live/${domain}/privkey.pem`;
export const renewalConf = (domain: string) => `/etc/letsencrypt/renewal/${domain}.conf`;
/** The key a certificate is shared under between the proxy hosts of an instance. */
export const certShareKey = (domain: string) => `certificate ${domain}`;

/** cat of the certificate and key (through certbot's symlinks); one command for the plan's probe and after apply. */
const readBoth = (domain: string) => sh`cat -- ${livePath(domain)} && printf '\\n%s\\n' ${SEP} && cat -- ${keyPath(domain)}`;
const SEP = '--mskplay: key follows--';
function shareOf(domain: string, out: string): Share | undefined {
  const i = out.indexOf(`\n${SEP}\n`);
  if (i < 0) return undefined;
  return { key: certShareKey(domain), values: { fullchain: out.slice(0, i), privkey: out.slice(i + SEP.length + 2) } };
}

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
      // 0: valid long enough, 1: expires sooner, 2: none.
      cmd: sh`test -s ${livePath(p.domain)} || exit 2; openssl x509 -checkend ${String((p.renew_before_days ?? 30) * 86400)} -noout -in ${livePath(p.domain)}`,
    },
    { kind: 'cmd', cmd: sh`getent ahosts ${p.domain} | awk '{print $1}' | sort -u` },
    { kind: 'file', path: renewalConf(p.domain), maxBytes: 0 },
    // The key only when it is handed on: otherwise it never leaves the host.
    ...(p.share ? [{ kind: 'cmd' as const, cmd: readBoth(p.domain) }] : []),
  ],
  plan: (ctx, p, [cert, dns, renewal, both]) => {
    if ((cert as CmdState).code === 0) {
      const share = p.share ? shareOf(p.domain, (both as CmdState).stdout) : undefined;
      if (p.share && !share)
        throw new TaskError(`the certificate of ${p.domain} is valid but its files could not be read to hand them on: ${(both as CmdState).stderr.trim()}`);
      return { action: 'ok', msg: `valid certificate for ${p.domain}${share ? ' (handed to the other proxy hosts)' : ''}`, share };
    }
    // A certificate there that certbot does not manage (a copy from the instance's issuer, or one put
    // there by hand): certbot would make <name>-0001 beside it, which the vhost does not use.
    if ((renewal as FileState).exists === false && (cert as CmdState).code === 1)
      throw new TaskError(
        `/etc/letsencrypt/live/${p.domain} holds a certificate certbot does not manage (no ${renewalConf(p.domain)}): certbot would make ${p.domain}-0001 beside it, which the vhost does not use; move that directory away (it may be a copy from another proxy host), or renew it yourself`,
      );
    if (p.share && p.check_dns !== false) {
      // The other proxy hosts forward the challenge here: the name must resolve, to any of them.
      if (!(dns as CmdState).stdout.trim())
        throw new TaskError(`${p.domain} does not resolve: create its DNS records (the instance's proxy hosts) before asking for a certificate`);
    } else if (p.check_dns !== false) {
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
    return {
      action: 'change',
      summary: `obtain a certificate for ${p.domain}`,
      steps: [{ cmd: certbotCommand(p), what: `certbot for ${p.domain}` }],
      ...(p.share ? { share: { key: certShareKey(p.domain) } } : {}),
    };
  },
  apply: async (ctx, p, change) => {
    for (const s of change.steps ?? []) await ctx.run(s);
    if (!p.share) return { changed: true };
    const r = await ctx.conn.exec(readBoth(p.domain));
    const share = r.code === 0 ? shareOf(p.domain, r.stdout) : undefined;
    if (!share) throw new TaskError(`certbot got the certificate for ${p.domain} but its files could not be read to hand them on: ${r.stderr.trim()}`);
    return { changed: true, share };
  },
});
