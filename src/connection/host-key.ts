// The host key policy of one connection attempt: strict / accept-new / off, with the messages a
// user needs to fix a refusal (which host, which key, which file, what command).

import type { ConnectSpec } from './types.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyLabel,
  keyTypeOf,
  knownHostName,
  loadKnownHosts,
  preferredHostKeyAlgorithms,
  type KnownHostEntry,
} from './known-hosts.js';
import { shq } from './quote.js';

type HostKeySpec = Pick<ConnectSpec, 'name' | 'address' | 'port' | 'hostKeyPolicy' | 'knownHostsFiles'>;

export class HostKeyCheck {
  /** Why the key was refused (set by verify when it returns false). */
  problem?: string;
  /** Things the user should hear about even on success (e.g. a key was added). */
  readonly notices: string[] = [];
  private readonly entries: KnownHostEntry[];
  private readonly hostName: string;

  constructor(private readonly spec: HostKeySpec) {
    this.entries = spec.hostKeyPolicy === 'off' ? [] : loadKnownHosts(spec.knownHostsFiles);
    this.hostName = knownHostName(spec.address, spec.port);
  }

  /** Host key algorithms to offer, known types first. */
  algorithms(): string[] {
    return preferredHostKeyAlgorithms(this.entries, this.hostName);
  }

  private where(): string {
    const s = this.spec;
    return s.name === s.address ? `${s.address}:${s.port}` : `${s.name} (${s.address}:${s.port})`;
  }

  private filesText(): string {
    const f = this.spec.knownHostsFiles;
    return f.length ? f.join(', ') : '(no known_hosts file configured)';
  }

  /** ssh2 hostVerifier: true to go on, false (with `problem` set) to refuse. */
  verify(key: Buffer): boolean {
    const s = this.spec;
    if (s.hostKeyPolicy === 'off') return true;
    const type = keyTypeOf(key);
    const fp = `${keyLabel(type)} key ${fingerprint(key)}`;
    const v = checkHostKey(this.entries, this.hostName, key);
    switch (v.status) {
      case 'known':
        return true;
      case 'revoked':
        this.problem =
          `Host key verification failed for ${this.where()}: its ${fp} is marked @revoked in ` + `${v.entry.file}:${v.entry.line}. Refusing to connect.`;
        return false;
      case 'changed': {
        const old = v.expected.map((e) => `${fingerprint(e.key)} (${e.file}:${e.line})`).join(', ');
        const file = v.expected[0]!.file;
        this.problem = [
          '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
          '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
          '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
          `${this.where()} presented ${fp}, but known_hosts has ${old} for it.`,
          'Someone could be eavesdropping on you right now (man-in-the-middle attack),',
          'or the host key has just been changed. Refusing to connect (accept-new never replaces a key).',
          `If the change is expected, remove the old key: ssh-keygen -R ${shq(this.hostName)} -f ${shq(file)}`,
          `then add the new one: ssh-keyscan -p ${s.port} -t ${keyLabel(type).toLowerCase()} ${shq(s.address)} >> ${shq(file)}`,
        ].join('\n');
        return false;
      }
      case 'unknown': {
        if (s.hostKeyPolicy === 'accept-new') {
          const file = s.knownHostsFiles[0];
          if (!file) {
            this.problem = `Host key verification failed for ${this.where()}: accept-new has no known_hosts file to write to.`;
            return false;
          }
          try {
            if (appendKnownHost(file, this.hostName, key)) {
              this.notices.push(`Permanently added ${this.hostName} (${fp}) to ${file}.`);
            }
          } catch (e) {
            // Thrown inside ssh2's handshake this would be lost; refuse with the reason instead.
            this.problem = `Host key verification failed for ${this.where()}: cannot record its ${fp} in ${file}: ${(e as Error).message}`;
            return false;
          }
          return true;
        }
        const target = s.knownHostsFiles[0] ?? '~/.ssh/known_hosts';
        const others = v.otherTypes.length ? ` (known_hosts has keys of other types for it: ${v.otherTypes.join(', ')}; the host no longer offers them)` : '';
        this.problem =
          `Host key verification failed for ${this.where()}: its ${fp} is not in known_hosts ` +
          `(checked: ${this.filesText()})${others}.\n` +
          `  Check the fingerprint out of band, then add it: ssh-keyscan -p ${s.port} -t ${keyLabel(type).toLowerCase()} ${shq(s.address)} >> ${shq(target)}\n` +
          `  or run with --host-key-checking accept-new to record keys of hosts seen for the first time.`;
        return false;
      }
    }
  }
}
