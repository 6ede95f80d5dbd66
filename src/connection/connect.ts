// Open the right transport for a resolved ConnectSpec. Each transport's library (node-ssh, zx)
// loads only when a host needs it.

import type { ConnectSpec, Connection } from './types.js';

/** Throws UnreachableError (ssh) when the host cannot be reached, verified or authenticated. */
export async function connect(spec: ConnectSpec): Promise<Connection> {
  if (spec.transport === 'local') {
    const { LocalConnection } = await import('./local.js');
    return new LocalConnection(spec.name, { become: spec.become, becomeUser: spec.becomeUser });
  }
  const { SshConnection } = await import('./ssh.js');
  return SshConnection.open(spec);
}
