// The loaded inventory: hosts, groups and every variable with the place it was defined.

import type { SourcePos } from '../errors.js';
import type { ValueMark } from './pyjson.js';

/** One definition of a variable. */
export interface VarEntry {
  value: unknown;
  /** Where the variable's key was written (file:line:col), or the -e argument it came from. */
  pos: SourcePos;
  /** A float in Ansible's eyes (prints as `1.0`), or an `!unsafe` string (not to be templated). */
  mark?: ValueMark;
}

/** Variables of one source (a group in the inventory file, one group_vars file, the -e flags...). */
export type VarLayer = Map<string, VarEntry>;

export interface Group {
  name: string;
  /** First place the group is named; undefined for the implicit `all` / `ungrouped`. */
  pos?: SourcePos;
  /** Hosts listed directly under this group, in the order they were added. */
  hosts: string[];
  /** Direct child groups, in the order they were added (for `all`: `ungrouped` first, like Ansible). */
  children: string[];
  parents: string[];
  /** Longest path from `all` (all = 0, its children 1, ...): the first key when merging group vars. */
  depth: number;
  /** ansible_group_priority from the inventory file (default 1): second key when merging. */
  priority: number;
  /** Vars from the inventory file. */
  vars: VarLayer;
  /** Vars from group_vars/<name> (file or directory), merged in load order. */
  fileVars: VarLayer;
}

export interface Host {
  name: string;
  /** First place the host is listed. */
  pos: SourcePos;
  /** Groups that list the host directly, in the order met (ancestors are not included). */
  groups: string[];
  /** Vars from the inventory file (all of the host's entries, later entries win). */
  vars: VarLayer;
  /** Vars from host_vars/<name>. */
  fileVars: VarLayer;
}

export interface Inventory {
  /** The inventory file as given to loadInventory. */
  file: string;
  /** Hosts in the order they first appear in the file. */
  hosts: Map<string, Host>;
  /** Groups in creation order; always has `all` and `ungrouped`. */
  groups: Map<string, Group>;
  /** group_vars/host_vars files that were read, in load order. */
  varsFiles: string[];
  /** Things that are allowed but look like mistakes (group_vars for an unknown group...). */
  warnings: string[];
}

/** Merged variables of one host with the winning definition of each. */
export interface HostVars {
  vars: Record<string, unknown>;
  sources: Record<string, SourcePos>;
}
