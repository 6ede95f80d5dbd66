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
});

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
