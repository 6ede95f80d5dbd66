// The one place where values become POSIX shell words. Every value that reaches a shell goes
// through shq() or the sh`` template; nothing else in the project concatenates user values into
// command strings.

/** Words made only of these characters mean the same thing bare in sh, bash, dash, zsh and fish. */
const SAFE_BARE = /^[A-Za-z0-9_\/.,:@+-]+$/;

/**
 * Quote one value as a single POSIX sh word.
 * Safe words stay bare; everything else is wrapped in single quotes, with each `'` written as `'\''`.
 * NUL cannot be carried by any shell argument, so it is refused instead of silently truncated.
 */
export function shq(value: string): string {
  if (typeof value !== 'string') throw new TypeError(`shq: expected a string, got ${typeof value}`);
  if (value.includes('\0')) throw new Error('shq: a shell word cannot contain a NUL byte');
  if (SAFE_BARE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Shell text that sh`` inserts verbatim. Only for text that was itself built with sh`` or shq(). */
export class ShellText {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Mark already-quoted shell text so sh`` does not quote it again (e.g. joining two sh`` commands). */
export function raw(text: string): ShellText {
  return new ShellText(text);
}

export type ShellValue = string | number | bigint | ShellText | readonly (string | number | bigint)[];

function quoteValue(v: ShellValue): string {
  if (v instanceof ShellText) return v.text;
  if (Array.isArray(v)) return v.map((x) => quoteValue(x)).join(' ');
  if (typeof v === 'number' || typeof v === 'bigint') return shq(String(v));
  if (typeof v === 'string') return shq(v);
  // undefined, null, objects: almost always a bug in the caller, never something to guess at.
  throw new TypeError(`sh\`\`: cannot interpolate a value of type ${v === null ? 'null' : typeof v}`);
}

/**
 * Build a shell command: the literal parts are written as-is, every interpolated value is quoted.
 * Arrays become space-separated quoted words (an empty array becomes nothing).
 *   sh`install -m 0644 ${src} ${dest}`    sh`rm -f -- ${paths}`
 */
export function sh(pieces: TemplateStringsArray, ...values: ShellValue[]): string {
  let out = pieces[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += quoteValue(values[i]!) + pieces[i + 1];
  }
  return out;
}

/** Join argv into one command line, every word quoted (the inverse of what sh -c does with it). */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shq).join(' ');
}
