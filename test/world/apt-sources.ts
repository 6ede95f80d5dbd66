// The machine's own apt sources, read at run time: they give the mirror the layers are built from
// and the only hosts the apt proxy lets the test hosts reach. No mirror name is written in code.

import fs from 'node:fs';
import path from 'node:path';

export interface AptSource {
  file: string;
  uri: string;
  suites: string[];
}

/** Parse deb822 `.sources` text: stanzas separated by blank lines, `Key: value` fields. */
export function parseDeb822(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || !line.trim()) continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`); // continuation line
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) {
        last = m[1]!.toLowerCase();
        fields.set(last, m[2]!.trim());
      }
    }
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ file, uri, suites });
  }
  return out;
}

/** Parse one-line-style `.list` text: `deb [options] URI SUITE COMPONENT...`. */
export function parseOneLine(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ file, uri: m[1]!, suites: [m[2]!] });
  }
  return out;
}

/** All enabled `deb` sources of the machine (sources.list and sources.list.d/*.{list,sources}). */
export function readAptSources(etcApt = '/etc/apt'): AptSource[] {
  const files: string[] = [];
  const main = path.join(etcApt, 'sources.list');
  if (fs.existsSync(main)) files.push(main);
  const dir = path.join(etcApt, 'sources.list.d');
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) files.push(path.join(dir, f));
    }
  }
  const out: AptSource[] = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    out.push(...(f.endsWith('.sources') ? parseDeb822(text, f) : parseOneLine(text, f)));
  }
  return out;
}

/** `host:port` of every plain-HTTP mirror (the proxy only forwards plain HTTP). */
export function mirrorHostPorts(sources: AptSource[]): string[] {
  const set = new Set<string>();
  for (const s of sources) {
    let u: URL;
    try {
      u = new URL(s.uri);
    } catch {
      continue;
    }
    if (u.protocol === 'http:') set.add(`${u.hostname}:${u.port || '80'}`);
  }
  return [...set].sort();
}

/** The files holding the machine's enabled `deb` sources: the layers are built from exactly these. */
export function sourceFiles(etcApt = '/etc/apt'): string[] {
  const files = [...new Set(readAptSources(etcApt).map((s) => s.file))];
  if (files.length === 0) throw new Error(`no enabled deb source under ${etcApt}`);
  return files;
}

/** The machine's Debian codename (os-release VERSION_CODENAME), e.g. `bookworm`. */
export function machineCodename(osRelease = '/etc/os-release'): string {
  const m = /^VERSION_CODENAME=["']?([a-z]+)/m.exec(fs.readFileSync(osRelease, 'utf8'));
  if (!m) throw new Error(`no VERSION_CODENAME in ${osRelease}`);
  return m[1]!;
}

/**
 * The machine's sources rewritten for another suite of the same mirror: `<from>`, `<from>-updates`
 * and `<from>-security` become `<to>…`; components the older suite does not have are dropped.
 */
export function rewriteSuite(text: string, from: string, to: string): string {
  const out = text.replace(new RegExp(`\\b${from}\\b`, 'g'), to); // also <from>-updates, <from>-security
  // non-free-firmware was split out of non-free in bookworm; bullseye's Release has no such component.
  return to === 'bullseye' ? out.replace(/[ \t]+non-free-firmware\b/g, '') : out;
}

/**
 * Source files for `suite`: the machine's own when it runs that suite, else rewritten copies kept
 * under `dir/<suite>/` (written only when their text changes, so cache keys stay put).
 */
export function suiteSourceFiles(suite: string, dir: string, etcApt = '/etc/apt', osRelease = '/etc/os-release'): string[] {
  const files = sourceFiles(etcApt);
  const from = machineCodename(osRelease);
  if (suite === from) return files;
  const outDir = path.join(dir, suite);
  fs.mkdirSync(outDir, { recursive: true });
  return files.map((f, i) => {
    const out = path.join(outDir, `${i}-${path.basename(f)}`);
    const text = rewriteSuite(fs.readFileSync(f, 'utf8'), from, suite);
    if (!fs.existsSync(out) || fs.readFileSync(out, 'utf8') !== text) fs.writeFileSync(out, text);
    return out;
  });
}
