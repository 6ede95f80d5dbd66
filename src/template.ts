// Jinja-like templating (nunjucks) that fails on an undefined variable instead of printing ''.
//
// nunjucks' own throwOnUndefined only says "attempted to output null or undefined value". We want
// the variable's name, and `x | default(y)` / `x is defined` to keep working, so a missing name
// evaluates to an Undefined marker that throws as soon as it is printed, compared or filtered.

import fs from 'node:fs';
import path from 'node:path';
import { parseBool } from './bools.js';
import { keysZoneFor } from './nginx-sizes.js';
import nunjucks from 'nunjucks';
import { JinjaFileLoader, dropTrailingNewline, jinjaIndent, padTrailingNewlines } from './template-jinja.js';

export class UndefinedVariableError extends Error {
  constructor(public readonly variable: string) {
    super(`undefined variable '${variable}'`);
    this.name = 'UndefinedVariableError';
  }
}

/** Thrown for a template that does not parse or fails while rendering. */
export class TemplateRenderError extends Error {
  constructor(
    message: string,
    public readonly line?: number,
    public readonly col?: number,
    public readonly variable?: string,
  ) {
    super(message);
    this.name = 'TemplateRenderError';
  }
  /** Variables whose values were being rendered when this happened, outermost first. */
  via: string[] = [];
}

const UNDEF = Symbol('undefined-var');
interface Undef {
  [UNDEF]: string;
}
function undef(name: string): Undef {
  const fail = () => {
    throw new UndefinedVariableError(name);
  };
  return { [UNDEF]: name, toString: fail, valueOf: fail, [Symbol.toPrimitive]: fail, toJSON: fail } as unknown as Undef;
}
export function isUndefined(v: unknown): v is Undef {
  return typeof v === 'object' && v !== null && UNDEF in v;
}

// nunjucks has no public hook for name resolution; its compiled templates call these through the
// runtime object, so wrapping them here changes every template of this process.
const rt = (nunjucks as unknown as { runtime: Record<string, any> }).runtime;
let tracker: Set<string> | undefined; // names read by the render in progress (for provenance)
let failedVia: string[] | undefined;
let depth = 0; // variables being rendered when the current render failed
{
  const origLookup = rt.contextOrFrameLookup;
  rt.contextOrFrameLookup = (context: any, frame: any, name: string) => {
    if (name !== '__capture') tracker?.add(name);
    const v = origLookup(context, frame, name);
    if (v !== undefined) return v;
    const lazy: LazyVars | undefined = context.ctx[LAZY];
    if (lazy?.has(name)) return lazy.get(name);
    if (name in context.ctx || name in context.env.globals) return v;
    return undef(name);
  };
  const origMember = rt.memberLookup;
  rt.memberLookup = (obj: any, key: any) => {
    if (isUndefined(obj)) return undef(`${obj[UNDEF]}.${String(key)}`);
    const v = origMember(obj, key);
    if (v === undefined && obj !== null && typeof obj === 'object' && !(key in obj)) {
      return undef(String(key));
    }
    return v;
  };
  const origSuppress = rt.suppressValue;
  rt.suppressValue = (val: unknown, autoescape: boolean) => {
    if (isUndefined(val)) throw new UndefinedVariableError(val[UNDEF]);
    return origSuppress(val, autoescape);
  };
}

/** Key of the render context under which LazyVars sit (see contextOrFrameLookup above). */
const LAZY = '__lazy_vars__';

/**
 * Variables whose values may themselves be templates (`proxy_host: "s3.{{ domain }}"`): each is
 * rendered on first use, so an unused variable that cannot render is no error (as in Ansible).
 */
export class LazyVars {
  private readonly cache = new Map<string, { value: unknown; deps: Set<string> }>();
  private readonly resolving: string[] = [];

  constructor(
    private readonly templates: Templates,
    private readonly raw: Record<string, unknown>,
    /** Plain values that are never templated (facts, magic vars). */
    private readonly fixed: Record<string, unknown> = {},
  ) {}

  has(name: string): boolean {
    return Object.hasOwn(this.fixed, name) || Object.hasOwn(this.raw, name);
  }

