// Preflight rules across the hosts of a play's partitions, declared in the vars spec of the
// partition variable (e.g. misskey_instance): refused before any host is touched, with file:line.
//
//   one_group: true            a host gets the variable from at most one of its groups (two
//                              instance groups for one host is a mistake, not a precedence question)
//   per_partition: [a, b]      a and b are the same on every host of a partition, and no two
//                              partitions share the same values (two instances, one bucket)
//   partition_needs: {v: [[x, y], [z]]}
//                              each partition has a host with v in [x, y] and one with v in [z]
//   partition_pick: {p: {among: {v: [x, y]}}}
//                              p names the one host of those with v in [x, y] that does a job for
//                              the others (the proxy host that obtains the certificate): required
//                              and the same on all of them when there are two or more; empty or
//                              the host itself when there is one
//   partition_at_most_one: {v: {values: [x], if: b, unless: c, why: '...'}}
//                              at most one host with v in [x] where b is true, unless c is

import { parseBool } from '../bools.js';
import { InputError, formatPos, type SourcePos } from '../errors.js';
import type { VarSpec } from '../playbook/vars-spec.js';

/** A host of the play with its variables rendered (undefined when a value cannot be known yet). */
export interface HostValues {
  host: string;
  get(name: string): unknown;
  pos(name: string): SourcePos | undefined;
}

/** One definition of a variable in one of the host's inventory layers. */
export interface LayerValue {
  label: string;
  value: unknown;
  pos: SourcePos;
  /** A group's layer (not the host's own, and not -e). */
  group: boolean;
}

const show = (v: unknown) => JSON.stringify(v);

export function checkOneGroup(name: string, host: string, layers: LayerValue[]): void {
  // The host's own value or -e decides, whatever its groups say.
  if (layers.some((l) => !l.group)) return;
  const byValue = new Map<string, LayerValue>();
  for (const l of layers) if (!byValue.has(show(l.value))) byValue.set(show(l.value), l);
  if (byValue.size < 2) return;
  const [a, b] = [...byValue.values()];
  throw new InputError(
    `${host} gets ${name} ${show(a!.value)} from ${a!.label} (${formatPos(a!.pos)}) and ${show(b!.value)} from ${b!.label}: a host belongs to one instance`,
    b!.pos,
    `take ${host} out of one of those groups, or set ${name} on the host itself`,
  );
}

export function checkPartitions(name: string, spec: VarSpec, groups: Map<string, HostValues[]>): void {
  const keys = spec.per_partition ?? [];
  const seen = new Map<string, string>();
  for (const [group, hosts] of groups) {
    if (keys.length) {
      const first = hosts[0]!;
      for (const h of hosts.slice(1))
        for (const k of keys)
          if (h.get(k) !== undefined && first.get(k) !== undefined && show(h.get(k)) !== show(first.get(k)))
            throw new InputError(
              `${name} ${show(group)}: ${k} is ${show(first.get(k))} on ${first.host} but ${show(h.get(k))} on ${h.host}: the hosts of one instance share it`,
              h.pos(k),
              `set ${k} once for the instance (its group's vars)`,
            );
      const values = keys.map((k) => first.get(k));
      if (values.every((v) => v !== undefined)) {
        const id = show(values);
        const other = seen.get(id);
        if (other !== undefined)
          throw new InputError(
            `${name} ${show(other)} and ${show(group)} both use ${keys.map((k, i) => `${k} ${show(values[i])}`).join(', ')}: two instances would write over each other's files`,
            first.pos(keys[0]!),
            `give each instance its own ${keys.join(' / ')}`,
          );
        seen.set(id, group);
      }
    }
    for (const [p, rule] of Object.entries(spec.partition_pick ?? {})) checkPick(name, group, hosts, p, rule.among);
    for (const [v, rule] of Object.entries(spec.partition_at_most_one ?? {})) {
      const these = hosts.filter(
        (h) => rule.values.includes(h.get(v)) && parseBool(h.get(rule.if)) === true && !(rule.unless && parseBool(h.get(rule.unless)) === true),
      );
      if (these.length > 1)
        throw new InputError(
          `${name} ${show(group)} has ${these.length} hosts with ${v} ${rule.values.map(show).join('/')} and ${rule.if} (${these.map((h) => h.host).join(', ')}): ${rule.why}`,
          these[1]!.pos(rule.if) ?? these[1]!.pos(name),
          rule.unless ? `set ${rule.unless}: true for the instance once that holds, or keep one of them` : `keep one of them`,
        );
    }
    for (const [v, needs] of Object.entries(spec.partition_needs ?? {}))
      for (const need of needs)
        if (!hosts.some((h) => need.includes(h.get(v))))
          throw new InputError(
            `${name} ${show(group)} has no host with ${v} ${need.map(show).join(' or ')} (its hosts: ${hosts.map((h) => `${h.host} ${show(h.get(v))}`).join(', ')})`,
            hosts[0]!.pos(v) ?? hosts[0]!.pos(name),
            `give one of its hosts ${v}: ${String(need[0])}`,
          );
  }
}

function checkPick(name: string, group: string, hosts: HostValues[], p: string, among: Record<string, unknown[]>): void {
  const cond = Object.entries(among);
  const match = (h: HostValues) => cond.every(([v, values]) => values.includes(h.get(v)));
  const these = hosts.filter(match);
  const what = cond.map(([v, values]) => `${v} ${values.map(show).join('/')}`).join(', ');
  if (these.length === 1) {
    const h = these[0]!;
    const v = h.get(p);
    if (v !== undefined && v !== '' && v !== h.host)
      throw new InputError(
        `${name} ${show(group)}: ${p} is ${show(v)} on ${h.host}, the instance's only host with ${what}: it does that job itself`,
        h.pos(p),
        `leave ${p} empty (or set it to ${h.host})`,
      );
    return;
  }
  if (these.length < 2) return;
  const names = these.map((h) => h.host);
  const first = these[0]!;
  const unset = these.find((h) => h.get(p) === '' || h.get(p) === undefined);
  if (unset)
    throw new InputError(
      `${name} ${show(group)} has ${these.length} hosts with ${what} (${names.join(', ')}) but ${p} is not set on ${unset.host}: one of them does the job for the others`,
      unset.pos(name) ?? unset.pos(p),
      `set ${p}: ${first.host} (or another of ${names.join(', ')}) in the instance's group vars`,
    );
  for (const h of these) {
    const v = h.get(p);
    if (show(v) !== show(first.get(p)))
      throw new InputError(
        `${name} ${show(group)}: ${p} is ${show(first.get(p))} on ${first.host} but ${show(v)} on ${h.host}: the hosts of one instance share it`,
        h.pos(p),
        `set ${p} once for the instance (its group's vars)`,
      );
  }
  const v = first.get(p);
  if (!names.includes(String(v)))
    throw new InputError(
      `${name} ${show(group)}: ${p} ${show(v)} is not one of its hosts with ${what} (${names.join(', ')})`,
      first.pos(p),
      `set ${p} to one of ${names.join(', ')}`,
    );
}
