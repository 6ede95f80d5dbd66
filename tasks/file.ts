// file: a directory (owner/group/mode), a symlink, or nothing at a path (Ansible's file module).
import { TaskError } from '../src/errors.js';
import { sh } from '../src/connection/quote.js';
import { defineTask, type FileState } from '../src/task.js';
import { oneOf, params, str, type Infer } from '../src/params-spec.js';
import { metaShape, normMode, recordForRollback, setMeta } from './lib/files.js';

const spec = params({
  path: str({ pattern: '^/.' }).doc('absolute path'),
  state: oneOf(['directory', 'link', 'absent'] as const),
  src: str({ minLength: 1 }).optional().doc('link target (state: link)'),
  ...metaShape,
});

interface Data {
  create: boolean;
  before: FileState;
}

export default defineTask<Infer<typeof spec>, Data>({
  name: 'file',
  doc: 'Ensure a directory (owner/group/mode), a symlink (src -> path) or that nothing is at path',
  params: spec,
  example: '- file: { path: /var/cache/nginx/proxy_cache_images, state: directory, owner: www-data, mode: "0700" }',
  validate: (p) => (p.state === 'link' && !p.src ? [{ param: 'src', message: 'state: link needs src (the link target)' }] : []),
  probes: (p) => [{ kind: 'file', path: p.path, maxBytes: 0 }],
  plan: (_ctx, p, [r]) => {
    const have = r as FileState;
    const meta: string[] = [];
    if (p.state === 'absent') return have.exists ? { action: 'change', summary: `remove ${p.path}`, data: { create: false, before: have } } : { action: 'ok' };
    if (p.state === 'link') {
      if (have.exists && have.type !== 'link') throw new TaskError(`${p.path} exists and is a ${have.type}, not a symlink; remove it first`);
      if (have.exists && have.linkTarget === p.src) return { action: 'ok' };
      return {
        action: 'change',
        summary: have.exists ? `relink ${p.path} -> ${p.src} (was -> ${have.linkTarget})` : `link ${p.path} -> ${p.src}`,
        links: [{ path: p.path, target: p.src! }],
        data: { create: true, before: have },
      };
    }
    if (have.exists && have.type !== 'dir') throw new TaskError(`${p.path} exists and is a ${have.type}, not a directory`);
    if (!have.exists) return { action: 'change', summary: `create directory ${p.path}`, dirs: [p.path], data: { create: true, before: have } };
    if (p.owner && have.owner !== p.owner) meta.push(`owner ${have.owner} -> ${p.owner}`);
    if (p.group && have.group !== p.group) meta.push(`group ${have.group} -> ${p.group}`);
    if (p.mode && normMode(have.mode) !== normMode(p.mode)) meta.push(`mode ${normMode(have.mode)} -> ${normMode(p.mode)}`);
    return meta.length ? { action: 'change', summary: `${p.path}: ${meta.join(', ')}`, data: { create: false, before: have } } : { action: 'ok' };
  },
  apply: async (ctx, p, plan) => {
    const { conn } = ctx;
    const run = (cmd: string) => ctx.run({ cmd, what: `${p.state} ${p.path}` });
    if (p.state === 'absent') await run(sh`rm -rf -- ${p.path}`);
    else if (p.state === 'link') {
      recordForRollback(ctx.state, p.rollback_group, p.path, plan.data.before);
      // ln -sfn + rename of a temp link: the path is never missing in between.
      await run(sh`tmp=${p.path}.mskplay-tmp && ln -sfn -- ${p.src!} "$tmp" && mv -Tf -- "$tmp" ${p.path}`);
      if (p.owner || p.group) await setMeta(conn, p.path, p, false);
    } else {
      if (plan.data.create) await run(sh`mkdir -p -- ${p.path}`);
      await setMeta(conn, p.path, p);
    }
    return { changed: true };
  },
});