  get(name: string): unknown {
    if (Object.hasOwn(this.fixed, name)) return this.fixed[name];
    const hit = this.cache.get(name);
    if (hit) {
      for (const d of hit.deps) tracker?.add(d);
      return hit.value;
    }
    if (this.resolving.includes(name)) {
      throw new TemplateRenderError(`variable cycle: ${[...this.resolving, name].join(' -> ')}`, undefined, undefined, name);
    }
    this.resolving.push(name);
    try {
      const deps = new Set<string>();
      let v: unknown;
      try {
        v = this.templates.renderValue(this.raw[name], this.context(), deps);
      } catch (e) {
        // nunjucks re-wraps errors thrown through it, so the chain travels beside the error.
        if (!failedVia) failedVia = [...this.resolving];
        throw e;
      }
      this.cache.set(name, { value: v, deps });
      for (const d of deps) tracker?.add(d);
      return v;
    } finally {
      this.resolving.pop();
    }
  }

  /** The render context to hand to Templates. */
  context(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...extra, [LAZY]: this };
  }

  /** Every variable, rendered (for `--host` style dumps); failures are left as the raw text. */
  resolveAll(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.fixed };
    for (const k of Object.keys(this.raw)) {
      try {
        out[k] = this.get(k);
      } catch {
        out[k] = this.raw[k];
      }
    }
    return out;
  }
}

export interface TemplateEnvOptions {
  /** Folder that `template` tasks read from (and `{% include %}` resolves against). */
  templateDir?: string;
  /** Environment for lookup('env', NAME); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

export class Templates {
  readonly nj: nunjucks.Environment;
  private captured: unknown;
  // Compiled once per process: the same param strings render for every host, and nunjucks'
  // renderString would compile them anew each time (most of the CPU of rendering).
  private readonly compiled = new Map<string, nunjucks.Template>();
  private readonly loader?: JinjaFileLoader;

  constructor(private readonly opts: TemplateEnvOptions = {}) {
    // Cached: a template file is read and compiled once per process.
    this.loader = opts.templateDir ? new JinjaFileLoader(opts.templateDir, { noCache: false }) : undefined;
    this.nj = new nunjucks.Environment(this.loader, { autoescape: false, throwOnUndefined: false, trimBlocks: true, lstripBlocks: true });
    const envVars = opts.env ?? process.env;
    // lookup('env', NAME[, default=VALUE]) as Ansible's env lookup: unset or empty without a
    // default is an undefined variable (the run stops before any host is touched).
    this.nj.addGlobal('lookup', (kind: string, name: string, kwargs?: { __keywords?: boolean; default?: unknown }) => {
      if (kind !== 'env') throw new Error(`lookup('${kind}', ...) is not supported; only lookup('env', NAME)`);
      const v = envVars[name];
      if (v === undefined || v === '') {
        if (kwargs?.__keywords && 'default' in kwargs) return kwargs.default;
        throw new UndefinedVariableError(`env ${name}`);
      }
      return v;
    });
    this.nj.addGlobal('__capture', (v: unknown) => {
      this.captured = v;
      return '';
    });
    this.nj.addFilter('indent', jinjaIndent);
    // Filters never see an Undefined, except default (that is its job).
    const filters = (this.nj as unknown as { filters: Record<string, (...a: unknown[]) => unknown> }).filters;
    for (const [name, fn] of Object.entries(filters)) {
      if (name === 'default' || name === 'd') continue;
      this.nj.addFilter(name, (...args: unknown[]) => {
        for (const a of args) if (isUndefined(a)) throw new UndefinedVariableError(a[UNDEF]);
        return fn(...args);
      });
    }
    const dflt = (v: unknown, d: unknown = '', boolean = false) => (isUndefined(v) || v === undefined || (boolean && !v) ? d : v);
    this.nj.addFilter('default', dflt);
    this.nj.addFilter('d', dflt);
    this.nj.addFilter('to_json', (v: unknown) => JSON.stringify(v));
    this.nj.addFilter('to_nice_json', (v: unknown) => JSON.stringify(v, null, 2));
    this.nj.addFilter('bool', (v: unknown) => parseBool(v) === true);
    // nginx `resolver` syntax: IPv6 addresses in brackets, space-separated.
    this.nj.addFilter('nginx_resolvers', (v: unknown) => (Array.isArray(v) ? v : [v]).map((a) => (String(a).includes(':') ? `[${a}]` : String(a))).join(' '));
    // keys_zone size for a cache of this max_size (src/nginx-sizes.ts).
    this.nj.addFilter('nginx_keys_zone', (v: unknown) => keysZoneFor(String(v)));
    this.nj.addFilter('regex_replace', (v: unknown, pattern: string, repl: string) => String(v).replace(new RegExp(pattern, 'g'), repl));
    const addTest = (this.nj as unknown as { addTest(n: string, f: (v: unknown) => boolean): void }).addTest.bind(this.nj);
    addTest('defined', (v) => v !== undefined && !isUndefined(v));
    addTest('undefined', (v) => v === undefined || isUndefined(v));
  }

  /** Render a template string. Throws TemplateRenderError (with the variable's name when undefined). */
  renderString(src: string, vars: Record<string, unknown>, used?: Set<string>): string {
    return this.guard(used, () => padTrailingNewlines(src, this.compile(src).render(vars)));
  }

