// `npm run play -- doc [TASK]`, as ansible-doc: the task list, or one task's description and
// every param with its type, default, whether it is required or secret, and its description.

import type { TaskDef } from '../task.js';

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  secret?: boolean;
  pattern?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};

function typeOf(s: Schema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alts = s.oneOf ?? s.anyOf;
  if (alts) return alts.map(typeOf).join(' | ');
  if (s.type === 'array' && s.items) return `list of ${typeOf(s.items)}`;
  return Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any');
}

export function taskList(registry: Record<string, TaskDef>): string {
  const names = Object.keys(registry).sort();
  const w = Math.max(...names.map((n) => n.length));
  return names.map((n) => `${n.padEnd(w)}  ${registry[n].doc}`).join('\n') + '\n';
}

export function taskDoc(def: TaskDef): string {
  const schema = def.schema as Schema;
  const required = new Set(schema.required ?? []);
  const out = [`${def.name}: ${def.doc}`, '', 'PARAMETERS'];
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const flags = [
      required.has(name) ? 'required' : 'optional',
      s.secret ? 'secret (masked in all output; reaches the host only on stdin or in 0600 files)' : '',
    ].filter(Boolean);
    out.push(`  ${name}  (${typeOf(s)}; ${flags.join('; ')}${s.default !== undefined ? `; default ${JSON.stringify(s.default)}` : ''})`);
    if (s.description) out.push(`      ${s.description}`);
    if (s.pattern) out.push(`      must match /${s.pattern}/`);
  }
  if (def.example) out.push('', 'EXAMPLE', ...def.example.split('\n').map((l) => `  ${l}`));
  return out.join('\n') + '\n';
}

/** docs/tasks.md: every task's doc, from the same source as `doc` (a test keeps it current). */
export function tasksMarkdown(registry: Record<string, TaskDef>): string {
  const out = [
    '# Tasks',
    '',
    'Generated from the task definitions by `npm run docs` (the same text as `npm run play -- doc TASK`); a test fails when it is stale.',
    '',
  ];
  for (const name of Object.keys(registry).sort()) {
    const def = registry[name];
    out.push(`## ${name}`, '', def.doc, '', '| param | type | required | default | secret | description |', '|---|---|---|---|---|---|');
    const schema = def.schema as Schema;
    const required = new Set(schema.required ?? []);
    for (const [p, s] of Object.entries(schema.properties ?? {})) {
      const desc = [s.description, s.pattern ? `must match \`/${s.pattern}/\`` : ''].filter(Boolean).join('; ').replace(/\|/g, '\\|');
      out.push(
        `| \`${p}\` | ${typeOf(s).replace(/\|/g, '\\|')} | ${required.has(p) ? 'yes' : ''} | ${s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : ''} | ${s.secret ? 'yes' : ''} | ${desc} |`,
      );
    }
    if (def.example) out.push('', '```yaml', def.example, '```');
    out.push('');
  }
  return out.join('\n');
}
