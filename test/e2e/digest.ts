import type { World } from '../world/world.js';

/** A digest of everything under the given paths on a host (names, modes, owners, link targets, contents). */
export async function digest(world: World, host: string, paths: string[]): Promise<string> {
  const cmd = `find ${paths.join(' ')} -xdev \\( -type f -o -type d -o -type l \\) -printf '%p %m %u %g %s %l\\n' 2>/dev/null | sort; find ${paths.join(' ')} -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum`;
  return (await world.hostExecOk(host, cmd)).stdout;
}
