// The facts registry: every fact module (src/facts/all/*.ts), the one round-trip script made of
// their parts, and the parser that hands each module its sections. Adding a fact = one file in
// all/ and one line here; the Facts type follows from the list.

import { FactsError } from './errors.js';
import type { FactModule, FactOptions, FixtureOs, OsBase } from './fact.js';
import identity from './all/identity.js';
import network from './all/network.js';
import nginx from './all/nginx.js';
import os from './all/os.js';
import packages from './all/packages.js';
import security from './all/security.js';
import systemd from './all/systemd.js';

/** os first: the others may depend on what it found (and an unsupported OS stops everything). */
export const FACT_MODULES = [os, identity, systemd, packages, nginx, network, security] as const;

type Produced<M> = M extends FactModule<infer T> ? T : never;
type Intersect<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
export type AllFacts = Intersect<Produced<(typeof FACT_MODULES)[number]>>;

export const FACTS_MARKER = '@@mss-facts';

// Runs with dash, bash and busybox sh (Debian 11/12, Ubuntu 22.04, Fedora 36); only reads (files,
// `id`, `command -v`, `ip`); prints sections that start with "@@mss-facts <name>"; always exits 0.
// MSS_FACTS_ROOT (unset on real hosts) makes the file checks read below another directory, so the
// tests can run this exact script against fixture trees.
const HEADER = String.raw`
set -f
LC_ALL=C
export LC_ALL
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
r="$MSS_FACTS_ROOT"
conf="$r/etc/nginx/nginx.conf"
sec() { printf '\n${FACTS_MARKER} %s\n' "$1"; }
yn() { if "$@"; then echo yes; else echo no; fi; }
`;

function buildScript(): string {
  const parts = [HEADER];
  for (const m of FACT_MODULES as readonly FactModule<unknown>[]) for (const [name, sh] of Object.entries(m.sections)) parts.push(`sec ${name}\n${sh}\n`);
  const commands = [...new Set((FACT_MODULES as readonly FactModule<unknown>[]).flatMap((m) => m.commands ?? []))];
  parts.push(`sec commands\nfor c in ${commands.join(' ')}; do printf '%s=%s\\n' "$c" "$(command -v "$c" 2>/dev/null)"; done\n`, 'sec end\n');
  return parts.join('\n');
}

export const FACTS_SCRIPT = buildScript();

/** Split the script output into its sections (name -> lines). */
export function splitSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.replace(/\r\n/g, '\n').split('\n')) {
    const m = line.startsWith(FACTS_MARKER + ' ') ? line.slice(FACTS_MARKER.length + 1).trim() : undefined;
    if (m) sections.set(m, (current = []));
    else current?.push(line);
  }
  return sections;
}

/** Facts from the output of FACTS_SCRIPT. Throws FactsError for unsupported hosts or broken output. */
export function parseFacts(output: string, opts: FactOptions = {}): AllFacts {
  const s = splitSections(output);
  if (!s.has('end')) throw new FactsError('fact gathering output is incomplete (no end marker)', output.slice(-500));
  let facts = {} as OsBase & Record<string, unknown>;
  const warnings: string[] = [];
  for (const m of FACT_MODULES as readonly FactModule<object>[]) {
    const part = m.parse(s, facts, opts) as { warnings?: string[] };
    warnings.push(...(part.warnings ?? []));
    facts = { ...facts, ...part };
  }
  if (warnings.length) (facts as { warnings?: string[] }).warnings = warnings;
  return facts as unknown as AllFacts;
}

const merged = (pick: (m: FactModule<object>) => object) => Object.assign({}, ...(FACT_MODULES as readonly FactModule<object>[]).map(pick)) as AllFacts;

/** Stand-in facts for preflight rendering: real ones only exist after connecting. */
export const PLACEHOLDER_FACTS: AllFacts = merged((m) => m.placeholder);

/** The facts of a fixture OS, from every module's fixture (a module without one does not compile). */
export function fixtureFacts(name: FixtureOs): AllFacts {
  return merged((m) => m.fixtures[name]);
}
