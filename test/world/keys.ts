// SSH keys of the world: one client key (the runner's and the tests' identity, root on every host),
// a host key per host, and the known_hosts file listing them (tests keep host-key checking on).

import fs from 'node:fs';
import path from 'node:path';
import { hostDomain, hostIp, runPath } from './config.js';
import { writeFileAtomic } from './fsutil.js';
import { runOk } from './proc.js';

export const sshDir = () => runPath('ssh');
/** Private key that logs in as root on every host. */
export const clientKeyPath = () => path.join(sshDir(), 'id_ed25519');
export const knownHostsPath = () => path.join(sshDir(), 'known_hosts');

async function keygen(file: string, comment: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** Create the client key pair once per run. */
export async function ensureClientKey(): Promise<string> {
  if (!fs.existsSync(clientKeyPath())) await keygen(clientKeyPath(), 'mss-world-client');
  return clientKeyPath();
}

export function clientPublicKey(): string {
  return fs.readFileSync(`${clientKeyPath()}.pub`, 'utf8');
}

/** A host's key pair (kept in its host dir, outside the overlay, so a reset keeps it). */
export async function ensureHostKey(hostDir: string, name: string): Promise<{ priv: string; pub: string }> {
  const file = path.join(hostDir, 'ssh_host_ed25519_key');
  if (!fs.existsSync(file)) await keygen(file, `root@${name}`);
  return { priv: file, pub: `${file}.pub` };
}

/** known_hosts line for host i: its address and names, then `ssh-ed25519 <key>`. */
export function knownHostsLine(index: number, name: string, pubKeyText: string): string {
  const [type, key] = pubKeyText.trim().split(/\s+/);
  return `${hostIp(index)},${name},${hostDomain(index)} ${type} ${key}`;
}

/** Rewrite known_hosts from the given hosts (name, index, host dir). */
export function writeKnownHosts(hosts: { name: string; index: number; dir: string }[]): void {
  const lines = hosts
    .sort((a, b) => a.index - b.index)
    .flatMap((h) => {
      const pub = path.join(h.dir, 'ssh_host_ed25519_key.pub');
      return fs.existsSync(pub) ? [knownHostsLine(h.index, h.name, fs.readFileSync(pub, 'utf8'))] : [];
    });
  writeFileAtomic(knownHostsPath(), lines.join('\n') + (lines.length ? '\n' : ''), 0o644);
}
