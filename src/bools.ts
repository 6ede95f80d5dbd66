// The one reading of a boolean written as text (-e k=v values, vars, ssh options): true/yes/on/1
// and false/no/off/0, in any case, as Ansible's module arguments take them.

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** The boolean a value stands for, or undefined when it is none of the words. */
export function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v).trim().toLowerCase();
  return TRUE.has(s) ? true : FALSE.has(s) ? false : undefined;
}
