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
