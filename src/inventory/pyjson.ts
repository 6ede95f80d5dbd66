// JSON text exactly as Ansible's json.dumps(x, sort_keys=True, indent=4, ensure_ascii=False) prints it,
// which is what `ansible-inventory --host` shows. Differences from JSON.stringify: sorted keys at every
// level, floats written like Python (`1.0`, `1e+16`), and `!unsafe` strings shown as
// {"__ansible_unsafe": "..."}. A JS number or string cannot carry that, so the YAML reader marks
// the container slot that holds such a value.

/** What a marked slot holds: a float (YAML `1.0`) or an `!unsafe` string (never to be templated). */
export type ValueMark = 'float' | 'unsafe';

const MARKS = new WeakMap<object, Map<string | number, ValueMark>>();

/** Remember that container[key] holds a float or an unsafe string. */
export function markValue(container: object, key: string | number, mark: ValueMark): void {
  let marks = MARKS.get(container);
  if (!marks) MARKS.set(container, (marks = new Map()));
  marks.set(key, mark);
}

export function valueMark(container: object, key: string | number): ValueMark | undefined {
  return MARKS.get(container)?.get(key);
}

/** True when container[key] was written with `!unsafe` (templating must leave it as it is). */
export function isUnsafe(container: object, key: string | number): boolean {
  return valueMark(container, key) === 'unsafe';
}

/** Deep copy of plain data (objects, arrays) that keeps the float marks. */
export function cloneData<T>(value: T): T {
  if (Array.isArray(value)) {
    const out = value.map((v) => cloneData(v));
    value.forEach((_, i) => {
      const m = valueMark(value, i);
      if (m) markValue(out, i, m);
    });
    return out as T;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const src = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(src)) {
      out[k] = cloneData(v);
      const m = valueMark(src, k);
      if (m) markValue(out, k, m);
    }
    return out as T;
  }
  return value;
}

/** Python's repr() of a float: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, expStr] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

function pyString(s: string): string {
  // JSON.stringify escapes the same characters as Python with ensure_ascii=False.
  return JSON.stringify(s);
}

function dump(value: unknown, mark: ValueMark | undefined, indent: string): string {
  if (mark === 'unsafe' && typeof value === 'string') return dump({ __ansible_unsafe: value }, undefined, indent);
  const float = mark === 'float';
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (float || !Number.isInteger(value)) return pyFloatRepr(value);
    return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return pyString(value);
  if (value instanceof Date) return pyString(value.toISOString());
  const inner = indent + '    ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v, i) => inner + dump(v, valueMark(value, i), inner));
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  if (value instanceof Set) return dump([...value], undefined, indent);
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (keys.length === 0) return '{}';
    const items = keys.map((k) => `${inner}${pyString(k)}: ${dump(obj[k], valueMark(obj, k), inner)}`);
    return `{\n${items.join(',\n')}\n${indent}}`;
  }
  return pyString(String(value));
}

/** json.dumps(value, sort_keys=True, indent=4, ensure_ascii=False). */
export function pyJsonDumps(value: unknown): string {
  return dump(value, undefined, '');
}
