// Mocha root hooks for the test world. The world itself starts lazily, on the first getWorld()
// of an e2e test (see e2e.ts); this only guarantees that it is stopped at the end of the run.

import { stopAll, worldStarted } from './world.js';

export async function mochaGlobalTeardown(): Promise<void> {
  if (!worldStarted()) return;
  const problems = await stopAll();
  if (problems.length) {
    console.error(`[world] teardown left problems:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}
