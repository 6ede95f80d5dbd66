// What a test needs from this machine, decided in one place.
// - A server the tests drive (sshd, the world's hosts, S3, ACME) that cannot run is a failure, also
//   locally: the global setup installs the Debian packages, so whatever is still missing is a real
//   problem, never a reason to skip.
// - A program that only a cross-check uses (ansible) or a capability (root, for sudo) is skipped
//   locally with the reason, and fails under CI=true, where everything is installed and we are root.

export function serverMissing(what: string): never {
  throw new Error(`${what} (a server the tests need cannot run: a failure, not a skip; npm test runs as root on Debian 12, see README)`);
}

export function needOrSkip(ctx: Mocha.Context, present: boolean, missing: string): void {
  if (present) return;
  if (process.env.CI === 'true') throw new Error(`${missing} (CI=true: a failure, not a skip)`);
  console.warn(`    (skipped: ${missing})`);
  ctx.skip();
}
