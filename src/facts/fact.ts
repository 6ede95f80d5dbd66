// A fact module: one file per group of facts (src/facts/all/*.ts), each with its part of the one
// round-trip script, its parser, the stand-in value preflight renders with, and its value on each
// fixture OS. registry.ts lists them; the Facts type is what they produce together.

/** The fixture hosts (test/tasks/*.yml `facts:`), one per supported distribution. */
export type FixtureOs = 'fedora36' | 'debian11' | 'ubuntu2204';

/** What the os module found first; every other module may depend on it. */
export interface OsBase {
  os_id: string;
  os_version: string;
}

export interface FactOptions {
  /** -e allow_untested_os=true: an OS outside the supported list runs, with a warning. */
  allowUntestedOs?: boolean;
}

export interface FactModule<T> {
  /**
   * Sections of the script: name -> POSIX sh that prints the section's lines. It only reads. It
   * may use `$r` (root prefix for tests), `$conf` (nginx.conf), `yn CMD` (prints yes/no).
   */
  sections: Record<string, string>;
  /** Programs whose path the shared `commands` section reports (name=path, empty when missing). */
  commands?: string[];
  parse(sections: Map<string, string[]>, os: OsBase & Record<string, unknown>, opts: FactOptions): T;
  /** Stand-in for preflight, before any host is reached. */
  placeholder: T;
  fixtures: Record<FixtureOs, T>;
}

export function defineFact<T>(m: FactModule<T>): FactModule<T> {
  return m;
}

/** `key=value` lines of a section. */
export function keyValues(lines: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

export const firstLine = (lines: string[] = []) => lines.map((l) => l.trim()).find(Boolean) ?? '';
