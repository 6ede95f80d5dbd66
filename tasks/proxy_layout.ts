// proxy_layout: a read-only guard. Once files are served (and federated) under one layout's URLs,
// switching to the other would break them, so a host that already has the other layout is refused
// unless `force` is set. It never changes anything itself.
import { TaskError } from '../src/errors.js';
import { defineTask, type FileState } from '../src/task.js';
import { hasManagedBlock } from './lib/nginx-conf.js';

interface Params {
  layout: 'subdomain' | 'directory';
  subdomain_vhost: string;
  misskey_vhost: string;
  block_id: string;
  force?: boolean;
}

export function currentLayout(vhostA: FileState, misskeyVhost: FileState, blockId: string): ('subdomain' | 'directory')[] {
  const found: ('subdomain' | 'directory')[] = [];
  if (vhostA.exists && (vhostA.content ?? '').includes('Managed by mskplay')) found.push('subdomain');
  if (misskeyVhost.exists && hasManagedBlock(misskeyVhost.content ?? '', blockId)) found.push('directory');
  return found;
}

export default defineTask<Params>({
  name: 'proxy_layout',
  doc: 'Refuse to switch a host between proxy layouts (subdomain/directory) unless forced',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['layout', 'subdomain_vhost', 'misskey_vhost', 'block_id'],
    properties: {
      layout: { enum: ['subdomain', 'directory'] },
      subdomain_vhost: { type: 'string', pattern: '^/' },
      misskey_vhost: { type: 'string', pattern: '^/' },
      block_id: { type: 'string' },
      force: { type: 'boolean' },
    },
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
