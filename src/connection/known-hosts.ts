// OpenSSH known_hosts files: parse, look a host's key up, append (accept-new). Format: sshd(8)
// "SSH_KNOWN_HOSTS FILE FORMAT": [@marker] patterns keytype base64-key [comment].

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number in file. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** The host field as written: comma-separated patterns, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** Parse one known_hosts text. Lines we cannot read are skipped, as ssh does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i]!.trim().split(/[ \t]+/);
    if (fields[0] === '' || fields[0]!.startsWith('#')) continue;
    let marker: KnownHostEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: ssh ignores the line
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) continue;
    const key = Buffer.from(b64, 'base64');
    // A key blob starts with its own type name; a mismatch means a corrupt line.
    if (keyTypeOf(key) !== keyType) continue;
    entries.push({ file, line: i + 1, marker, hosts, keyType, key });
  }
  return entries;
}

/** Read known_hosts files; missing ones are simply empty. */
export function loadKnownHosts(files: readonly string[]): KnownHostEntry[] {
  const all: KnownHostEntry[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new Error(`cannot read known_hosts file ${f}: ${(e as Error).message}`);
    }
    all.push(...parseKnownHosts(text, f));
  }
  return all;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** ssh's wildcard match: `*` any run, `?` one character, whole-string, case-insensitive. */
function wildcardMatch(pattern: string, name: string): boolean {
  const re = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(name);
}

/** Does this entry's host field name `name` (as made by knownHostName)? */
export function entryMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const mac = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false; // a negated match vetoes the line
    } else if (wildcardMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** Key type name read from the blob itself (uint32 length + string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const n = blob.readUInt32BE(0);
  if (n > 64 || 4 + n > blob.length) return '';
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** OpenSSH's fingerprint format: SHA256:<unpadded base64 of sha256(blob)>. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Short label like ssh prints: ssh-ed25519 -> ED25519, ecdsa-sha2-nistp256 -> ECDSA. */
export function keyLabel(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519';
  if (keyType.startsWith('ecdsa-')) return 'ECDSA';
  if (keyType === 'ssh-rsa') return 'RSA';
  if (keyType === 'ssh-dss') return 'DSA';
  return keyType;
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  /** Same key type known for this host, but a different key. */
  | { status: 'changed'; expected: KnownHostEntry[] }
  /** No key of this type known; `otherTypes` lists key types that are known for the host. */
  | { status: 'unknown'; otherTypes: string[] };

/** Look the presented key up, the way ssh decides (revoked beats everything; any match is enough). */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => e.marker === undefined && entryMatches(e.hosts, name));
  const same = forHost.find((e) => e.key.equals(key));
  if (same) return { status: 'known', entry: same };
  const type = keyTypeOf(key);
  const sameType = forHost.filter((e) => e.keyType === type);
  if (sameType.length > 0) return { status: 'changed', expected: sameType };
  return { status: 'unknown', otherTypes: [...new Set(forHost.map((e) => e.keyType))] };
}

/** ssh2's host key algorithms, in its own default order. */
const ALL_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function algorithmsForKeyType(t: string): string[] {
  return t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
}

/**
 * Host key algorithms with the types already known for this host first (as OpenSSH does), so a
 * host known by its RSA key is not reported "unknown" because it also offers ed25519.
 */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostEntry[], name: string): string[] {
  const known = entries
    .filter((e) => e.marker === undefined && entryMatches(e.hosts, name))
    .flatMap((e) => algorithmsForKeyType(e.keyType))
    .filter((a) => ALL_HOST_KEY_ALGORITHMS.includes(a));
  return [...new Set([...known, ...ALL_HOST_KEY_ALGORITHMS])];
}

/** One known_hosts line for a key (plain host name, like ssh with HashKnownHosts no). */
export function knownHostLine(name: string, key: Buffer): string {
  return `${name} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

/** Append a key to `file` (creating it and its directory), unless an identical entry is already there. */
export function appendKnownHost(file: string, name: string, key: Buffer): boolean {
  let existing = '';
  try {
    existing = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }
  const already = parseKnownHosts(existing, file).some((e) => e.marker === undefined && e.key.equals(key) && entryMatches(e.hosts, name));
  if (already) return false;
  const sep = existing === '' || existing.endsWith('\n') ? '' : '\n';
  fs.appendFileSync(file, `${sep}${knownHostLine(name, key)}\n`, { mode: 0o600 });
  return true;
}
