// template: render templates/<src> (Jinja-like; an undefined variable is an error) into dest.
import { TaskError } from '../src/errors.js';
import { params, str, type Infer } from '../src/params-spec.js';
import { defineTask } from '../src/task.js';
import { contentFileShape } from './lib/files.js';
import { applyContentFile, planContentFile, type ContentFileData } from './lib/content-file.js';

const spec = params({ src: str({ minLength: 1 }).doc('file name under templates/'), ...contentFileShape });

export default defineTask<Infer<typeof spec>, ContentFileData>({
  name: 'template',
  doc: 'Render a template from templates/ into a file, atomically (owner, mode, backup, validate)',
  params: spec,
  example: '- template: { src: nginx/s3-subdomain.conf.j2, dest: /etc/nginx/sites-available/s3.conf, mode: "0644", rollback_group: nginx }',
  templateFiles: (p) => [p.src],
  probes: (p) => [{ kind: 'file', path: p.dest }],
  plan: (ctx, p, r) => {
    let content: string;
    try {
      content = ctx.renderTemplate(p.src);
    } catch (e) {
      throw new TaskError(`template ${p.src}: ${(e as Error).message}`);
    }
    return planContentFile(p, content, r);
  },
  apply: applyContentFile,
});