  private compile(src: string): nunjucks.Template {
    let t = this.compiled.get(src);
    if (!t) {
      t = new nunjucks.Template(dropTrailingNewline(src), this.nj, undefined, true);
      this.compiled.set(src, t);
    }
    return t;
  }

  /** Render a file from templateDir. */
  renderFile(name: string, vars: Record<string, unknown>, used?: Set<string>): string {
    if (!this.opts.templateDir) throw new Error('no template folder configured');
    const file = path.join(this.opts.templateDir, name);
    if (!fs.existsSync(file)) throw new TemplateRenderError(`template not found: ${name} (looked in ${this.opts.templateDir})`);
    return this.guard(used, () => {
      const out = this.nj.render(name, vars);
      return padTrailingNewlines(this.loader!.sources.get(name) ?? '', out);
    });
  }

  /** Evaluate a Jinja expression (as in `when:`) to its native value. */
  evaluate(expr: string, vars: Record<string, unknown>, used?: Set<string>): unknown {
    this.captured = undefined;
    this.guard(used, () => this.compile(`{{ __capture(${expr}) }}`).render(vars));
    const v = this.captured;
    if (isUndefined(v)) throw new TemplateRenderError(`undefined variable '${v[UNDEF]}'`, undefined, undefined, v[UNDEF]);
    return v;
  }

  /**
   * Render every string inside a value (objects, arrays). A string that is exactly one `{{ expr }}`
   * keeps the expression's native type (number, bool, list), as Ansible does.
   */
  renderValue(value: unknown, vars: Record<string, unknown>, used?: Set<string>): unknown {
    if (typeof value === 'string') {
      if (!value.includes('{{') && !value.includes('{%')) return value;
      const m = /^\{\{\s*([\s\S]*?)\s*\}\}$/.exec(value);
      if (m && !m[1].includes('}}') && !m[1].includes('{{')) return this.evaluate(m[1], vars, used);
      return this.renderString(value, vars, used);
    }
    if (Array.isArray(value)) return value.map((v) => this.renderValue(v, vars, used));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.renderValue(v, vars, used);
      return out;
    }
    return value;
  }

  private guard<T>(used: Set<string> | undefined, fn: () => T): T {
    const prev = tracker;
    const outermost = depth++ === 0;
    if (outermost) failedVia = undefined;
    tracker = used ?? new Set();
    try {
      return fn();
    } catch (e) {
      const err = toRenderError(e);
      if (failedVia && err.via.length === 0) err.via = failedVia;
      throw err;
    } finally {
      tracker = prev;
      depth--;
    }
  }
}

function toRenderError(e: unknown): TemplateRenderError {
  if (e instanceof TemplateRenderError) return e;
  if (e instanceof UndefinedVariableError) return new TemplateRenderError(e.message, undefined, undefined, e.variable);
  const err = e as { message?: string; lineno?: number; colno?: number; cause?: unknown };
  let msg = String(err?.message ?? e);
  const pos = /\[Line (\d+), Column (\d+)\]/.exec(msg);
  const line = err?.lineno ?? (pos ? Number(pos[1]) : undefined);
  const col = err?.colno ?? (pos ? Number(pos[2]) : undefined);
  // nunjucks wraps thrown errors into its own message text; recover the variable's name.
  const m = /undefined variable '([^']+)'/.exec(msg);
  const variable = m?.[1];
  msg = msg
    .replace(/^\(unknown path\)\s*/, '')
    .replace(/^((Template)?(Render)?Error: )+/g, '')
    .replace(/\s*\[Line \d+, Column \d+\]\s*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (variable) msg = `undefined variable '${variable}'`;
  return new TemplateRenderError(msg, line, col, variable);
}
