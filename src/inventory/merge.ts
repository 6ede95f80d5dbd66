// Merging a host's variables in Ansible's order (VariableManager.get_vars with the default
// VARIABLE_PRECEDENCE and hash_behaviour=replace), lowest to highest:
//   1. inventory file: vars of `all`
//   2. inventory file: vars of the host's other groups, sorted by (depth, ansible_group_priority, name)
//   3. group_vars/all
//   4. group_vars/<group> for the same sorted groups
//   5. inventory file: the host's own vars
//   6. host_vars/<host>
//   7. extra vars (-e), which always win
// Top-level keys replace each other; nothing is deep-merged.
// Not covered here: group_vars/host_vars beside a playbook (the playbook loader adds those layers).

import { InputError, type SourcePos } from '../errors.js';
import { cloneData, markValue, pyJsonDumps, type ValueMark } from './pyjson.js';
import type { Group, HostVars, Inventory, VarLayer } from './types.js';

export interface NamedLayer {
  /** What the layer is, e.g. "group_vars/web" or "inventory vars of group 'web'". */
  label: string;
  layer: VarLayer;
}

function host(inv: Inventory, name: string) {
  const h = inv.hosts.get(name);
  if (!h) {
    const names = [...inv.hosts.keys()];
    throw new InputError(
      `unknown host '${name}'`,
      { file: inv.file },
      `hosts in this inventory: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}`,
    );
  }
  return h;
}

/** Every group the host belongs to, directly or through parents (includes all). */
export function hostGroups(inv: Inventory, name: string): string[] {
  const seen = new Set<string>();
  const stack = [...host(inv, name).groups];
  while (stack.length) {
    const g = stack.pop()!;
    if (seen.has(g)) continue;
    seen.add(g);
    stack.push(...inv.groups.get(g)!.parents);
  }
  seen.add('all');
  return [...seen];
}

/** Ansible's group_names: the host's groups without all, sorted by name. */
export function groupNames(inv: Inventory, name: string): string[] {
  return hostGroups(inv, name)
    .filter((g) => g !== 'all')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Ansible's sort_groups: by depth, then ansible_group_priority, then name (ASCII). */
export function sortGroups(groups: Group[]): Group[] {
  return [...groups].sort((a, b) => a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The layers that make up a host's vars, lowest precedence first. */
export function hostVarLayers(inv: Inventory, name: string, extra?: VarLayer): NamedLayer[] {
  const h = host(inv, name);
  const all = inv.groups.get('all')!;
  const groups = sortGroups(
    hostGroups(inv, name)
      .filter((g) => g !== 'all')
      .map((g) => inv.groups.get(g)!),
  );
  const layers: NamedLayer[] = [
    { label: `inventory vars of group 'all'`, layer: all.vars },
    ...groups.map((g) => ({ label: `inventory vars of group '${g.name}'`, layer: g.vars })),
    { label: 'group_vars/all', layer: all.fileVars },
    ...groups.map((g) => ({ label: `group_vars/${g.name}`, layer: g.fileVars })),
    { label: `inventory vars of host '${h.name}'`, layer: h.vars },
    { label: `host_vars/${h.name}`, layer: h.fileVars },
  ];
  if (extra) layers.push({ label: 'extra vars (-e)', layer: extra });
  return layers;
}

/** A host's merged variables (a copy) and, for each, where the winning definition was written. */
export function hostVars(inv: Inventory, name: string, extra?: VarLayer): HostVars {
  const vars: Record<string, unknown> = {};
  const sources: Record<string, SourcePos> = {};
  const marks = new Map<string, ValueMark>();
  for (const { layer } of hostVarLayers(inv, name, extra)) {
    for (const [k, entry] of layer) {
      vars[k] = cloneData(entry.value);
      sources[k] = entry.pos;
      if (entry.mark) marks.set(k, entry.mark);
      else marks.delete(k);
    }
  }
  for (const [k, m] of marks) markValue(vars, k, m);
  return { vars, sources };
}

/** The JSON text `ansible-inventory -i <file> --host <name> [-e ...]` prints for this host. */
export function inventoryHostJson(inv: Inventory, name: string, extra?: VarLayer): string {
  return pyJsonDumps(hostVars(inv, name, extra).vars);
}
