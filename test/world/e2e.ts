// For e2e tests: get the world, or skip (locally) / fail (CI=true) when the machine lacks what it needs.

import { getWorld, PrereqError, type World } from './world.js';

/** Call in a `before` hook (with a long timeout: the first call may build the layers). */
export async function worldOrSkip(ctx: Mocha.Context): Promise<World> {
  try {
    return await getWorld();
  } catch (e) {
    if (e instanceof PrereqError && process.env.CI !== 'true') {
      console.log(`    (skipped: ${e.message})`);
      ctx.skip();
    }
    throw e;
  }
}
