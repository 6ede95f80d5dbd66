// One run: inventory + playbook -> preflight -> hosts in parallel -> summary, JSON, exit code.

import path from 'node:path';
import type { CliArgs } from './cli-args.js';
import { InputError } from './errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { Coordinator } from './runner/coord.js';
import { loadPlaybook, resolvePlaybook, type Play } from './playbook/load.js';
import { checkTags } from './playbook/tags.js';
import { loadProject, type Project } from './project.js';
import { runRealHost } from './runner/execute.js';
import { prepare, type SourcedVars } from './runner/prepare.js';
import { Secrets } from './secrets.js';
import { Templates } from './template.js';
import { makeChalk } from './ui/colors.js';
import { progressMode, runWithProgress } from './ui/progress.js';
import { jsonReport, printSummary, writeJson } from './ui/report.js';

export async function run(args: CliArgs, projectRoot: string): Promise<number> {
  const project: Project = loadProject(args, projectRoot);
  const { inventory } = project;
  if (args.subcommand === 'inventory') {
    if (!args.host) throw new InputError('inventory needs --host NAME', undefined, 'e.g. npm run play -- inventory --host web1');
    console.log(JSON.stringify(project.hostJson(args.host), null, 4));
    return EXIT.OK;
  }
  if (!args.playbook) throw new InputError('no playbook given', undefined, 'usage: npm run play -- PLAYBOOK [flags], e.g. npm run play -- site --check');
  const file = resolvePlaybook(args.playbook, path.join(projectRoot, 'playbooks'));
  const playbook = loadPlaybook(file, project.registry);
  checkTags(playbook, path.relative(process.cwd(), file) || file, { tags: args.tags, skipTags: args.skipTags });
  const limited = project.limit(args.limit);
  const playHosts = (play: Play) => project.select(play.hosts).filter((h) => limited.has(h));
  if (args.listHosts || args.listTasks) {
    for (const play of playbook.plays) {
      const hosts = playHosts(play);
      console.log(`\nplay: ${play.name} (${path.relative(process.cwd(), play.file)})`);
      if (args.listHosts) {
        console.log(`  hosts (${hosts.length}):`);
        for (const h of hosts) console.log(`    ${h}`);
      }
      if (args.listTasks) {
        console.log('  tasks:');
        for (const t of play.tasks)
          console.log(`    ${t.name}\t${t.module}${t.tags.length ? `\tTAGS: [${t.tags.join(', ')}]` : ''}\t# ${project.registry[t.module].doc}`);
        if (play.handlers.length) console.log('  handlers:');
        for (const t of play.handlers) console.log(`    ${t.name}\t${t.module}`);
      }
    }
    return EXIT.OK;
  }
  const secrets = new Secrets();
  const templates = new Templates({ templateDir: path.join(projectRoot, 'templates') });
  const extra: SourcedVars = project.extraVars;
  const hostvars = project.hostvars(templates);
  const work = prepare({
    playbook,
    playHosts,
    inventoryVars: (h) => project.hostVars(h),
    varLayers: (h, name) => project.varLayers(h, name),
    allPlayHosts: (play) => project.select(play.hosts),
    hostvars,
    extraVars: extra,
    registry: project.registry,
    templates,
    secrets,
    tags: { tags: args.tags, skipTags: args.skipTags },
    check: args.check,
  });
  if (work.length === 0)
    throw new InputError(`no hosts to run on: the plays' host patterns and --limit '${args.limit ?? 'all'}' leave none`, { file: inventory.file });
  const specs = project.connectSpecs(work, templates);
  const c = makeChalk(process.stdout);
  const started = new Date();
  const mode = progressMode(args.json);
  // Ctrl-C: say what state the hosts are in, then go. Every write is atomic (a temp file renamed) and
  // the copies resume, so a second run goes on where this one stopped; the closed connections end
  // the commands still running on the hosts.
  const interrupted = (sig: string) => () => {
    process.stderr.write(
      `\n${sig}: the run was stopped; what each host finished is done; files are written whole (a temp file renamed) and the copies resume. Run the same command again to go on (--check shows where each host stands).\n`,
    );
    process.exit(EXIT.INTERRUPTED);
  };
  const onInt = interrupted('interrupted (SIGINT)');
  const onTerm = interrupted('terminated (SIGTERM)');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  const coord = new Coordinator();
  const reports = await runWithProgress(
    work.map((w) => w.host),
    (host, events) =>
      runRealHost(
        work.find((w) => w.host === host)!,
        specs.get(host)!,
        { check: args.check, forceHandlers: args.forceHandlers },
        { registry: project.registry, templates, secrets, events, coord, hostvars },
      ),
    { mode, forks: args.forks, verbosity: args.verbosity, chalk: c },
  );
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  const code = exitCodeFor(reports, args.check);
  if (mode !== 'silent') printSummary(reports, { diff: args.diff, check: args.check, warnings: inventory.warnings }, c);
  if (args.json) {
    writeJson(
      args.json,
      jsonReport(
        reports,
        {
          playbook: path.relative(projectRoot, file),
          inventory: inventory.file,
          check: args.check,
          limit: args.limit,
          startedAt: started.toISOString(),
          durationMs: Date.now() - started.getTime(),
          exitCode: code,
          warnings: inventory.warnings,
        },
        secrets,
      ),
    );
  }
  return code;
}
