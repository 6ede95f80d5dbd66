// Task params declared once: each builder call yields the JSON schema ajv checks (with the
// `secret` and `description` keywords `doc` shows) and, through `Infer`, the TypeScript type the
// task's plan and apply receive. No interface beside a schema, no list of required names.
//
//   const spec = params({ path: str({ pattern: '^/' }).doc('where'), mode: str().optional() });
//   type Params = Infer<typeof spec>;   // { path: string; mode?: string }

type Json = Record<string, unknown>;

/** One param: its schema, whether the key may be missing, and (compile time only) its type. */
export class Param<T, Opt extends boolean = false> {
  declare readonly __type: T;
  constructor(
    readonly schema: Json,
    /** Not listed in `required` (optional, or filled by its default). */
    readonly notRequired: boolean,
    readonly isOptional: Opt,
  ) {}

  /** May be left out (undefined in the task). */
  optional(): Param<T, true> {
    return new Param<T, true>(this.schema, true, true);
  }

  /** Filled with `value` when left out (so the task always sees one). */
  default(value: T): Param<T, false> {
    return new Param<T, false>({ ...this.schema, default: value }, true, false);
  }

  doc(description: string): Param<T, Opt> {
    return new Param<T, Opt>({ ...this.schema, description }, this.notRequired, this.isOptional);
  }

  /** Masked in every output; reaches hosts only on stdin or in 0600 files. */
  secret(): Param<T, Opt> {
    return new Param<T, Opt>({ ...this.schema, secret: true }, this.notRequired, this.isOptional);
  }
}

type AnyParam = Param<any, boolean>;
export type Shape = Record<string, AnyParam>;
type TypeOf<P> = P extends Param<infer T, any> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The params object a task receives for a shape. */
export type InferShape<S extends Shape> = Simplify<
  { [K in keyof S as S[K] extends Param<any, true> ? never : K]: TypeOf<S[K]> } & { [K in keyof S as S[K] extends Param<any, true> ? K : never]?: TypeOf<S[K]> }
>;

export interface ParamSpec<T> {
  readonly schema: Json;
  readonly shape: Shape;
  /** Compile time only: the params type. */
  readonly __params?: T;
}

export type Infer<S> = S extends ParamSpec<infer T> ? T : S extends Shape ? InferShape<S> : never;

function objectSchema(shape: Shape, extra: Json = {}): Json {
  const required = Object.entries(shape)
    .filter(([, p]) => !p.notRequired)
    .map(([k]) => k);
  return {
    type: 'object',
    additionalProperties: false,
    ...(required.length ? { required } : {}),
    properties: Object.fromEntries(Object.entries(shape).map(([k, p]) => [k, p.schema])),
    ...extra,
  };
}

/** A task's params. */
export function params<S extends Shape>(shape: S): ParamSpec<InferShape<S>> {
  return { schema: objectSchema(shape), shape };
}

interface StrOpts {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
}

export const str = (o: StrOpts = {}) => new Param<string>({ type: 'string', ...o }, false, false);
/** An absolute path on the host. */
export const path = () => new Param<string>({ type: 'string', pattern: '^/' }, false, false);
export const bool = () => new Param<boolean>({ type: 'boolean' }, false, false);
export const int = (o: { minimum?: number; maximum?: number } = {}) => new Param<number>({ type: 'integer', ...o }, false, false);
export const oneOf = <const V extends readonly (string | number | boolean)[]>(values: V) => new Param<V[number]>({ enum: [...values] }, false, false);
export const list = <T>(item: Param<T, any>, o: { minItems?: number } = {}) => new Param<T[]>({ type: 'array', items: item.schema, ...o }, false, false);
export const obj = <S extends Shape>(shape: S) => new Param<InferShape<S>>(objectSchema(shape), false, false);
/** A mapping of free keys to values of one kind. */
export const record = <T>(value: Param<T, any>, o: { minProperties?: number } = {}) =>
  new Param<Record<string, T>>({ type: 'object', additionalProperties: value.schema, ...o }, false, false);
export const anyOf = <A extends AnyParam[]>(...alts: A) => new Param<TypeOf<A[number]>>({ anyOf: alts.map((a) => a.schema) }, false, false);
/** Escape hatch: a schema written by hand, with the type it stands for. */
export const raw = <T>(schema: Json) => new Param<T>(schema, false, false);
