// Loads what a run needs before any host is touched: inventory (+ group_vars/host_vars), -e vars,
// host selection, and each host's connection settings (ansible_* vars may be templates).

import { InputError } from './errors.js';
import type { ConnectSpec, HostKeyPolicy } from './connection/types.js';
import {
  connVars,
  hostVarLayers,
  hostVars,
  inventoryHostJson,
  loadInventory,
  parseExtraVars,
  selectHosts,
  type Inventory,
  type VarLayer,
} from './inventory/index.js';
import { resolveConnectSpec } from './connection/ssh-config.js';
import { PLACEHOLDER_FACTS, magicVars, mergeLayers, renderError, type HostWork, type SourcedVars } from './runner/prepare.js';
import type { TaskDef } from './task.js';
import type { LayerValue } from './runner/partition-checks.js';
import { LazyVars, type Templates } from './template.js';
import { TASKS } from '../tasks/index.js';

export interface ProjectArgs {
  inventory: string;
  extraVars: string[];
  hostKeyPolicy?: HostKeyPolicy;
  sshConfig?: string;
  check: boolean;
}

export interface Project {
  inventory: Inventory;
  registry: Record<string, TaskDef>;
  extraVars: SourcedVars;
  hostVars(host: string): SourcedVars;
  /** Every inventory definition of one variable for a host, lowest precedence first. */
  varLayers(host: string, name: string): LayerValue[];
  hostJson(host: string): unknown;
  /** Hosts allowed by --limit (all when not given). */
  limit(pattern?: string): Set<string>;
  select(pattern: string): string[];
  connectSpecs(work: HostWork[], templates: Templates): Map<string, ConnectSpec>;
  /**
   * The `hostvars` magic variable: every inventory host's name and the address mskplay connects to
   * (ansible_host, else the name), computed when read. Only these: another host's other vars may
   * need its facts, which this host does not have.
   */
  hostvars(templates: Templates): Record<string, { inventory_hostname: string; ansible_host: string }>;
}

function toSourced(layer: VarLayer): SourcedVars {
  const out: SourcedVars = { vars: {}, sources: {} };
  for (const [k, e] of layer) {
    out.vars[k] = e.value;
    out.sources[k] = e.pos;
  }
  return out;
}

export function loadProject(args: ProjectArgs, root: string): Project {
  void root;
  const inventory = loadInventory(args.inventory);
  const extraLayer = parseExtraVars(args.extraVars, process.cwd());
  const extraVars = toSourced(extraLayer);
  /** A host's ansible_* vars, rendered (they may be templates). */
  const connectionVars = (host: string, templates: Templates): SourcedVars => {
    const merged = mergeLayers(hostVars(inventory, host), extraVars);
    const lazy = new LazyVars(templates, merged.vars, magicVars(host, PLACEHOLDER_FACTS, args.check));
    const rendered: SourcedVars = { vars: {}, sources: merged.sources };
    for (const k of Object.keys(merged.vars).filter((k) => k.startsWith('ansible_'))) {
      const used = new Set<string>();
      try {
        rendered.vars[k] = templates.renderValue(merged.vars[k], lazy.context(), used);
      } catch (e) {
        const stub = { name: 'connection settings', pos: merged.sources[k] } as never;
        throw renderError(e, stub, host, merged.sources[k] ?? { file: inventory.file }, merged.sources, used);
      }
    }
    return rendered;
  };
  const has = (h: string) => inventory.hosts.has(h);
  return {
    inventory,
    registry: TASKS,
    extraVars,
    hostVars: (h) => hostVars(inventory, h),
    varLayers: (h, name) =>
      hostVarLayers(inventory, h, extraLayer).flatMap(({ label, layer }) => {
        const e = layer.get(name);
        // Group 'all' is everyone's default, which any group may override: not a second instance.
        if (!e || /\ball\b/.test(label)) return [];
        return [{ label, value: e.value, pos: e.pos, group: label.includes('group') }];
      }),
    hostJson: (h) => {
      if (!has(h)) throw new InputError(`no host '${h}' in the inventory`, { file: inventory.file }, `hosts: ${[...inventory.hosts.keys()].join(', ')}`);
      return JSON.parse(inventoryHostJson(inventory, h, extraLayer));
    },
    limit: (pattern) => new Set(pattern ? selectHosts(inventory, 'all', { limit: pattern }) : inventory.hosts.keys()),
    select: (pattern) => selectHosts(inventory, pattern),
    connectSpecs: (work, templates) => {
      const specs = new Map<string, ConnectSpec>();
      for (const w of work) {
        const rendered = connectionVars(w.host, templates);
        // Typed connection vars (checked, aliases resolved) over the raw ones (ssh args, timeout, ...).
        const cv = { ...rendered.vars, ...connVars(rendered) };
        specs.set(w.host, resolveConnectSpec(w.host, cv, { sshConfigFile: args.sshConfig, hostKeyPolicy: args.hostKeyPolicy }));
      }
      return specs;
    },
    hostvars: (templates) => {
      const out: Record<string, { inventory_hostname: string; ansible_host: string }> = {};
      for (const h of inventory.hosts.keys()) {
        let address: string | undefined;
        Object.defineProperty(out, h, {
          enumerable: true,
          get: () => ({
            inventory_hostname: h,
            get ansible_host() {
              if (address === undefined) {
                const cv = connectionVars(h, templates);
                address = String(cv.vars.ansible_host ?? cv.vars.ansible_ssh_host ?? h);
              }
              return address;
            },
          }),
        });
      }
      return out;
    },
  };
}
