// `npm run bench:move`: the copy rate of `move` against rclone on its own. On one world host: 1,000
// objects of mixed sizes (1 KiB to 2 MiB, log-uniform, fixed seed) in a bucket of provider A; then
// (1) rclone copy alone, A to a fresh bucket of B, and (2) the move play to B, timed by its copy
// task (the first pass: rclone copy with the same flags, plus its two listings timed alike).
// Prints the table for the README.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { WORLD, runPath } from '../test/world/config.js';
import { RCLONE_ENV } from '../tasks/lib/rclone.js';
import { getSandbox, inventoryPath, moveEnv, moveVars, siteEnv, startSiteHosts, worldRemotes } from '../test/world/sandbox.js';
import { runScript } from './script.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOST = 'h35';
const COUNT = 1000;
const COPY_TASK = 'Objects copied from the old bucket (first pass)';

const remotes = worldRemotes();
const RC = RCLONE_ENV;

async function main(): Promise<void> {
  const sb = await getSandbox((m) => console.log(`[world] ${m}`));
  const role = { layout: 'subdomain' as const, misskey: 'v12' as const };
  const { hosts, inventory } = await startSiteHosts(sb, { [HOST]: role }, inventoryPath('bench-move-before.yml'));
  const sh = async (cmd: string, input?: string) => {
    const r = await sb.world.hostExec(HOST, cmd, { timeoutMs: 1_800_000, ...(input === undefined ? {} : { input }) });
    if (r.code !== 0) throw new Error(`${cmd.slice(0, 100)}: exit ${r.code}: ${r.stderr.slice(-500)}`);
    return r.stdout;
  };
  const site = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'play.js'), 'site', '-i', inventory, '--skip-tags', 'smoke'], {
    env: { ...process.env, ...siteEnv() },
    encoding: 'utf8',
  });
  if (site.status !== 0) throw new Error(`site failed:\n${site.stdout}\n${site.stderr}`);
  console.log(`[bench] ${COUNT} objects into the old bucket (setup, not timed)`);
  await sh(
    [
      'DEBIAN_FRONTEND=noninteractive apt-get install -y rclone >/dev/null',
      'rm -rf /tmp/src && mkdir /tmp/src',
      `python3 -c 'import random,math\nr=random.Random(42)\nfor i in range(${COUNT}):\n  n=int(math.exp(r.uniform(math.log(1024), math.log(2*1024*1024))))\n  open("/tmp/src/%04d.png" % i, "wb").write(bytes([137,80,78,71,13,10,26,10]) + r.randbytes(n - 8))'`,
    ].join('\n'),
  );
  await sh(`${RC} rclone copy --transfers 8 /tmp/src old:mss-${HOST}-drive/misskey && rm -rf /tmp/src`, remotes);
  const bytes = Number((await sh(`${RC} rclone size --json old:mss-${HOST}-drive/misskey`, remotes)).match(/"bytes":(\d+)/)![1]);

  // (1) rclone alone, the same flags, into a fresh bucket of B; then that copy is dropped again
  // (the bench's own data: it frees the memory-backed store for the next copy).
  await sh(`${RC} RCLONE_CONFIG_NEW_NO_CHECK_BUCKET=false rclone mkdir new:mss-${HOST}-alone`, remotes); // no_check_bucket would skip the create
  const alone = Number(
    (
      await sh(
        `${RC} t0=$(date +%s.%N); rclone copy --ignore-existing --metadata --transfers 8 --checkers 16 --retries 3 old:mss-${HOST}-drive/misskey new:mss-${HOST}-alone/misskey >/tmp/alone.log 2>&1 || { tail -5 /tmp/alone.log >&2; exit 1; }; t1=$(date +%s.%N); awk "BEGIN { print $t1 - $t0 }"`,
        remotes,
      )
    ).trim(),
  );
  await sh(`${RC} rclone delete new:mss-${HOST}-alone/misskey`, remotes);

  // (2) the move play; its copy task's time.
  const vars = { [HOST]: moveVars(hosts[0]!, sb, role, `mss-${HOST}-new`) };
  const inv = sb.world.writeInventory(inventoryPath('bench-move.yml'), hosts, {}, vars);
  const json = runPath('bench-move.json');
  const env = moveEnv();
  // rclone first (installed above), so the copy task's probes list both buckets for real.
  const mv = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'play.js'), 'move', '-i', inv, '--skip-tags', 'smoke', '--json', json], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (mv.status !== 0) throw new Error(`move failed:\n${mv.stdout}\n${mv.stderr}`);
  const tasks = (JSON.parse(fs.readFileSync(json, 'utf8')) as { hosts: Record<string, { tasks: { task: string; durationMs: number; msg?: string }[] }> }).hosts[
    HOST
  ]!.tasks;
  const copy = tasks.find((t) => t.task === COPY_TASK);
  if (!copy) throw new Error(`no "${COPY_TASK}" in ${json}`);
  // The task's two listings ran as probes, batched before it: timed here the same way, on their own.
  const listing = Number(
    (
      await sh(
        `${RC} t0=$(date +%s.%N); rclone lsjson -R --files-only --hash --no-mimetype --no-modtime old:mss-${HOST}-drive/misskey >/dev/null; rclone lsjson -R --files-only --hash --no-mimetype --no-modtime new:mss-${HOST}-new/misskey >/dev/null; t1=$(date +%s.%N); awk "BEGIN { print $t1 - $t0 }"`,
        remotes,
      )
    ).trim(),
  );
  const ours = copy.durationMs / 1000 + listing;

  const mib = bytes / 1024 / 1024;
  console.log(`\n| copy of ${COUNT} objects (${mib.toFixed(0)} MiB, 1 KiB-2 MiB), provider A -> B | seconds | MiB/s | objects/s |`);
  console.log('|---|---|---|---|');
  console.log(
    `| \`move\` (its copy task: rclone copy ${(copy.durationMs / 1000).toFixed(1)} s + its two listings ${listing.toFixed(1)} s) | ${ours.toFixed(1)} | ${(mib / ours).toFixed(1)} | ${(COUNT / ours).toFixed(0)} |`,
  );
  console.log(`| rclone copy alone, the same flags | ${alone.toFixed(1)} | ${(mib / alone).toFixed(1)} | ${(COUNT / alone).toFixed(0)} |`);
  console.log(`\nmove / rclone alone: ${(alone / ours).toFixed(2)}x the rate (target >= 0.9)`);
}

runScript(main);
