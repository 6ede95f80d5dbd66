// Reading a YAML mapping of variables into a VarLayer (names checked, connection vars type-checked).

import { isMap, isPair, isScalar, type Node } from 'yaml';
import { InputError, type SourcePos } from '../errors.js';
import { checkConnVar } from './connvars.js';
import { isValidVarName, VAR_NAME_HINT } from './names.js';
import type { VarEntry, VarLayer } from './types.js';
import { valueMark, type ValueMark } from './pyjson.js';
import { deref, describeNode, isMergeKey, posOf, toValue, type YamlSource } from './yamlfile.js';

/** Set one variable (later definitions replace earlier ones, like Ansible's hash_behaviour=replace). */
export function setVar(layer: VarLayer, name: string, entry: VarEntry): void {
  checkConnVar(name, entry.value, entry.pos);
  layer.delete(name); // keep "last definition" order, handy when printing a layer
  layer.set(name, entry);
}

/** The name of a mapping key that must be a string (variable, host or group name). */
export function keyName(src: YamlSource, key: unknown, what: string): string {
  const node = key as Node;
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  const shown = isScalar(node) ? String(node.value) : describeNode(node);
  throw new InputError(`${what} must be a string, found ${describeNode(node)}`, posOf(src, node), `quote it: "${shown}"`);
}

/**
 * Add the variables of `mapNode` (a mapping name -> value) to `layer`.
 * `onVar` may take a variable out (returns true when it handled it), e.g. ansible_group_priority.
 */
export function readVarsMapping(
  src: YamlSource,
  mapNode: Node | null | undefined,
  layer: VarLayer,
  what: string,
  onVar?: (name: string, value: unknown, pos: SourcePos) => boolean,
): void {
  const node = deref(src, mapNode);
  if (node == null || (isScalar(node) && node.value === null)) return;
  if (!isMap(node))
    throw new InputError(
      `${what} must be a mapping of variable names to values, found ${describeNode(node)}`,
      posOf(src, node),
      'write one "name: value" per line',
    );
  // The whole mapping as JS (this applies YAML merge keys `<<` the standard way), then each key's position.
  const obj = toValue(src, node) as Record<string, unknown>;
  const keyPos = new Map<string, SourcePos>();
  let mergePos: SourcePos | undefined;
  for (const pair of node.items) {
    if (!isPair(pair)) continue;
    if (isMergeKey(pair.key)) {
      mergePos ??= posOf(src, pair.key as Node);
      continue;
    }
    keyPos.set(keyName(src, pair.key, 'a variable name'), posOf(src, pair.key as Node));
  }
  for (const [name, value] of Object.entries(obj)) addVar(name, value, keyPos.get(name) ?? mergePos ?? posOf(src, node), valueMark(obj, name));

  function addVar(name: string, value: unknown, pos: SourcePos, mark: ValueMark | undefined): void {
    if (!isValidVarName(name)) throw new InputError(`invalid variable name '${name}' in ${what}`, pos, VAR_NAME_HINT);
    if (onVar?.(name, value, pos)) return;
    setVar(layer, name, mark ? { value, pos, mark } : { value, pos });
  }
}
