// copy: a file with the given content (Ansible's copy with `content:`).
import { params, str, type Infer } from '../src/params-spec.js';
import { defineTask } from '../src/task.js';
import { contentFileShape } from './lib/files.js';
import { applyContentFile, planContentFile, type ContentFileData } from './lib/content-file.js';

const spec = params({ ...contentFileShape, content: str().doc('the whole content of the file') });

export default defineTask<Infer<typeof spec>, ContentFileData>({
  name: 'copy',
  doc: 'Write a file with the given content, atomically (owner, mode, backup, validate)',
  params: spec,
  example: '- copy: { dest: /etc/motd, content: "managed by mskplay\\n", mode: "0644" }',
  probes: (p) => [{ kind: 'file', path: p.dest }],
  plan: (_ctx, p, r) => planContentFile(p, p.content, r),
  apply: applyContentFile,
});
