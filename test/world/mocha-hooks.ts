// Mocha root hooks for the test world. The world itself starts lazily, on the first getWorld()
// of an e2e test (getWorld, getSandbox); setup only makes sure the Debian packages the tests drive are
// installed (a fresh machine needs nothing installed by hand), and teardown stops the world.

import { ensureDebianPackages } from './packages.js';
import { stopAll, worldStarted } from './world.js';

export async function mochaGlobalSetup(): Promise<void> {
  const why = ensureDebianPackages((m) => console.log(`[world] ${m}`));
  if (!why) return;
  // Tests that need a missing program say so themselves (and fail under CI=true).
  if (process.env.CI === 'true') throw new Error(`[world] ${why}`);
  console.log(`[world] ${why}`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!worldStarted()) return;
  const problems = await stopAll();
  if (problems.length) {
    console.error(`[world] teardown left problems:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}
