// Loading Ansible's YAML inventory format (plugins/inventory/yaml.py semantics) plus group_vars/ and
// host_vars/ beside the file. Where Ansible only warns (unknown keys, wrong section types, a host named
// like a group) we refuse with an InputError naming file:line:col, because a run on the wrong hosts
// or with silently dropped vars is worse than stopping before any host is touched.

import path from 'node:path';
import { isMap, isScalar, isSeq, type Node, isPair } from 'yaml';
import { InputError, type SourcePos } from '../errors.js';
import { closest, expandHostRange, GROUP_NAME_HINT, HOST_NAME_HINT, isValidGroupName, isValidHostName, splitHostPort } from './names.js';
import type { Group, Host, Inventory } from './types.js';
import { keyName, readVarsMapping, setVar } from './varlayer.js';
import { findVarsFiles, loadVarsFiles, varsDirEntries, varsDirIsFile } from './varsdir.js';
import { deref, describeNode, posOf, readYamlFile, type YamlSource } from './yamlfile.js';

const SECTIONS = ['hosts', 'children', 'vars'];
const EXAMPLE = 'a minimal inventory is:\nall:\n  hosts:\n    web1:\n      ansible_host: 192.0.2.10';

function newGroup(name: string, pos?: SourcePos): Group {
  return { name, pos, hosts: [], children: [], parents: [], depth: 0, priority: 1, vars: new Map(), fileVars: new Map() };
}

function isNullNode(node: Node | null | undefined): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

class InventoryBuilder {
  readonly groups = new Map<string, Group>([
    ['all', newGroup('all')],
    ['ungrouped', newGroup('ungrouped')],
  ]);
  readonly hosts = new Map<string, Host>();

  constructor(private readonly src: YamlSource) {
    this.link('all', 'ungrouped');
  }

  private get file(): string {
    return this.src.file;
  }

  parseRoot(): void {
    const root = deref(this.src, this.src.doc.contents as Node | null);
    if (isNullNode(root)) throw new InputError('inventory is empty', { file: this.file }, EXAMPLE);
    if (!isMap(root))
      throw new InputError(`inventory must be a mapping of group names (all: ...), found ${describeNode(root)}`, posOf(this.src, root), EXAMPLE);
    for (const pair of root.items) {
      if (isScalar(pair.key) && pair.key.value === 'plugin')
        throw new InputError('this is an inventory plugin configuration, not a YAML inventory', posOf(this.src, pair.key as Node), EXAMPLE);
    }
    for (const pair of root.items) this.parseGroup(pair.key as Node, pair.value as Node | null);
  }

  private parseGroup(keyNode: Node, valueNode: Node | null): string {
    const src = this.src;
    const pos = posOf(src, keyNode);
    const name = keyName(src, keyNode, 'a group name');
    if (!isValidGroupName(name)) throw new InputError(`invalid group name '${name}'`, pos, GROUP_NAME_HINT);
    if (!this.groups.has(name)) this.groups.set(name, newGroup(name, pos));
    const group = this.groups.get(name)!;
    group.pos ??= pos;
    const node = deref(src, valueNode);
    if (isNullNode(node)) return name;
    if (!isMap(node))
      throw new InputError(
        `group '${name}' must be a mapping with hosts, children or vars, found ${describeNode(node)}`,
        posOf(src, node),
        `write:\n${name}:\n  hosts:\n    host1:\n    host2:`,
      );
    for (const pair of node.items) {
      const keyPos = posOf(src, pair.key as Node);
      const section = keyName(src, pair.key, `a key of group '${name}'`);
      const value = deref(src, pair.value as Node | null);
      if (section === 'vars') {
        readVarsMapping(src, value, group.vars, `vars of group '${name}'`, (v, val, p) => this.priority(group, v, val, p));
      } else if (section === 'children') {
        for (const [childKey, childValue] of this.entries(value, name, 'children')) {
          const child = this.parseGroup(childKey, childValue);
          this.addChild(name, child, posOf(src, childKey));
        }
      } else if (section === 'hosts') {
        for (const [hostKey, hostValue] of this.entries(value, name, 'hosts')) this.parseHost(name, hostKey, hostValue);
      } else {
        const guess = closest(section, SECTIONS);
        throw new InputError(
          `unknown key '${section}' in group '${name}': only hosts, children and vars are allowed`,
          keyPos,
          guess ? `did you mean '${guess}'?` : 'hosts go under hosts:, sub-groups under children:, variables under vars:',
        );
      }
    }
    return name;
  }

