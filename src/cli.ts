// mskplay: CLI flags -> inventory + playbook -> preflight -> hosts in parallel -> recap, exit code.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CliArgs } from './cli-args.js';
import { InputError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { makeChalk } from './ui/colors.js';
import { USAGE } from './usage.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const OPTIONS = {
  inventory: { type: 'string', short: 'i' },
  limit: { type: 'string', short: 'l' },
  check: { type: 'boolean', short: 'C' },
  diff: { type: 'boolean', short: 'D' },
  tags: { type: 'string', short: 't', multiple: true },
  'skip-tags': { type: 'string', multiple: true },
  'extra-vars': { type: 'string', short: 'e', multiple: true },
  forks: { type: 'string', short: 'f' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  'list-hosts': { type: 'boolean' },
  'list-tasks': { type: 'boolean' },
  json: { type: 'string' },
  'host-key-checking': { type: 'string' },
  'ssh-config': { type: 'string' },
  'force-handlers': { type: 'boolean' },
  host: { type: 'string' },
  version: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type { CliArgs } from './cli-args.js';

const splitList = (v: string[] | undefined) =>
  (v ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

export function parseCli(argv: string[], cwd = process.cwd()): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new InputError(`bad command line: ${(e as Error).message}`, undefined, 'run with --help for the flags');
  }
  const v = parsed.values;
  const pos = parsed.positionals;
  const isInv = pos[0] === 'inventory';
  if (pos[0] === 'doc') {
    if (pos.length > 2) throw new InputError(`unexpected argument '${pos[2]}': doc takes one task name`, undefined, 'usage: npm run play -- doc [TASK]');
  } else if (pos.length > 1)
    throw new InputError(`unexpected argument '${pos[1]}': give one playbook name`, undefined, 'usage: npm run play -- PLAYBOOK [flags]');
  const forks = v.forks === undefined ? 50 : Number(v.forks);
  if (!Number.isInteger(forks) || forks < 1 || forks > 1000) throw new InputError(`--forks must be a whole number from 1 to 1000, got '${v.forks}'`);
  const hkc = v['host-key-checking'];
  if (hkc !== undefined && !['strict', 'accept-new', 'off'].includes(hkc))
    throw new InputError(`--host-key-checking must be strict, accept-new or off, got '${hkc}'`);
  if (v.json !== undefined && v.json === '') throw new InputError('--json needs a file name, or - for standard output');
  const inventory = v.inventory ?? process.env.MSKPLAY_INVENTORY ?? path.join(cwd, 'inventory.yml');
  return {
    playbook: isInv ? undefined : pos[0] === 'doc' ? pos[1] : pos[0],
    subcommand: isInv ? 'inventory' : pos[0] === 'doc' ? 'doc' : undefined,
    inventory: path.resolve(cwd, inventory),
    limit: v.limit,
    check: v.check ?? false,
    diff: v.diff ?? false,
    tags: splitList(v.tags),
    skipTags: splitList(v['skip-tags']),
    extraVars: v['extra-vars'] ?? [],
    forks,
    verbosity: (v.verbose ?? []).length,
    listHosts: v['list-hosts'] ?? false,
    listTasks: v['list-tasks'] ?? false,
    json: v.json,
    hostKeyPolicy: hkc as CliArgs['hostKeyPolicy'] | undefined,
    sshConfig: v['ssh-config'],
    forceHandlers: v['force-handlers'] ?? false,
    host: v.host,
    version: v.version ?? false,
    help: v.help ?? false,
  };
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const err = makeChalk(process.stderr);
  try {
    const args = parseCli(argv);
    if (args.help) {
      console.log(USAGE);
      return EXIT.OK;
    }
    if (args.version) {
      console.log(`mskplay ${version()}`);
      return EXIT.OK;
    }
    if (args.subcommand === 'doc') {
      const { printDoc } = await import('./doc-command.js');
      return printDoc(args.playbook);
    }
    // The engine (ssh, templates, progress UI) loads only once the flags are known to be good.
    const { run } = await import('./run.js');
    return await run(args, PROJECT_ROOT);
  } catch (e) {
    if (e instanceof InputError) {
      console.error(err.red(`ERROR: ${e.toString()}`));
      console.error(err.dim('nothing was changed on any host'));
      return EXIT.BAD_INPUT;
    }
    console.error(err.red(`INTERNAL ERROR: ${(e as Error)?.stack ?? String(e)}`));
    return EXIT.INTERNAL;
  }
}
