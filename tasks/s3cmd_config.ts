// s3cmd_config: s3cmd's config file written without `s3cmd --configure`: keys, endpoint,
// virtual-host-style bucket addressing, HTTPS. Mode 0600, owned by the user who runs s3cmd.
import { defineTask } from '../src/task.js';
import { applyContentFile, planContentFile } from './lib/content-file.js';

interface Params {
  path: string;
  owner: string;
  access_key: string;
  secret_key: string;
  endpoint: string;
  use_https?: boolean;
  bucket_location?: string;
  path_style?: boolean;
}

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

export default defineTask<Params>({
  name: 's3cmd_config',
  doc: "Write s3cmd's config (keys, endpoint, virtual-host or path-style addressing, HTTPS), mode 0600",
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'owner', 'access_key', 'secret_key', 'endpoint'],
    properties: {
      path: { type: 'string', pattern: '^/' },
      owner: { type: 'string', minLength: 1 },
      access_key: { type: 'string', minLength: 1, pattern: '^[^\\s]+$', secret: true },
      secret_key: { type: 'string', minLength: 1, pattern: '^[^\\s]+$', secret: true },
      endpoint: { type: 'string', pattern: '^[a-zA-Z0-9.-]+(:[0-9]{1,5})?$', description: 'host[:port], no scheme' },
      use_https: { type: 'boolean' },
      bucket_location: { type: 'string', pattern: '^[a-zA-Z0-9-]+$' },
      path_style: { type: 'boolean', description: 'path-style addressing (endpoint/bucket): for bucket names with dots on HTTPS' },
    },
  },
  probes: (p) => [{ kind: 'file', path: p.path }],
  plan: (_ctx, p, r) => planContentFile({ dest: p.path, owner: p.owner, mode: '0600' }, renderS3cfg(p), r),
  apply: (ctx, p, plan) => applyContentFile(ctx, { dest: p.path, owner: p.owner, mode: '0600' }, plan),
});