  /** The entries of a hosts/children section: a mapping, or one name as a plain string (Ansible allows it). */
  private entries(value: Node | null | undefined, group: string, section: string): Array<[Node, Node | null]> {
    if (isNullNode(value)) return [];
    if (isScalar(value) && typeof value.value === 'string') return [[value, null]];
    if (isMap(value)) return value.items.filter(isPair).map((p) => [p.key as Node, (p.value as Node | null) ?? null]);
    const example =
      section === 'hosts'
        ? `${section}:\n    web1:\n    web2:\n  (each name is a key ending with ':', vars indented under it)`
        : `${section}:\n    webservers:\n    dbservers:`;
    throw new InputError(
      `'${section}' of group '${group}' must be a mapping of names, found ${describeNode(value)}`,
      posOf(this.src, value),
      isSeq(value) ? `use a mapping, not a list:\n  ${example}` : `write:\n  ${example}`,
    );
  }

  private parseHost(group: string, keyNode: Node, valueNode: Node | null): void {
    const src = this.src;
    const pos = posOf(src, keyNode);
    const entry = keyName(src, keyNode, 'a host name');
    const { pattern, port } = splitHostPort(entry);
    let names: string[];
    try {
      names = expandHostRange(pattern);
    } catch (e) {
      throw new InputError((e as Error).message, pos, 'a range looks like web[01:10] or db-[a:c] (end included)');
    }
    for (const name of names) if (!isValidHostName(name)) throw new InputError(`invalid host name '${name}'`, pos, HOST_NAME_HINT);
    if (port !== undefined && (port < 1 || port > 65535))
      throw new InputError(`port ${port} of host '${entry}' is out of range`, pos, 'use a port from 1 to 65535');
    const value = deref(src, valueNode);
    if (!isNullNode(value) && !isMap(value))
      throw new InputError(
        `host '${entry}' must be followed by a mapping of its variables (or nothing), found ${describeNode(value)}`,
        posOf(src, value),
        `write "${entry}:" alone, or with vars indented under it:\n  ${entry}:\n    ansible_host: 192.0.2.10`,
      );
    for (const name of names) {
      const host = this.addHost(name, group, pos, port);
      readVarsMapping(src, value, host.vars, `vars of host '${name}'`);
    }
  }

  private addHost(name: string, group: string, pos: SourcePos, port?: number): Host {
    let host = this.hosts.get(name);
    if (!host) {
      host = { name, pos, groups: [], vars: new Map(), fileVars: new Map() };
      this.hosts.set(name, host);
      // Like Ansible, a `name:port` entry sets ansible_port only where the host first appears.
      if (port !== undefined) setVar(host.vars, 'ansible_port', { value: port, pos });
    }
    const g = this.groups.get(group)!;
    if (!g.hosts.includes(name)) g.hosts.push(name);
    if (!host.groups.includes(group)) host.groups.push(group);
    return host;
  }

