// proxy_layout: a read-only guard. Once files are served (and federated) under one layout's URLs,
// switching to the other would break them, so a host that already has the other layout is refused
// unless `force` is set. It never changes anything itself.
import { TaskError } from '../src/errors.js';
import { bool, oneOf, params, path, str } from '../src/params-spec.js';
import { defineTask, type FileState } from '../src/task.js';
import { LAYOUT_A_MARK, hasManagedBlock } from './lib/nginx-conf.js';

const spec = params({
  layout: oneOf(['subdomain', 'directory'] as const).doc('the layout this run is for'),
  subdomain_vhost: path().doc('the vhost file of layout A'),
  misskey_vhost: path().doc('the Misskey vhost that layout B adds a block to'),
  block_id: str().doc("layout B's block id"),
  force: bool().optional().doc('allow the switch (URLs of the other layout stop working)'),
  prefix: str().optional().doc("the drive prefix: in layout B it becomes a location of the Misskey vhost, so it must not be one of Misskey's own routes"),
});

/**
 * Top-level paths Misskey itself serves (its server and web routes: v12
 * packages/backend/src/server/index.ts and server/web/index.ts; v10/v11 src/server/ the same).
 * A layout B location /<prefix>/ would take them over.
 */
export const MISSKEY_ROUTES = [
  'api',
  'files',
  'assets',
  'static-assets',
  'client-assets',
  'proxy',
  'avatar',
  'identicon',
  'url',
  'streaming',
  'nodeinfo',
  'users',
  'notes',
  'emojis',
  'emoji',
  'twemoji',
  'well-known',
  '.well-known',
  'auth',
  'miauth',
  'docs',
  'manifest.json',
  'robots.txt',
  'favicon.ico',
  'sw.js',
];

/** A prefix the proxy can serve: one path segment, not empty, no slash; in layout B none of Misskey's routes. */
export function prefixProblem(layout: string, prefix: string | undefined): string | null {
  if (prefix === undefined) return null;
  if (!/^[a-zA-Z0-9._-]+$/.test(prefix) || prefix === '.' || prefix === '..')
    return `s3_prefix must be one path segment (letters, digits, . _ -), not empty and without '/': got ${JSON.stringify(prefix)}`;
  if (layout === 'directory' && MISSKEY_ROUTES.includes(prefix.toLowerCase()))
    return `s3_prefix '${prefix}' is one of Misskey's own routes (https://<domain>/${prefix}/...): in layout B the proxy would take it over; pick another, e.g. 'storage'`;
  return null;
}

export function currentLayout(vhostA: FileState, misskeyVhost: FileState, blockId: string): ('subdomain' | 'directory')[] {
  const found: ('subdomain' | 'directory')[] = [];
  if (vhostA.exists && (vhostA.content ?? '').includes(LAYOUT_A_MARK)) found.push('subdomain');
  if (misskeyVhost.exists && hasManagedBlock(misskeyVhost.content ?? '', blockId)) found.push('directory');
  return found;
}

export default defineTask({
  name: 'proxy_layout',
  doc: 'Refuse to switch a host between proxy layouts (subdomain/directory) unless forced',
  params: spec,
  example:
    '- proxy_layout: { layout: subdomain, subdomain_vhost: /etc/nginx/sites-available/s3.conf, misskey_vhost: /etc/nginx/sites-available/misskey.conf, block_id: s3-proxy }',
  validate: (p) => {
    const why = prefixProblem(p.layout, p.prefix);
    return why ? [{ param: 'prefix', message: why }] : [];
  },
  probes: (p) => [
    { kind: 'file', path: p.subdomain_vhost },
    { kind: 'file', path: p.misskey_vhost },
  ],
  plan: (_ctx, p, [a, b]) => {
    const found = currentLayout(a as FileState, b as FileState, p.block_id);
    const other = found.filter((l) => l !== p.layout);
    if (other.length && !p.force) {
      const where = other[0] === 'subdomain' ? p.subdomain_vhost : `a managed block in ${p.misskey_vhost}`;
      throw new TaskError(
        `this host already serves drive files through the '${other[0]}' layout (${where}); switching to '${p.layout}' changes the file URLs that other servers have already federated`,
        'to switch anyway, run with -e proxy_layout_force=true (and keep the old URLs working yourself)',
      );
    }
    return { action: 'ok', msg: found.length ? `layout ${found.join('+')}` : 'no layout yet' };
  },
  apply: async () => ({ changed: false }),
});
