// s3cmd_config: s3cmd's config file written without `s3cmd --configure`: keys, endpoint,
// virtual-host-style bucket addressing, HTTPS. Mode 0600, owned by the user who runs s3cmd.
import { defineTask } from '../src/task.js';
import { applyContentFile, planContentFile, type ContentFileData } from './lib/content-file.js';
import { bool, params, path, str, type Infer } from '../src/params-spec.js';

const spec = params({
  path: path().doc('where s3cmd reads it (s3cmd --config)'),
  owner: str({ minLength: 1 }).doc('the user who runs s3cmd'),
  access_key: str({ minLength: 1, pattern: '^[^\\s]+$' }).secret(),
  secret_key: str({ minLength: 1, pattern: '^[^\\s]+$' }).secret(),
  endpoint: str({ pattern: '^[a-zA-Z0-9.-]+(:[0-9]{1,5})?$' }).doc('host[:port], no scheme'),
  use_https: bool().optional().doc('default true'),
  bucket_location: str({ pattern: '^[a-zA-Z0-9-]+$' }).optional().doc('default us-east-1'),
  path_style: bool().optional().doc('path-style addressing (endpoint/bucket): for bucket names with dots on HTTPS'),
});
type Params = Infer<typeof spec>;

export function renderS3cfg(p: Params): string {
  return [
    '# Managed by mskplay (s3cmd_config). Holds a secret key: keep it mode 0600.',
    '[default]',
    `access_key = ${p.access_key}`,
    `secret_key = ${p.secret_key}`,
    `host_base = ${p.endpoint}`,
    // s3cmd addresses path-style when host_bucket has no %(bucket)s in it.
    `host_bucket = ${p.path_style ? p.endpoint : `%(bucket)s.${p.endpoint}`}`,
    `bucket_location = ${p.bucket_location ?? 'us-east-1'}`,
    `use_https = ${p.use_https === false ? 'False' : 'True'}`,
    'check_ssl_certificate = True',
    'signature_v2 = False',
    '',
  ].join('\n');
}

export default defineTask<Params, ContentFileData>({
  name: 's3cmd_config',
  doc: "Write s3cmd's config (keys, endpoint, virtual-host or path-style addressing, HTTPS), mode 0600",
  params: spec,
  example:
    '- s3cmd_config: { path: /root/.s3cfg, owner: root, access_key: "{{ s3_access_key }}", secret_key: "{{ s3_secret_key }}", endpoint: ewr1.vultrobjects.com }',
  probes: (p) => [{ kind: 'file', path: p.path }],
  plan: (_ctx, p, r) => planContentFile({ dest: p.path, owner: p.owner, mode: '0600' }, renderS3cfg(p), r),
  apply: (ctx, p, plan) => applyContentFile(ctx, { dest: p.path, owner: p.owner, mode: '0600' }, plan),
});
