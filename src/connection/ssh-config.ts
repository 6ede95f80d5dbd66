// Inventory vars + ~/.ssh/config -> ConnectSpec.
// Precedence: explicit inventory vars > ssh config (first match wins, like ssh) > defaults.
// The ssh config is looked up by the name ssh itself would be given: ansible_host if set, else the
// inventory name (as Ansible does). An explicit ansible_host is dialed as-is (a HostName for it is ignored).

import { parseBool } from '../bools.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SSHConfig, { type Line } from 'ssh-config';
import { InputError } from '../errors.js';
import { currentUser } from './command.js';
import type { ConnectSpec, HostKeyPolicy } from './types.js';

export interface ResolveOptions {
  /** Default: ~/.ssh/config when it exists. */
  sshConfigFile?: string;
  /** From the command line; beats inventory vars and ssh config. */
  hostKeyPolicy?: HostKeyPolicy;
  /** Replaces every known_hosts file from ssh config and the defaults. */
  knownHostsFiles?: string[];
}

const DEFAULT_CONNECT_TIMEOUT_S = 10;
/** A lost link is reported within about interval x (count + 1) = 16 s. */
export const DEFAULT_KEEPALIVE_INTERVAL_S = 4;
export const DEFAULT_KEEPALIVE_COUNT = 3;

type Vars = Record<string, unknown>;

function bad(name: string, msg: string, hint?: string): InputError {
  return new InputError(`host ${name}: ${msg}`, undefined, hint);
}

function str(name: string, vars: Vars, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = vars[k];
    if (v === undefined || v === null) continue;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string' || v === '') throw bad(name, `${k} must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }
  return undefined;
}

function bool(name: string, key: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  const b = parseBool(v);
  if (b !== undefined) return b;
  throw bad(name, `${key} must be true or false, got ${JSON.stringify(v)}`);
}

function port(name: string, key: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : /^\d+$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw bad(name, `${key} must be a port number (1-65535), got ${JSON.stringify(v)}`);
  return n;
}

/** ssh's path expansion: leading ~ and the %d %u %r %h %p %n %% tokens. */
export function expandSshPath(p: string, t: { host: string; port: number; user: string; original: string }): string {
  let s = p.replace(/%([durhpn%])/g, (_, c: string) => {
    switch (c) {
      case 'd':
        return os.homedir();
      case 'u':
        return currentUser();
      case 'r':
        return t.user;
      case 'h':
        return t.host;
      case 'p':
        return String(t.port);
      case 'n':
        return t.original;
      default:
        return '%';
    }
  });
  if (s === '~') s = os.homedir();
  else if (s.startsWith('~/')) s = path.join(os.homedir(), s.slice(2));
  return s;
}

const configCache = new Map<string, { mtimeMs: number; config: SSHConfig }>();

/** Drop directives that would make ssh-config run DNS lookups (CanonicalizeHostName): we dial only what we are told. */
function stripCanonicalization(lines: Line[]): void {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (!('param' in l)) continue;
    if (/^Canonical/i.test(l.param)) lines.splice(i, 1);
    else if ('config' in l) stripCanonicalization(l.config);
  }
}

function loadConfig(file: string): SSHConfig {
  const st = fs.statSync(file);
  const hit = configCache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.config;
  let config: SSHConfig;
  try {
    config = SSHConfig.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`cannot parse ssh config: ${(e as Error).message}`, { file });
  }
  stripCanonicalization(config);
  configCache.set(file, { mtimeMs: st.mtimeMs, config });
  return config;
}

/** The ssh config file to read: the explicit one (must exist), else ~/.ssh/config if present. */
function configFile(explicit?: string): string | undefined {
  if (explicit !== undefined) {
    if (!fs.existsSync(explicit)) throw new InputError(`ssh config file not found`, { file: explicit });
    return explicit;
  }
  const def = path.join(os.homedir(), '.ssh', 'config');
  return fs.existsSync(def) ? def : undefined;
}

/** Computed ssh config params for `host` (lower-case keys; Match exec is never run). */
export function sshConfigFor(host: string, file?: string): Record<string, string | string[]> {
  const f = configFile(file);
  if (!f) return {};
  return loadConfig(f).compute(host, { ignoreCase: true, matchExec: false });
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean);
}

function policyFromSsh(name: string, v: string | undefined): HostKeyPolicy | undefined {
  if (v === undefined) return undefined;
  switch (v.toLowerCase()) {
    case 'yes':
    case 'ask': // we never prompt: ask behaves like yes
      return 'strict';
    case 'no':
    case 'off':
      return 'off';
    case 'accept-new':
      return 'accept-new';
    default:
      throw bad(name, `ssh config: StrictHostKeyChecking ${v} is not one of yes, no, accept-new, ask`);
  }
}

function policyFromVar(name: string, v: unknown): HostKeyPolicy | undefined {
  if (v === 'accept-new') return 'accept-new';
  const b = bool(name, 'ansible_host_key_checking', v);
  return b === undefined ? undefined : b ? 'strict' : 'off';
}

function transportOf(name: string, vars: Vars): 'ssh' | 'local' {
  const c = vars.ansible_connection;
  if (c === undefined || c === null) return name === 'localhost' ? 'local' : 'ssh';
  if (c === 'local') return 'local';
  if (c === 'ssh' || c === 'smart' || c === 'paramiko') return 'ssh';
  throw bad(name, `ansible_connection ${JSON.stringify(c)} is not supported`, 'use ssh or local');
}

