// Wires the real connection, facts and probe implementations into runHost.
import { connect } from '../connection/connect.js';
import type { Connection } from '../connection/types.js';
import { FACTS_SCRIPT, parseFacts } from '../facts/gather.js';
import { TaskError } from '../errors.js';
import type { Facts } from '../facts/types.js';
import type { FactOptions } from '../facts/fact.js';
import { runProbes, runScript } from './probe-batch.js';
import { runHost, type HostDeps, type HostRunOptions } from './host.js';
import type { HostWork } from './prepare.js';
import type { ConnectSpec } from '../connection/types.js';

export async function gatherFacts(conn: Connection, opts: FactOptions = {}): Promise<Facts> {
  const r = await runScript(conn, FACTS_SCRIPT);
  if (r.code !== 0) throw new TaskError(`gathering facts failed (exit ${r.code})`, r.stderr.trim());
  return parseFacts(r.stdout, opts);
}

/** One host's run over the real connection, facts and probe batch (tests give runHost fakes). */
export function runRealHost(work: HostWork, spec: ConnectSpec, opts: HostRunOptions, deps: Omit<HostDeps, 'connect' | 'gatherFacts' | 'runProbes'>) {
  return runHost(work, spec, opts, { ...deps, connect, gatherFacts, runProbes });
}
