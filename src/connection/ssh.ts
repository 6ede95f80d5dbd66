// SSH transport: one node-ssh connection per host for the whole run; every exec is a channel on it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientChannel } from 'ssh2';
import { UnreachableError } from '../errors.js';
import { becomeFailure, commandArgv, signalExitCode, TIMEOUT_KILL_AFTER_S, type CommandOptions } from './command.js';
import { HostKeyCheck } from './host-key.js';
import { shJoin } from './quote.js';
import type { ConnectSpec, Connection, ExecOptions, ExecResult } from './types.js';

/**
 * Channels open at once on one connection. OpenSSH's default MaxSessions is 10, and sshd frees a
 * session slot a little after the channel closes, so stay well below it (and retry, see below).
 */
const MAX_CHANNELS = 5;
/** Retries of a refused channel open (the command never started, so retrying is safe). */
const OPEN_RETRIES = 20;
/** Identity files ssh tries when none is configured. */
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

class Slots {
  private free: number;
  private waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** Auth methods in ssh's order: agent, then key files. Bad explicit key files fail loudly. */
function authMethods(spec: ConnectSpec): { methods: AnyAuthMethod[]; tried: string[] } {
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  const username = spec.user;
  if (spec.agent && fs.existsSync(spec.agent)) {
    methods.push({ type: 'agent', username, agent: spec.agent });
    tried.push(`ssh-agent (${spec.agent})`);
  }
  const explicit = spec.privateKeyFile !== undefined;
  const files = explicit ? [spec.privateKeyFile!] : DEFAULT_IDENTITIES.map((f) => path.join(os.homedir(), '.ssh', f)).filter((f) => fs.existsSync(f));
  for (const file of files) {
    let text: Buffer;
    try {
      text = fs.readFileSync(file);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      throw new UnreachableError(`${spec.name}: private key file ${file} ${why}.`);
    }
    const parsed = ssh2.utils.parseKey(text);
    if (parsed instanceof Error) {
      if (!explicit) continue; // like ssh: a default key it cannot use is skipped
      const why = /passphrase/i.test(parsed.message)
        ? 'is encrypted (passphrases are not supported: load it into ssh-agent instead)'
        : `is not a usable private key (${parsed.message})`;
      throw new UnreachableError(`${spec.name}: private key file ${file} ${why}.`);
    }
    methods.push({ type: 'publickey', username, key: text });
    tried.push(`key ${file}`);
  }
  return { methods, tried };
}

/** A human reason for a failed connect, never including key material. */
function describeConnectError(spec: ConnectSpec, e: unknown, tried: string[]): string {
  const where = `${spec.user}@${spec.address}:${spec.port}`;
  const err = e as Error & { code?: string; level?: string };
  const code = err?.code ?? '';
  if (err?.level === 'client-authentication') {
    return `authentication failed for ${where} (tried: ${tried.join(', ') || 'nothing'}). Check ansible_user and the key in the host's authorized_keys.`;
  }
  if (err?.level === 'client-timeout' || code === 'ETIMEDOUT' || /timed out/i.test(err?.message ?? '')) {
    return `connection to ${where} timed out after ${spec.connectTimeoutMs} ms (host down or port filtered?)`;
  }
  const byCode: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is sshd running and listening on that port?)',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name could not be resolved',
    EAI_AGAIN: 'host name could not be resolved (temporary DNS failure)',
    ECONNRESET: 'connection reset by the server during the handshake',
  };
  const reason = byCode[code] ?? (err?.message || String(e));
  return `cannot connect to ${where}: ${reason}`;
}

/** sshd said no to a channel (MaxSessions reached for a moment). */
class ChannelOpenRefused extends UnreachableError {}

export class SshConnection implements Connection {
  readonly name: string;
  /** Non-fatal things the user should hear about (e.g. "Permanently added ... to known_hosts"). */
  readonly notices: string[] = [];
  private count = 0;
  private lost?: string;
  private readonly slots = new Slots(MAX_CHANNELS);

  private constructor(
    private readonly spec: ConnectSpec,
    private readonly ssh: NodeSSH,
  ) {
    this.name = spec.name;
    const client = ssh.connection!;
    // Without an 'error' listener a dropped connection would crash the whole process.
    client.on('error', (e: Error) => (this.lost ??= `connection to ${spec.address}:${spec.port} failed: ${e.message}`));
    client.on('close', () => (this.lost ??= `connection to ${spec.address}:${spec.port} was closed`));
  }