  /** ansible_group_priority is a setting of the group, not a variable (and only in the inventory file). */
  private priority(group: Group, name: string, value: unknown, pos: SourcePos): boolean {
    if (name !== 'ansible_group_priority') return false;
    const n = typeof value === 'number' ? Math.trunc(value) : typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n))
      throw new InputError(
        `ansible_group_priority must be an integer, found ${JSON.stringify(value)}`,
        pos,
        'write e.g. ansible_group_priority: 10 (higher wins among groups of the same depth)',
      );
    group.priority = n;
    return true;
  }

  private ancestors(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [...this.groups.get(name)!.parents];
    while (stack.length) {
      const g = stack.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      stack.push(...this.groups.get(g)!.parents);
    }
    return seen;
  }

  /** A path of children from `from` down to `to`, or undefined. */
  private pathDown(from: string, to: string): string[] | undefined {
    if (from === to) return [from];
    for (const c of this.groups.get(from)!.children) {
      const rest = this.pathDown(c, to);
      if (rest) return [from, ...rest];
    }
    return undefined;
  }

  private addChild(parent: string, child: string, pos: SourcePos): void {
    if (child === 'all') throw new InputError(`'all' cannot be a child of group '${parent}'`, pos, 'every group is already inside all; remove this entry');
    if (child === parent) throw new InputError(`group '${parent}' cannot be a child of itself`, pos, 'remove this entry from children');
    if (this.ancestors(parent).has(child)) {
      const cycle = this.pathDown(child, parent) ?? [child, parent];
      throw new InputError(
        `children form a cycle: ${[...cycle, child].join(' -> ')}`,
        pos,
        `a group cannot contain one of its ancestors: remove '${child}' from the children of '${parent}' or break the chain elsewhere`,
      );
    }
    this.link(parent, child);
  }

  private link(parent: string, child: string): void {
    const p = this.groups.get(parent)!;
    const c = this.groups.get(child)!;
    if (!p.children.includes(child)) p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  /** Ansible's reconcile_inventory: top groups go under all, hosts without a group into ungrouped. */
  reconcile(): void {
    for (const g of this.groups.values()) if (g.name !== 'all' && g.parents.length === 0) this.link('all', g.name);
    const ungrouped = this.groups.get('ungrouped')!;
    for (const host of this.hosts.values()) {
      const mine = new Set(host.groups.flatMap((g) => [g, ...this.ancestors(g)]));
      if (mine.has('ungrouped')) {
        if ([...mine].some((g) => g !== 'all' && g !== 'ungrouped')) {
          ungrouped.hosts = ungrouped.hosts.filter((h) => h !== host.name);
          host.groups = host.groups.filter((g) => g !== 'ungrouped');
        }
      } else if (!host.groups.some((g) => g !== 'all')) {
        ungrouped.hosts.push(host.name);
        host.groups.push('ungrouped');
      }
    }
    // depth = longest path from all (Ansible raises depths as edges are added; the end result is the same).
    const memo = new Map<string, number>([['all', 0]]);
    const depth = (name: string): number => {
      if (!memo.has(name)) memo.set(name, Math.max(...this.groups.get(name)!.parents.map((p) => depth(p) + 1)));
      return memo.get(name)!;
    };
    for (const g of this.groups.values()) g.depth = depth(g.name);
  }

  validate(): void {
    for (const host of this.hosts.values()) {
      const g = this.groups.get(host.name);
      if (g)
        throw new InputError(
          `'${host.name}' is both a host and a group${g.pos ? ` (group at ${g.pos.line}:${g.pos.col})` : ''}`,
          host.pos,
          'rename the host or the group: host patterns, --limit and group_vars/host_vars could not tell them apart',
        );
    }
    if (this.hosts.size === 0) throw new InputError('inventory has no hosts', { file: this.file }, EXAMPLE);
  }
}

/** An INI inventory starts with a `[group]` line (as YAML that line alone would be a list). */
function rejectIni(text: string, file: string): void {
  const first = text.split('\n').findIndex((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
  if (
    first >= 0 &&
    /^\s*\[[^\]]+\]\s*$/.test(text.split('\n')[first]) &&
    text
      .split('\n')
      .slice(first + 1)
      .some((l) => l.trim())
  )
    throw new InputError(
      'this looks like an INI inventory; only the YAML format is supported',
      { file, line: first + 1, col: 1 },
      'convert it with: ansible-inventory -i <file> --list -y > inventory.yml',
    );
}

/** Read group_vars/ and host_vars/ beside the inventory file into the groups' and hosts' fileVars. */
function loadVarsDirs(inv: Inventory): void {
  const base = path.dirname(inv.file);
  const dirs: Array<[string, Map<string, { fileVars: Group['fileVars'] }>]> = [
    ['group_vars', inv.groups],
    ['host_vars', inv.hosts],
  ];
  for (const [sub, entities] of dirs) {
    const dir = path.join(base, sub);
    if (varsDirIsFile(dir)) {
      inv.warnings.push(`${dir} is a file, not a directory: ignored`);
      continue;
    }
    for (const [name, entity] of entities) {
      const files = findVarsFiles(dir, name);
      loadVarsFiles(files, entity.fileVars);
      inv.varsFiles.push(...files);
    }
    for (const [name, file] of varsDirEntries(dir))
      if (!entities.has(name))
        inv.warnings.push(
          `${file}: no ${sub === 'group_vars' ? 'group' : 'host'} named '${name}' in ${inv.file}, so it is not used${((n) => (n ? ` (did you mean '${n}'?)` : ''))(closest(name, entities.keys()))}`,
        );
  }
}

/** Load a YAML inventory file and the group_vars/, host_vars/ beside it. Throws InputError. */
export function loadInventory(file: string): Inventory {
  const src = readYamlFile(file, rejectIni);
  const b = new InventoryBuilder(src);
  b.parseRoot();
  b.reconcile();
  b.validate();
  const inv: Inventory = { file, hosts: b.hosts, groups: b.groups, varsFiles: [], warnings: [] };
  loadVarsDirs(inv);
  return inv;
}
