// Param schemas: ajv compiles each task's schema once; a `secret: true` keyword marks secret params.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseBool } from '../bools.js';
import { closest } from '../suggest.js';
import type { TaskDef } from '../task.js';

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true });
ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });

const compiled = new WeakMap<object, ValidateFunction>();

function validator(task: TaskDef): ValidateFunction {
  let v = compiled.get(task.schema);
  if (!v) {
    v = ajv.compile(task.schema);
    compiled.set(task.schema, v);
  }
  return v;
}

export interface ParamProblem {
  /** Path inside params, e.g. ['config', 'port']. */
  path: (string | number)[];
  message: string;
}

function pathOf(e: ErrorObject): (string | number)[] {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'additionalProperties') parts.push((e.params as { additionalProperty: string }).additionalProperty);
  if (e.keyword === 'required') parts.push((e.params as { missingProperty: string }).missingProperty);
  return parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function describe(e: ErrorObject, task: TaskDef): string {
  const props = Object.keys(((task.schema as { properties?: object }).properties ?? {}) as object);
  switch (e.keyword) {
    case 'additionalProperties': {
      const k = (e.params as { additionalProperty: string }).additionalProperty;
      const near = closest(k, props);
      return `unknown parameter '${k}' for task '${task.name}'${near ? `; did you mean '${near}'?` : ''} (known: ${props.join(', ')})`;
    }
    case 'required':
      return `missing required parameter '${(e.params as { missingProperty: string }).missingProperty}' for task '${task.name}'`;
    case 'enum':
      return `${e.instancePath.slice(1).replace(/\//g, '.') || 'value'} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      if ((e.params as { type: string }).type === 'boolean')
        return `${e.instancePath.slice(1).replace(/\//g, '.') || 'value'} must be a boolean (true/false, yes/no, on/off, 1/0)`;
      return `${e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') + ' ' : ''}${e.message ?? 'is invalid'}`;
    default:
      return `${e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') + ' ' : ''}${e.message ?? 'is invalid'}`;
  }
}

function getAt(value: unknown, path: (string | number)[]): unknown {
  let v: any = value;
  for (const p of path) v = v?.[p];
  return v;
}

const hasTemplate = (v: unknown): boolean => typeof v === 'string' && (v.includes('{{') || v.includes('{%'));

/**
 * Validate params before templating: unknown and missing keys and wrong literal types are errors;
 * a value that is still a template is judged later, per host, once rendered.
 */
export function checkRawParams(task: TaskDef, params: unknown): ParamProblem[] {
  const v = validator(task);
  if (v(coerceParams(task.schema, structuredClone(params ?? {})))) return [];
  return ordered(v.errors ?? [], task)
    .filter((e) => !(hasTemplate(getAt(params, e.instancePath.split('/').slice(1))) && e.keyword !== 'additionalProperties' && e.keyword !== 'required'))
    .map((e) => ({ path: pathOf(e), message: describe(e, task) }));
}

/**
 * Unknown keys first: a misspelled parameter (`confg`) is reported as unknown, with the right name,
 * and not also as the required one it was meant to be.
 */
function ordered(errors: ErrorObject[], task: TaskDef): ErrorObject[] {
  const props = Object.keys(((task.schema as { properties?: object }).properties ?? {}) as object);
  const unknown = errors.filter((e) => e.keyword === 'additionalProperties');
  const meant = new Set(unknown.map((e) => `${e.instancePath}/${closest((e.params as { additionalProperty: string }).additionalProperty, props) ?? ''}`));
  const rest = errors.filter(
    (e) =>
      e.keyword !== 'additionalProperties' &&
      !(e.keyword === 'required' && meant.has(`${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`)),
  );
  return [...unknown, ...rest];
}

/**
 * As Ansible converts module arguments to their declared type: a string where the schema wants a
 * boolean or an integer (`-e proxy_layout_force=true` is the string "true") becomes one, in place.
 * A string that is neither is left for the schema to refuse.
 */
export function coerceParams(schema: any, value: any): any {
  if (!schema || value === undefined || value === null) return value;
  if (typeof value === 'string') {
    if (schema.type === 'boolean') return parseBool(value) ?? value;
    if (schema.type === 'integer' && /^[+-]?\d+$/.test(value.trim())) return Number(value.trim());
    return value;
  }
  if (schema.properties && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, sub] of Object.entries(schema.properties)) if (k in value) value[k] = coerceParams(sub, value[k]);
  }
  if (schema.items && Array.isArray(value)) value.forEach((x, i) => (value[i] = coerceParams(schema.items, x)));
  return value;
}

/** Validate rendered params (fills schema defaults in place, converts "true"/"8080" as Ansible does). */
export function checkParams(task: TaskDef, params: unknown): ParamProblem[] {
  const v = validator(task);
  coerceParams(task.schema, params);
  if (v(params)) return [];
  return ordered(v.errors ?? [], task).map((e) => ({ path: pathOf(e), message: describe(e, task) }));
}

/** Values of params marked `secret: true` in the schema (top level and nested objects). */
export function secretValues(schema: Record<string, unknown>, params: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (s: any, v: any) => {
    if (!s || v === undefined || v === null) return;
    if (s.secret) out.push(v);
    if (s.properties && typeof v === 'object') for (const [k, sub] of Object.entries(s.properties)) walk(sub, v[k]);
    if (s.items && Array.isArray(v)) for (const it of v) walk(s.items, it);
  };
  walk(schema, params);
  return out;
}

/** Names of the params marked `secret: true` (any depth): the field names a task's files may use. */
export function secretParamNames(schema: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (s: any) => {
    if (!s || typeof s !== 'object') return;
    for (const [k, sub] of Object.entries((s.properties ?? {}) as Record<string, any>)) {
      if (sub?.secret) out.push(k);
      walk(sub);
    }
    if (s.items) walk(s.items);
  };
  walk(schema);
  return out;
}
