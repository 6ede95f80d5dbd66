// For tests that drive a real program of this machine (ansible, ...): without it they are skipped
// with a message locally, and fail under CI=true, where everything the tests need is installed.

export function needOrSkip(ctx: Mocha.Context, present: boolean, missing: string): void {
  if (present) return;
  if (process.env.CI === 'true') throw new Error(missing);
  console.warn(`    (skipped: ${missing})`);
  ctx.skip();
}
