// `npm run docs`: writes docs/tasks.md from the task definitions.
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './cli.js';
import { tasksMarkdown } from './ui/doc.js';
import { TASKS } from '../tasks/index.js';

export const TASKS_DOC = path.join(PROJECT_ROOT, 'docs', 'tasks.md');

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  fs.mkdirSync(path.dirname(TASKS_DOC), { recursive: true });
  fs.writeFileSync(TASKS_DOC, tasksMarkdown(TASKS));
  console.log(`wrote ${path.relative(process.cwd(), TASKS_DOC)}`);
}
