// Public API of the inventory module (see the files for the rules each part follows).
export type { Group, Host, HostVars, Inventory, VarEntry, VarLayer } from './types.js';
export { loadInventory } from './load.js';
export { parseExtraVars } from './extravars.js';
export { hostVars, hostVarLayers, hostGroups, groupNames, inventoryHostJson, sortGroups, type NamedLayer } from './merge.js';
export { selectHosts, splitHostPattern, groupHosts, type SelectOptions } from './patterns.js';
export { connVars, checkConnVar, CONN_VAR_ALIASES, CONN_VAR_NAMES, type ConnVars } from './connvars.js';
export { pyJsonDumps, isUnsafe, valueMark, type ValueMark } from './pyjson.js';
