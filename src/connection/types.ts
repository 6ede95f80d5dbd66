// The one interface every task talks to a host through. Implementations: ssh.ts (node-ssh), local.ts (zx).

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when timeoutMs ran out and the command was killed (code is then 124, like timeout(1)). */
  timedOut?: boolean;
}

export interface ExecOptions {
  /** Bytes fed to the command's stdin. The only way secrets may reach a host. */
  stdin?: string | Buffer;
  /** Kill the command after this many ms (default: none). */
  timeoutMs?: number;
  /** Called with each chunk of stdout as it arrives (a long copy's progress); the result still has it all. */
  onStdout?: (chunk: string) => void;
}

export interface Connection {
  /** Inventory name of the host. */
  readonly name: string;
  /**
   * Run `command` with /bin/sh -c on the host (through `sudo -n` when become is on).
   * Never throws for a non-zero exit; throws UnreachableError when the transport is gone.
   * The command string must not contain secrets: it may be logged and is visible in `ps`.
   */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Commands (SSH channels) run so far: the benchmark counts round trips with it. */
  readonly commandCount: number;
  close(): Promise<void>;
}

export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

/** Everything needed to open a connection, resolved from inventory vars (+ ~/.ssh/config). */
export interface ConnectSpec {
  /** Inventory name. */
  name: string;
  /** 'ssh' or 'local' (ansible_connection). */
  transport: 'ssh' | 'local';
  /** Address or name to dial (ansible_host; default: name, after ~/.ssh/config HostName). */
  address: string;
  port: number;
  user: string;
  privateKeyFile?: string;
  /** Path of an ssh-agent socket (default: $SSH_AUTH_SOCK). */
  agent?: string;
  become: boolean;
  becomeUser: string;
  hostKeyPolicy: HostKeyPolicy;
  /** known_hosts files to check against and (accept-new) append to; first one is written. */
  knownHostsFiles: string[];
  connectTimeoutMs: number;
  /**
   * SSH-level keepalive: a probe every interval; after this many unanswered ones the host counts
   * as lost (OpenSSH's ServerAliveInterval / ServerAliveCountMax). sshd answers them while a slow
   * command (apt, certbot) runs, so only a dead link or host trips them.
   */
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
}
