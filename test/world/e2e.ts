// For e2e tests: get the world (or the whole sandbox), or skip (locally) / fail (CI=true) when the
// machine lacks what it needs.

import { getWorld, PrereqError, type World } from './world.js';

/** Call in a `before` hook (with a long timeout: the first call may build the layers). */
export async function startOrSkip<T>(ctx: Mocha.Context, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if (e instanceof PrereqError && process.env.CI !== 'true') {
      console.log(`    (skipped: ${e.message})`);
      ctx.skip();
    }
    throw e;
  }
}

export function worldOrSkip(ctx: Mocha.Context): Promise<World> {
  return startOrSkip(ctx, () => getWorld());
}
