// One place that knows the secret values of a run and blanks them out of any text we print or save.

export const MASK = '********';

export class Secrets {
  private readonly values = new Set<string>();

  /**
   * Remember a secret value (and the encodings it may show up in). Values under 4 characters are
   * not real keys or tokens, and masking them would blank out ordinary words.
   */
  add(value: unknown): void {
    if (typeof value !== 'string' || value.length < 4) return;
    this.values.add(value);
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) this.values.add(json);
    this.values.add(Buffer.from(value).toString('base64').replace(/=+$/, ''));
    this.values.add(encodeURIComponent(value));
  }

  /**
   * A value read from a secret field on a host (say, the old key of a rotation). Only values that
   * look like keys are remembered: `null`, `true` or a short word would blank out ordinary text.
   */
  addFound(value: string): void {
    if (value.length >= 8 && !/^(null|true|false|undefined)$/i.test(value) && !value.startsWith(MASK)) this.add(value);
  }

  get size(): number {
    return this.values.size;
  }

  /** Replace every known secret in `text`. Longest first, so a secret containing another is caught whole. */
  mask(text: string): string {
    if (!text || this.values.size === 0) return text;
    let out = text;
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) {
      if (out.includes(v)) out = out.split(v).join(MASK);
    }
    return out;
  }

  /** Mask every string inside a JSON-like value. */
  maskDeep<T>(value: T): T {
    if (typeof value === 'string') return this.mask(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.maskDeep(v)) as T;
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.maskDeep(v);
      return out as T;
    }
    return value;
  }
}

// Masking by field. A value we do not know (an old key left in a host's file after a rotation)
// cannot be masked by value, so every line that assigns a secret-looking field is masked whatever
// its value: `secret_key = …` (s3cmd), `secretKey: …` (Misskey v10 YAML),
// `objectStorageSecretKey: "…"` (v11/v12 meta), `"token": "…"` (JSON). The diff still shows that
// the field changed: the side whose value differs gets `(changed)` after the mask.

/** Field names that hold secrets, whatever the task: matched against the whole key, any case. */
const SECRET_FIELD = /^[A-Za-z0-9_.-]*(secret|password|passwd|token|access_?key|private_?key|api_?key)[A-Za-z0-9_.-]*$/i;

// indent, optional quote, key, optional quote, separator (`=` or `:`), value (up to an optional
// trailing comma of a JSON line).
const ASSIGNMENT = /^(\s*(?:-\s+)?)(["']?)([A-Za-z0-9_.-]+)\2(\s*[:=]\s*)(.*?)(,?)\s*$/;

export const CHANGED_MARK = `${MASK} (changed)`;

interface FieldHit {
  key: string;
  value: string;
}

function scanFields(text: string, extra: ReadonlySet<string>): { lines: string[]; hits: (FieldHit | null)[] } {
  const lines = text.split('\n');
  const hits = lines.map((l) => {
    const m = ASSIGNMENT.exec(l);
    if (!m || m[5] === '') return null;
    const key = m[3];
    return SECRET_FIELD.test(key) || extra.has(key) ? { key, value: m[5] } : null;
  });
  return { lines, hits };
}

function maskLine(line: string, mark: string): string {
  const m = ASSIGNMENT.exec(line)!;
  return `${m[1]}${m[2]}${m[3]}${m[2]}${m[4]}${mark}${m[6]}`;
}

/**
 * Mask every secret field of a before/after pair (both sides of a diff). Returns the masked texts
 * and the values found, so the caller can mask them by value in every other output too.
 * `extraFields` are field names a task declares secret beyond the generic ones.
 */
export function maskFieldPair(before: string, after: string, extraFields: Iterable<string> = []): { before: string; after: string; found: string[] } {
  const extra = new Set(extraFields);
  const b = scanFields(before, extra);
  const a = scanFields(after, extra);
  // The n-th occurrence of a key on one side pairs with the n-th on the other.
  const values = (s: typeof b) => {
    const byKey = new Map<string, string[]>();
    for (const h of s.hits) if (h) byKey.set(h.key, [...(byKey.get(h.key) ?? []), h.value]);
    return byKey;
  };
  const bv = values(b);
  const av = values(a);
  const found: string[] = [];
  const render = (s: typeof b, other: Map<string, string[]>, markChanged: boolean) => {
    const seen = new Map<string, number>();
    return s.lines
      .map((l, i) => {
        const h = s.hits[i];
        if (!h) return l;
        found.push(unquote(h.value));
        const n = seen.get(h.key) ?? 0;
        seen.set(h.key, n + 1);
        const counterpart = other.get(h.key)?.[n];
        const changed = counterpart !== undefined && counterpart !== h.value;
        return maskLine(l, markChanged && changed ? CHANGED_MARK : MASK);
      })
      .join('\n');
  };
  return { before: render(b, av, false), after: render(a, bv, true), found };
}

function unquote(v: string): string {
  const m = /^(["'])(.*)\1$/.exec(v);
  if (!m) return v;
  if (m[1] === '"') {
    try {
      return JSON.parse(v) as string;
    } catch {
      return m[2];
    }
  }
  return m[2].replace(/''/g, "'");
}
