// `npm run demo`: the main job on the built-in sandbox. Brings up 4 Misskey hosts (v12 and v10
// behind s3.<domain>, v11 behind <domain>/storage/, v12 behind <domain>/files/ (layout C); the v10
// one on Debian 11, the others on Debian 12), a Ceph S3 endpoint and an ACME CA, runs
// `site` on them with live progress, then shows what a user cares about: a file uploaded to the
// bucket served through the proxy, X-Cache MISS then HIT; and a drift check. The sandbox stays up
// for more runs; `npm run sandbox:down` stops everything. `npm run demo -- --move` then moves h1's
// drive to the sandbox's second S3 provider, every URL unchanged; `--retire` retires h3's bucket to
// local disk and shows its file served with the S3 service stopped.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORLD } from './config.js';
import { TOKENS, getSandbox, moveEnv, moveVars, siteEnv, siteVars, startSiteHosts } from './sandbox.js';
import { startGatewayA, stopGatewayA } from './s3.js';
import { stopAll, type HostInfo } from './world.js';
import type { MisskeyLine } from './misskey-seed.js';
import type { Suite } from './layers.js';
import { makeChalk } from '../../src/ui/colors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SANDBOX_DIR = path.join(ROOT, '.sandbox');

const HOSTS: { name: string; layout: 'subdomain' | 'directory' | 'files'; misskey: MisskeyLine; suite: Suite }[] = [
  { name: 'h1', layout: 'subdomain', misskey: 'v12', suite: 'bookworm' },
  { name: 'h2', layout: 'subdomain', misskey: 'v10', suite: 'bullseye' },
  { name: 'h3', layout: 'directory', misskey: 'v11', suite: 'bookworm' },
  { name: 'h4', layout: 'files', misskey: 'v12', suite: 'bookworm' },
];
/** Where each layout puts a drive URL. */
const URL_OF: Record<'subdomain' | 'directory' | 'files', (host: string) => string> = {
  subdomain: (h) => `https://s3.${h}.test/misskey/...`,
  directory: (h) => `https://${h}.test/storage/...`,
  files: (h) => `https://${h}.test/files/... (layout C: the bucket, else Misskey's own files)`,
};
const DEBIAN: Record<Suite, string> = { bookworm: 'Debian 12', bullseye: 'Debian 11' };

const c = makeChalk(process.stdout);
function say(s: string): void {
  console.log('\n' + c.bold(`==> ${s}`));
}

