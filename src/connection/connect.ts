// Open the right transport for a resolved ConnectSpec.

import { LocalConnection } from './local.js';
import { SshConnection } from './ssh.js';
import type { ConnectSpec, Connection } from './types.js';

/** Throws UnreachableError (ssh) when the host cannot be reached, verified or authenticated. */
export async function connect(spec: ConnectSpec): Promise<Connection> {
  if (spec.transport === 'local') {
    return new LocalConnection(spec.name, { become: spec.become, becomeUser: spec.becomeUser });
  }
  return SshConnection.open(spec);
}
