// proxy_layout: a read-only guard. Once files are served (and federated) under one layout's URLs,
// switching to another would break them, so a host that already has another layout is refused
// unless `force` is set. Layout C (files) also refuses a /files location the admin wrote by hand.
// It never changes anything itself.
import { TaskError } from '../src/errors.js';
import { bool, oneOf, params, path, str } from '../src/params-spec.js';
import { defineTask, type FileState } from '../src/task.js';
import { FILES_BLOCK_ID, LAYOUT_A_MARK, handWrittenFilesLocations, hasManagedBlock } from './lib/nginx-conf.js';

export type Layout = 'subdomain' | 'directory' | 'files';

const spec = params({
  layout: oneOf(['subdomain', 'directory', 'files'] as const).doc('the layout this run is for'),
  subdomain_vhost: path().doc('the vhost file of layout A'),
  misskey_vhost: path().doc('the Misskey vhost that layout B adds a block to'),
  block_id: str().doc("layout B's block id"),
  force: bool().optional().doc('allow the switch (URLs of the other layout stop working)'),
  prefix: str()
    .optional()
    .doc("the drive prefix: in layout B it becomes a location of the Misskey vhost, so it must not be one of Misskey's own routes; in layout C it is files"),
  base_url: str().optional().doc('the drive baseUrl this run sets (layout C: must be the instance URL)'),
  instance_url: str().optional().doc("the instance's own URL, https://<domain> (layout C)"),
  retire: bool().optional().doc('the drive is (being) retired to local disk: layouts A and B only'),
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
  if (layout === 'files')
    return prefix === 'files'
      ? null
      : `s3_prefix must be 'files' in layout C (proxy_layout: files): its URLs are https://<domain>/files/<key>, the path Misskey serves its local files under; got ${JSON.stringify(prefix)}`;
  if (!/^[a-zA-Z0-9._-]+$/.test(prefix) || prefix === '.' || prefix === '..')
    return `s3_prefix must be one path segment (letters, digits, . _ -), not empty and without '/': got ${JSON.stringify(prefix)}`;
  if (layout === 'directory' && MISSKEY_ROUTES.includes(prefix.toLowerCase()))
    return `s3_prefix '${prefix}' is one of Misskey's own routes (https://<domain>/${prefix}/...): in layout B the proxy would take it over; pick another, e.g. 'storage'`;
  return null;
}

export function currentLayout(vhostA: FileState, misskeyVhost: FileState, blockId: string): Layout[] {
  const found: Layout[] = [];
  if (vhostA.exists && (vhostA.content ?? '').includes(LAYOUT_A_MARK)) found.push('subdomain');
  if (misskeyVhost.exists && hasManagedBlock(misskeyVhost.content ?? '', blockId)) found.push('directory');
  if (misskeyVhost.exists && hasManagedBlock(misskeyVhost.content ?? '', FILES_BLOCK_ID)) found.push('files');
  return found;
}

export default defineTask({
  name: 'proxy_layout',
  doc: 'Refuse to switch a host between proxy layouts (subdomain/directory/files) unless forced',
  params: spec,
  example:
    '- proxy_layout: { layout: subdomain, subdomain_vhost: /etc/nginx/sites-available/s3.conf, misskey_vhost: /etc/nginx/sites-available/misskey.conf, block_id: s3-proxy }',
  validate: (p) => {
    const out: { param: string; message: string }[] = [];
    if (p.retire && p.layout === 'files')
      out.push({
        param: 'retire',
        message:
          "layout C (proxy_layout: files) cannot be retired by mskplay: its URLs are Misskey's own /files, which Misskey serves from its disk once object storage is off; retire is for layouts A (subdomain) and B (directory)",
      });
    const why = prefixProblem(p.layout, p.prefix);
    if (why) out.push({ param: 'prefix', message: why });
    if (
      p.layout === 'files' &&
      p.base_url !== undefined &&
      p.instance_url !== undefined &&
      p.base_url.replace(/\/+$/, '') !== p.instance_url.replace(/\/+$/, '')
    )
      out.push({
        param: 'base_url',
        message: `layout C (proxy_layout: files) serves the drive under the instance's own /files, so the drive baseUrl must be the instance URL ${p.instance_url}: got ${p.base_url}`,
      });
    return out;
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
    if (p.layout === 'files') {
      const mine = b as FileState;
      const hand = mine.exists ? handWrittenFilesLocations(mine.content ?? '') : [];
      if (hand.length)
        throw new TaskError(
          `${p.misskey_vhost} already has a /files location of its own (${hand.map((h) => `line ${h.line}: ${h.text}`).join('; ')}); layout C would take /files over from it, and mskplay never edits the admin's lines`,
          'remove or rename that location by hand (Misskey serves /files itself through location /), or use proxy_layout directory',
        );
    }
    return { action: 'ok', msg: found.length ? `layout ${found.join('+')}` : 'no layout yet' };
  },
  apply: async () => ({ changed: false }),
});
