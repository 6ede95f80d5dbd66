// template: render templates/<src> (Jinja-like; an undefined variable is an error) into dest.
import { TaskError } from '../src/errors.js';
import { defineTask } from '../src/task.js';
import { fileParamsSchema } from './lib/files.js';
import { applyContentFile, planContentFile, type ContentFileParams } from './lib/content-file.js';

interface Params extends ContentFileParams {
  src: string;
}

export default defineTask<Params>({
  name: 'template',
  doc: 'Render a template from templates/ into a file, atomically (owner, mode, backup, validate)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['src', 'dest'],
    properties: {
      src: { type: 'string', minLength: 1, description: 'file name under templates/' },
      dest: { type: 'string', pattern: '^/', description: 'absolute path of the file' },
      ...fileParamsSchema,
    },
  },
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
