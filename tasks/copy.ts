// copy: a file with the given content (Ansible's copy with `content:`).
import { defineTask } from '../src/task.js';
import { fileParamsSchema } from './lib/files.js';
import { applyContentFile, planContentFile, type ContentFileParams } from './lib/content-file.js';

interface Params extends ContentFileParams {
  content: string;
}

export default defineTask<Params>({
  name: 'copy',
  doc: 'Write a file with the given content, atomically (owner, mode, backup, validate)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['dest', 'content'],
    properties: {
      dest: { type: 'string', pattern: '^/', description: 'absolute path of the file' },
      content: { type: 'string' },
      ...fileParamsSchema,
    },
  },
  probes: (p) => [{ kind: 'file', path: p.dest }],
  plan: (_ctx, p, r) => planContentFile(p, p.content, r),
  apply: applyContentFile,
});
