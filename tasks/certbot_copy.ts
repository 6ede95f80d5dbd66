// certbot_copy: the certificate of an instance's proxy name on a proxy host that does not obtain it
// itself. One proxy host (acme_issuer) runs certbot for the name and hands the certificate and key
// over in memory (certbot with `share`, in an earlier play); this task writes them here, at the
// paths certbot uses (the vhost is the same on every proxy host): fullchain.pem 0644 and
// privkey.pem 0600, both root's, as plain files. Only one certbot lineage exists for the name, so
// one host renews it (its certbot timer) and the next run brings the others the new one.
//
// When the issuer is not in this run (--limit) or did not get there (failed, unreachable), a valid
// copy here is kept (ok, saying why it was not compared); without one, the task fails.
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { int, params, str, type Infer } from '../src/params-spec.js';
import { defineTask, type CmdState, type FileState } from '../src/task.js';
import { certShareKey, keyPath, livePath, renewalConf } from './certbot.js';
import { compareFile, describeChange, writeFileAtomic, type DesiredFile } from './lib/files.js';

const spec = params({
  domain: str({ pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+$' }).doc('the name the certificate is for'),
  from: str({ minLength: 1 }).doc('the inventory name of the proxy host that obtains it (certbot with share: true)'),
  renew_before_days: int({ minimum: 1 }).default(30).doc('a kept copy (the issuer not in the run) must be valid this much longer'),
});
type Params = Infer<typeof spec>;

interface Data {
  files: DesiredFile[];
}

export default defineTask<Params, Data>({
  name: 'certbot_copy',
  doc: "Write the certificate and key another proxy host of the instance obtained (certbot's paths; key 0600)",
  params: spec,
  example: '- certbot_copy: { domain: s3.example.social, from: media1 }',
  probes: (p) => [
    { kind: 'file', path: livePath(p.domain) },
    { kind: 'file', path: keyPath(p.domain) },
    { kind: 'file', path: renewalConf(p.domain), maxBytes: 0 },
    { kind: 'cmd', cmd: sh`openssl x509 -checkend ${String((p.renew_before_days ?? 30) * 86400)} -noout -in ${livePath(p.domain)}` },
  ],
  plan: (ctx, p, results) => {
    const [cert, key, renewal, valid] = results as [FileState, FileState, FileState, CmdState];
    // A lineage of its own would renew here too, and our copy would write over certbot's symlinks.
    if (renewal.exists)
      throw new TaskError(
        `${ctx.host} has its own certbot lineage for ${p.domain} (${renewalConf(p.domain)}), while ${p.from} obtains the certificate for the instance: remove it here with \`certbot delete --cert-name ${p.domain}\`, or make ${ctx.host} the acme_issuer`,
      );
    const got = ctx.shared(p.from, certShareKey(p.domain));
    if ('pending' in got) return { action: 'change', summary: `copy the certificate for ${p.domain} that ${p.from} would obtain`, data: { files: [] } };
    const desired = (fullchain: string, privkey: string): DesiredFile[] => [
      { path: livePath(p.domain), content: fullchain, owner: 'root', group: 'root', mode: '0644' },
      { path: keyPath(p.domain), content: privkey, owner: 'root', group: 'root', mode: '0600' },
    ];
    // A symlink (a lineage that was deleted, its links left) is replaced by the file.
    const changesTo = (files: DesiredFile[]) =>
      files.flatMap((f, i) => {
        const have = [cert, key][i]!;
        const c = compareFile(f, have.type === 'link' ? { kind: 'file', exists: false } : have);
        return c ? [describeChange(f.path, c)] : [];
      });
    if ('missing' in got) {
      const kept = cert.type === 'file' && key.type === 'file' && cert.content !== undefined && key.content !== undefined && valid.code === 0;
      if (!kept) throw new TaskError(`no valid certificate for ${p.domain} here, and none from ${p.from} to copy: ${got.missing}`);
      // Its content cannot be compared, its owner and modes can (a key left readable is drift).
      const files = desired(cert.content!, key.content!);
      const changes = changesTo(files);
      if (!changes.length) return { action: 'ok', msg: `kept the valid copy here, not compared with ${p.from}'s: ${got.missing}` };
      return { action: 'change', summary: `${changes.join('; ')} (content not compared with ${p.from}'s: ${got.missing})`, data: { files } };
    }
    const files = desired(got.values.fullchain ?? '', got.values.privkey ?? '');
    const changes = changesTo(files);
    if (!changes.length) return { action: 'ok', msg: `the same certificate as ${p.from}'s` };
    // No diffs: the key must not show, and a certificate's base64 says nothing to a reader.
    return { action: 'change', summary: `copy the certificate from ${p.from}: ${changes.join('; ')}`, data: { files } };
  },
  apply: async (ctx, p, change) => {
    await ctx.run({ cmd: sh`umask 077 && mkdir -p -- ${`/etc/letsencrypt/live/${p.domain}`}`, what: 'making the certificate directory' });
    // nginx reads both at its next reload (the handler), after both are written.
    for (const f of change.data.files) await writeFileAtomic(ctx.conn, f);
    return { changed: true };
  },
});
