// One entry point for the world's services, for the world harness: start S3 and Pebble on the
// gateway address (in parallel; S3 takes ~15 s), stop them by their recorded PIDs, and seed a
// host so it trusts the world CA and, optionally, runs a Misskey of a given line (stand-in).

import { WORLD } from './config.js';
import { PebbleService, defaultPebbleDir, startPebble, stopPebble } from './pebble.js';
import { seedCaTrust } from './pki-trust.js';
import { S3Service, defaultS3Dir, startS3, stopS3 } from './s3.js';
import { MisskeyLine, MisskeyMeta, MisskeyTokens, seedMisskey } from './misskey-seed.js';

export interface WorldServices {
  s3: S3Service;
  pebble: PebbleService;
}

export async function startWorldServices(o: { bindIp?: string; dnsServer?: string } = {}): Promise<WorldServices> {
  const bindIp = o.bindIp ?? WORLD.gatewayIp;
  const dnsServer = o.dnsServer ?? `${WORLD.gatewayIp}:${WORLD.dnsPort}`;
  const [s3, pebble] = await Promise.allSettled([startS3({ bindIp, secondBindIp: o.bindIp ? undefined : WORLD.s3b.ip }), startPebble({ bindIp, dnsServer })]);
  if (s3.status === 'fulfilled' && pebble.status === 'fulfilled') return { s3: s3.value, pebble: pebble.value };
  await stopWorldServices();
  throw s3.status === 'rejected' ? s3.reason : (pebble as PromiseRejectedResult).reason;
}

/** Safe to call when nothing runs (e.g. from `down` in another process): it only reads pid files. */
export async function stopWorldServices(): Promise<void> {
  await Promise.all([stopS3(defaultS3Dir()), stopPebble(defaultPebbleDir())]);
}

/** For the hosts' seedFiles hook: CA trust always; a Misskey install when `misskey` is given. */
export async function seedHostServices(
  upperDir: string,
  lowerDirs: string[],
  o: { misskey?: { line: MisskeyLine; tokens: MisskeyTokens; domain?: string; meta?: Partial<MisskeyMeta> } } = {},
): Promise<void> {
  await seedCaTrust(upperDir, lowerDirs);
  if (o.misskey) await seedMisskey(upperDir, { ...o.misskey, lowerDirs });
}
