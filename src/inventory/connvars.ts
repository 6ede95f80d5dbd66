// Connection variables: the ones the runner reads to reach a host, checked wherever they are defined.
//
//   ansible_host                  string   address or name to dial (default: the inventory name)
//   ansible_port                  int      1..65535 (a string of digits is accepted: `-e ansible_port=2222`)
//   ansible_user                  string
//   ansible_ssh_private_key_file  string   path of the private key
//   ansible_become                bool     run commands through sudo
//   ansible_become_user           string
//   ansible_connection            'ssh' | 'local'
//   ansible_host_key_checking     bool
//
// Aliases (Ansible's own older names; like Ansible, the alias wins when both are set for a host):
//   ansible_ssh_host -> ansible_host, ansible_ssh_port -> ansible_port, ansible_ssh_user -> ansible_user,
//   ansible_private_key_file -> ansible_ssh_private_key_file,
//   ansible_ssh_host_key_checking -> ansible_host_key_checking
//
// Booleans accept what Ansible's boolean() accepts: true/false, yes/no, on/off, 1/0, y/n, t/f (any case).
// A string holding a template (`{{ ... }}`) is not checked here: its type is only known after templating.

import { InputError, type SourcePos } from '../errors.js';
import type { HostVars } from './types.js';

type Kind = 'string' | 'port' | 'bool' | 'connection';

const CANONICAL: Record<string, Kind> = {
  ansible_host: 'string',
  ansible_port: 'port',
  ansible_user: 'string',
  ansible_ssh_private_key_file: 'string',
  ansible_become: 'bool',
  ansible_become_user: 'string',
  ansible_connection: 'connection',
  ansible_host_key_checking: 'bool',
};

/** Alias -> canonical name. */
export const CONN_VAR_ALIASES: Record<string, string> = {
  ansible_ssh_host: 'ansible_host',
  ansible_ssh_port: 'ansible_port',
  ansible_ssh_user: 'ansible_user',
  ansible_private_key_file: 'ansible_ssh_private_key_file',
  ansible_ssh_host_key_checking: 'ansible_host_key_checking',
};

export const CONN_VAR_NAMES: readonly string[] = [...Object.keys(CANONICAL), ...Object.keys(CONN_VAR_ALIASES)];

const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);

function isTemplate(v: unknown): boolean {
  return typeof v === 'string' && /\{\{|\{%/.test(v);
}

function kindOf(name: string): Kind | undefined {
  return CANONICAL[CONN_VAR_ALIASES[name] ?? name];
}

function show(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}

function toPort(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
  }
  return undefined;
}

/** Throws InputError (at `pos`) when `name` is a connection variable and `value` has the wrong type. */
export function checkConnVar(name: string, value: unknown, pos: SourcePos): void {
  const kind = kindOf(name);
  if (!kind || isTemplate(value)) return;
  switch (kind) {
    case 'string':
      if (typeof value !== 'string' || value === '')
        throw new InputError(
          `${name} must be a non-empty string, found ${show(value)}`,
          pos,
          `write it as ${name}: "value" (quote it if YAML reads it as a number)`,
        );
      return;
    case 'port':
      if (toPort(value) === undefined)
        throw new InputError(`${name} must be an integer from 1 to 65535, found ${show(value)}`, pos, `write a port number, e.g. ${name}: 22`);
      return;
    case 'bool':
      if (toBool(value) === undefined) throw new InputError(`${name} must be a boolean, found ${show(value)}`, pos, `write ${name}: true or ${name}: false`);
      return;
    case 'connection':
      if (value !== 'ssh' && value !== 'local')
        throw new InputError(
          `${name} must be 'ssh' or 'local', found ${show(value)}`,
          pos,
          'this runner connects over ssh, or runs commands on this machine with local',
        );
      return;
  }
}

/** Typed connection settings of one host (only those that are set). */
export interface ConnVars {
  ansible_host?: string;
  ansible_port?: number;
  ansible_user?: string;
  ansible_ssh_private_key_file?: string;
  ansible_become?: boolean;
  ansible_become_user?: string;
  ansible_connection?: 'ssh' | 'local';
  ansible_host_key_checking?: boolean;
}

/**
 * Read the connection settings out of merged host vars (aliases resolved, values converted).
 * Templated values are rejected here: resolve templates before calling this.
 */
export function connVars(hv: HostVars): ConnVars {
  const out: Record<string, unknown> = {};
  for (const canonical of Object.keys(CANONICAL)) {
    const names = [canonical, ...Object.keys(CONN_VAR_ALIASES).filter((a) => CONN_VAR_ALIASES[a] === canonical)];
    const name = names.filter((n) => n in hv.vars).pop();
    if (!name) continue;
    const value = hv.vars[name];
    const pos = hv.sources[name] ?? { file: '<vars>' };
    if (isTemplate(value))
      throw new InputError(
        `${name} is a template (${String(value)}); it must be resolved before connecting`,
        pos,
        'template the host vars first, or write the plain value',
      );
    checkConnVar(name, value, pos);
    const kind = CANONICAL[canonical];
    out[canonical] = kind === 'port' ? toPort(value) : kind === 'bool' ? toBool(value) : value;
  }
  return out as ConnVars;
}