function cli(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'play.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  say('Starting the sandbox: Debian hosts with systemd, Ceph S3 (radosgw), an ACME CA (Pebble)');
  console.log('   (the first run builds the host images from the Debian mirror: a few minutes)');
  const sb = await getSandbox((m) => console.log(`   ${m}`));
  fs.mkdirSync(SANDBOX_DIR, { recursive: true });
  const roles = Object.fromEntries(HOSTS.map((h) => [h.name, { layout: h.layout, misskey: h.misskey, suite: h.suite }]));
  const { hosts, inventory: inv } = await startSiteHosts(sb, roles, path.join(SANDBOX_DIR, 'inventory.yml'));
  const env = siteEnv();
  const envFile = path.join(SANDBOX_DIR, 'env');
  fs.writeFileSync(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  for (const h of HOSTS) console.log(`   ${h.name}: ${DEBIAN[h.suite]}, Misskey ${h.misskey}, ${URL_OF[h.layout](h.name)}`);

  say(`npm run play -- site -i ${path.relative(ROOT, inv)}`);
  const code = await cli(['site', '-i', inv], env);
  if (code !== 0) {
    console.error(`\nsite exited with ${code}`);
    return code;
  }

  say('A file uploaded to the bucket, fetched through the proxy twice (as a browser would)');
  const h1 = hosts[0];
  const bucket = `mss-${h1.name}-drive`;
  const key = `misskey/demo-${Date.now()}.txt`;
  const url = `https://s3.${h1.domain}/${key}`;
  const show = await sb.world.hostExec(
    h1.name,
    [
      `echo 'hello from the sandbox bucket' > /tmp/demo.txt`,
      `s3cmd -c /root/.s3cfg --no-progress put --mime-type=text/plain /tmp/demo.txt s3://${bucket}/${key} >/dev/null`,
      `for i in 1 2; do echo "GET ${url}"; curl -sk -D - -o /tmp/body --resolve s3.${h1.domain}:443:127.0.0.1 ${url} | grep -iE '^(HTTP|x-cache|content-type|expires)' | sed 's/^/   /'; echo "   body: $(cat /tmp/body)"; done`,
      'rm -f /tmp/demo.txt /tmp/body',
    ].join('\n'),
  );
  console.log(show.stdout.trimEnd());

  say('Drift check: npm run play -- site --check');
  const check = await cli(['site', '-i', inv, '--check'], env);
  if (process.argv.includes('--move')) {
    const moved = await demoMove(sb, hosts[0]!, url);
    if (moved !== 0) return moved;
  }
  if (process.argv.includes('--retire')) {
    const retired = await demoRetire(sb, hosts[2]!, env);
    if (retired !== 0) return retired;
  }

  say('The sandbox is still up');
  console.log(`   inventory: ${path.relative(ROOT, inv)}   (S3 endpoint ${WORLD.s3.endpoint}, ACME ${sb.services.pebble.directoryUrl})`);
  console.log(`   try:  set -a; . ${path.relative(ROOT, envFile)}; set +a; npm run play -- site -i ${path.relative(ROOT, inv)} --check --diff`);
  console.log('   stop: npm run sandbox:down');
  return check;
}

/**
 * `npm run demo -- --move`: h1's drive moves to the sandbox's second S3 provider (its own keys),
 * with the file above fetched through the proxy after the move: the same URL, from the new bucket.
 */
async function demoMove(sb: Awaited<ReturnType<typeof getSandbox>>, h1: HostInfo, url: string): Promise<number> {
  const inv = sb.world.writeInventory(
    path.join(SANDBOX_DIR, 'inventory-move.yml'),
    [h1],
    {},
    {
      [h1.name]: moveVars(h1, sb, { layout: 'subdomain', misskey: 'v12' }, `mss-${h1.name}-moved`),
    },
  );
  const env = moveEnv();
  say(`Move ${h1.name}'s drive to another provider (${WORLD.s3b.endpoint}): npm run play -- move -i ${path.relative(ROOT, inv)}`);
  let code = await cli(['move', '-i', inv], env);
  if (code !== 0) return code;
  say('Finish the move (the fallback to the old bucket goes): -e move_finish=true');
  code = await cli(['move', '-i', inv, '-e', 'move_finish=true'], env);
  if (code !== 0) return code;
  say('The same URL after the move');
  const u = new URL(url);
  const r = await sb.world.hostExec(
    h1.name,
    `curl -sk -D - -o /tmp/body --resolve ${u.hostname}:443:127.0.0.1 ${url} | grep -iE '^(HTTP|content-type)' | sed 's/^/   /'; echo "   body: $(cat /tmp/body)"; rm -f /tmp/body`,
  );
  console.log(`GET ${url}\n${r.stdout.trimEnd()}`);
  console.log(`   ${h1.name} now runs on the new bucket: its inventory from here on is ${path.relative(ROOT, inv)} (drop the move_from_* lines)`);
  return 0;
}

/**
 * `npm run demo -- --retire`: h3's bucket is mirrored to its disk and retired; a file uploaded
 * through Misskey before is then fetched with the sandbox's S3 gateway stopped: the same URL.
 */
async function demoRetire(sb: Awaited<ReturnType<typeof getSandbox>>, h3: HostInfo, env: Record<string, string>): Promise<number> {
  say(`A file uploaded through ${h3.name}'s Misskey (into its bucket)`);
  const up = await sb.world.hostExec(
    h3.name,
    `python3 -c 'import sys; sys.stdout.buffer.write(bytes([137,80,78,71,13,10,26,10]) + bytes(range(200)))' > /tmp/retire.png; ` +
      `printf %s '${TOKENS.admin}' | curl -sS -F 'i=<-' -F 'file=@/tmp/retire.png;type=image/png' http://127.0.0.1:3000/api/drive/files/create`,
  );
  const url = (JSON.parse(up.stdout) as { url: string }).url;
  console.log(`   ${url}`);
  const inv = sb.world.writeInventory(
    path.join(SANDBOX_DIR, 'inventory-retire.yml'),
    [h3],
    {},
    {
      [h3.name]: { ...siteVars(h3, sb, { layout: 'directory', misskey: 'v11' }), retire: true },
    },
  );
  say(`Retire ${h3.name}'s bucket to local disk: npm run play -- retire -i ${path.relative(ROOT, inv)}`);
  let code = await cli(['retire', '-i', inv], env);
  if (code !== 0) return code;
  say('Finish the retire (nginx stops asking the bucket): -e retire_finish=true');
  code = await cli(['retire', '-i', inv, '-e', 'retire_finish=true'], env);
  if (code !== 0) return code;
  say(`The same URL with the S3 service stopped (${WORLD.s3.endpoint})`);
  await stopGatewayA(sb.services.s3);
  try {
    const u = new URL(url);
    const r = await sb.world.hostExec(
      h3.name,
      `curl -sk -D - -o /tmp/body --resolve ${u.hostname}:443:127.0.0.1 ${url} | grep -iE '^(HTTP|content-type)' | sed 's/^/   /'; cmp -s /tmp/body /tmp/retire.png && echo '   body: the bytes uploaded'; rm -f /tmp/body`,
    );
    console.log(`GET ${url}\n${r.stdout.trimEnd()}`);
  } finally {
    await startGatewayA(sb.services.s3);
  }
  console.log(`   ${h3.name} no longer depends on object storage: keep retire: true in its inventory (${path.relative(ROOT, inv)})`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    console.error(`demo failed: ${(e as Error)?.stack ?? e}`);
    await stopAll().catch(() => undefined);
    process.exit(1);
  },
);