  /** Open the connection (host key check + auth) or throw UnreachableError saying why. */
  static async open(spec: ConnectSpec): Promise<SshConnection> {
    let hostKey: HostKeyCheck;
    try {
      hostKey = new HostKeyCheck(spec);
    } catch (e) {
      throw new UnreachableError(`${spec.name}: ${(e as Error).message}`);
    }
    const { methods, tried } = authMethods(spec);
    if (methods.length === 0) {
      throw new UnreachableError(`${spec.name}: no SSH credentials: set ansible_ssh_private_key_file (or IdentityFile in ~/.ssh/config), or start ssh-agent.`);
    }
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: spec.address,
        port: spec.port,
        username: spec.user,
        readyTimeout: spec.connectTimeoutMs,
        keepaliveInterval: spec.keepaliveIntervalMs,
        keepaliveCountMax: spec.keepaliveCountMax,
        hostVerifier: (key: Buffer) => hostKey.verify(key),
        algorithms: { serverHostKey: hostKey.algorithms() as ssh2.ServerHostKeyAlgorithm[] },
        authHandler: methods,
      });
    } catch (e) {
      ssh.dispose();
      if (hostKey.problem) throw new UnreachableError(hostKey.problem);
      throw new UnreachableError(`${spec.name}: ${describeConnectError(spec, e, tried)}`);
    }
    const conn = new SshConnection(spec, ssh);
    conn.notices.push(...hostKey.notices);
    return conn;
  }

  get commandCount(): number {
    return this.count;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.lost || !this.ssh.isConnected()) throw new UnreachableError(`${this.name}: ${this.lost ?? 'not connected'}`);
    const copts: CommandOptions = {
      loginUser: this.spec.user,
      become: this.spec.become,
      becomeUser: this.spec.becomeUser,
      timeoutMs: opts.timeoutMs,
    };
    const line = shJoin(commandArgv(command, copts));
    this.count++;
    await this.slots.take();
    let res: ExecResult;
    try {
      res = await this.runChannelRetrying(line, opts);
    } finally {
      this.slots.give();
    }
    const refused = becomeFailure(this.name, res, copts);
    if (refused) throw refused;
    return res;
  }

  private async runChannelRetrying(line: string, opts: ExecOptions): Promise<ExecResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.runChannel(line, opts);
      } catch (e) {
        if (!(e instanceof ChannelOpenRefused) || attempt >= OPEN_RETRIES) throw e;
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
    }
  }

  private async runChannel(line: string, opts: ExecOptions): Promise<ExecResult> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let channel: ClientChannel | undefined;
    let killedHere = false;
    const started = Date.now();
    // The host's timeout(1) normally ends the command; this is the fallback when the host does not answer.
    const fallback =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => {
              killedHere = true;
              channel?.signal('KILL');
              channel?.close();
            },
            opts.timeoutMs + (TIMEOUT_KILL_AFTER_S + 5) * 1000,
          );
    let r;
    try {
      r = await this.ssh.execCommand(line, {
        stdin: opts.stdin === undefined ? undefined : Readable.from([Buffer.from(opts.stdin)]),
        noTrim: true,
        onChannel: (c) => (channel = c),
        onStdout: (b) => {
          out.push(b);
          opts.onStdout?.(b.toString('utf8'));
        },
        onStderr: (b) => err.push(b),
      });
    } catch (e) {
      if (this.lost) throw new UnreachableError(`${this.name}: ${this.lost}`);
      const msg = (e as Error).message;
      if (/Channel open failure/i.test(msg)) throw new ChannelOpenRefused(`${this.name}: sshd refused a new channel: ${msg}`);
      throw new UnreachableError(`${this.name}: could not open an SSH channel: ${msg}`);
    } finally {
      if (fallback) clearTimeout(fallback);
    }
    const stdout = Buffer.concat(out).toString('utf8');
    const stderr = Buffer.concat(err).toString('utf8');
    if (killedHere) return { code: 124, stdout, stderr, timedOut: true };
    if (r.code === null && r.signal === null) {
      // No exit status: the channel died with the connection.
      throw new UnreachableError(`${this.name}: ${this.lost ?? 'connection lost while a command was running'}`);
    }
    let code = r.code ?? signalExitCode(r.signal);
    const timedOut = opts.timeoutMs !== undefined && (code === 124 || code === 137) && Date.now() - started >= opts.timeoutMs;
    if (timedOut) code = 124;
    return timedOut ? { code, stdout, stderr, timedOut } : { code, stdout, stderr };
  }

  async close(): Promise<void> {
    const client = this.ssh.connection;
    if (!client) return;
    const closed = new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
    this.lost ??= 'connection closed by us';
    this.ssh.dispose();
    await closed;
  }
}
