// Development helper: the benchmark's hosts, kept up for trying either tool by hand.
//   node dist/bench/dev-up.js [N]      (Ctrl-C or SIGTERM stops the world)
// Writes .sandbox/bench/inventory-dev.yml and .sandbox/bench/env (0600: the world's test keys).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSandbox, siteEnv } from '../test/world/sandbox.js';
import { stopAll } from '../test/world/world.js';
import { startBenchHosts, writeBenchInventory } from './hosts.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? '1');
  const dir = path.join(ROOT, '.sandbox', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const sb = await getSandbox((m) => console.log(`[world] ${m}`));
  const hosts = await startBenchHosts(sb, n);
  const inv = writeBenchInventory(sb, hosts, dir, 'dev');
  fs.writeFileSync(
    path.join(dir, 'env'),
    Object.entries(siteEnv())
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  console.log(`READY ${inv}`);
  setInterval(() => {}, 1 << 30);
}

main().catch(async (e) => {
  console.error(e);
  await stopAll().catch(() => undefined);
  process.exit(1);
});
