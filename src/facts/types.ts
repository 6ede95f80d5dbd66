// Facts: what the runner knows about a host after one round trip. The fields are declared by the
// fact modules (src/facts/all/*.ts); this is their sum.
import type { AllFacts } from './registry.js';

export type { OsFamily } from './all/os.js';
export type Facts = AllFacts;