function agentPath(v: string | undefined, expand: (p: string) => string): string | undefined {
  if (v === undefined || v === 'SSH_AUTH_SOCK') return process.env.SSH_AUTH_SOCK || undefined;
  if (v === 'none') return undefined;
  if (v.startsWith('$')) return process.env[v.slice(1)] || undefined;
  return expand(v);
}

/** The `-o Key=Value` (or `-o Key Value`) options of ansible_ssh_common_args and ansible_ssh_extra_args. */
export function sshArgOptions(name: string, vars: Vars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
    const v = vars[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') throw bad(name, `${k} must be a string of ssh options`);
    const words = v.trim().split(/\s+/);
    for (let i = 0; i < words.length; i++) {
      if (words[i] !== '-o' && !words[i].startsWith('-o')) continue;
      let opt = words[i] === '-o' ? (words[++i] ?? '') : words[i].slice(2);
      if (!opt.includes('=') && words[i + 1] !== undefined && !words[i + 1].startsWith('-')) opt += '=' + words[++i];
      const eq = opt.indexOf('=');
      if (eq > 0) out[opt.slice(0, eq).toLowerCase()] = opt.slice(eq + 1);
    }
  }
  return out;
}

/** Resolve how to reach one inventory host. Throws InputError on invalid vars. */
export function resolveConnectSpec(name: string, vars: Vars, opts: ResolveOptions = {}): ConnectSpec {
  const transport = transportOf(name, vars);
  const become = bool(name, 'ansible_become', vars.ansible_become) ?? false;
  const becomeUser = str(name, vars, 'ansible_become_user') ?? 'root';
  const varHost = str(name, vars, 'ansible_host', 'ansible_ssh_host');
  const varPort = port(name, 'ansible_port', vars.ansible_port ?? vars.ansible_ssh_port);
  const varUser = str(name, vars, 'ansible_user', 'ansible_ssh_user');
  const varKey = str(name, vars, 'ansible_ssh_private_key_file', 'ansible_private_key_file');
  const varTimeout = vars.ansible_timeout;

  const original = varHost ?? name;
  // `-o Key=Value` in ansible_ssh_common_args / ansible_ssh_extra_args beat ~/.ssh/config, as with ssh.
  const cfg = transport === 'ssh' ? { ...sshConfigFor(original, opts.sshConfigFile), ...sshArgOptions(name, vars) } : {};

  const cfgHostName = first(cfg.hostname);
  const address = varHost ?? (cfgHostName ? cfgHostName.replace(/%h/g, original).replace(/%%/g, '%') : name);
  const p = varPort ?? port(name, 'ssh config Port', first(cfg.port)) ?? 22;
  const user = varUser ?? first(cfg.user) ?? currentUser();
  const expand = (s: string): string => expandSshPath(s, { host: address, port: p, user, original });

  const cfgKey = list(cfg.identityfile).find((f) => f.toLowerCase() !== 'none');
  const keyFile = varKey ?? cfgKey;

  let timeoutS = DEFAULT_CONNECT_TIMEOUT_S;
  const t = varTimeout ?? first(cfg.connecttimeout);
  if (t !== undefined && t !== null) {
    timeoutS = Number(t);
    if (!(timeoutS > 0)) throw bad(name, `connect timeout must be a positive number of seconds, got ${JSON.stringify(t)}`);
  }

  // Set as in OpenSSH: ServerAliveInterval / ServerAliveCountMax in ~/.ssh/config or as -o options
  // in ansible_ssh_common_args (what an Ansible user already writes for the same purpose).
  const alive = (v: string | undefined, what: string, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw bad(name, `${what} must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const keepaliveS = alive(first(cfg.serveraliveinterval), 'ServerAliveInterval', DEFAULT_KEEPALIVE_INTERVAL_S, 1);
  const keepaliveCount = alive(first(cfg.serveralivecountmax), 'ServerAliveCountMax', DEFAULT_KEEPALIVE_COUNT, 1);

  let knownHostsFiles = opts.knownHostsFiles;
  if (!knownHostsFiles) {
    const userFiles = list(cfg.userknownhostsfile);
    const globalFiles = list(cfg.globalknownhostsfile);
    knownHostsFiles = [
      ...(userFiles.length ? userFiles : ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']),
      ...(globalFiles.length ? globalFiles : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']),
    ]
      .filter((f) => f.toLowerCase() !== 'none')
      .map(expand);
  }

  const hostKeyPolicy =
    opts.hostKeyPolicy ?? policyFromVar(name, vars.ansible_host_key_checking) ?? policyFromSsh(name, first(cfg.stricthostkeychecking)) ?? 'strict';

  const spec: ConnectSpec = {
    name,
    transport,
    address: transport === 'local' ? name : address,
    port: p,
    user: transport === 'local' ? currentUser() : user,
    become,
    becomeUser,
    hostKeyPolicy,
    knownHostsFiles,
    connectTimeoutMs: Math.round(timeoutS * 1000),
    keepaliveIntervalMs: keepaliveS * 1000,
    keepaliveCountMax: keepaliveCount,
  };
  if (keyFile !== undefined) spec.privateKeyFile = expand(keyFile);
  const agent = agentPath(first(cfg.identityagent), expand);
  if (agent !== undefined) spec.agent = agent;
  return spec;
}
