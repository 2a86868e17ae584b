import type { StandardSchemaV1 } from '@standard-schema/spec';

/** A type with no runtime validation: `type<{ name: string }>()`. */
export interface TypeOnly<T> {
  readonly kind: 'type';
  /** Phantom: carries T for inference, never set. */
  readonly '~type'?: T;
}

export type Schema<T = unknown> = StandardSchemaV1<any, T> | TypeOnly<T>;

export function type<T>(): TypeOnly<T> {
  return { kind: 'type' };
}

/** What the caller passes (a schema's input type). */
export type InputOf<S> =
  S extends StandardSchemaV1<infer I, any> ? I : S extends TypeOnly<infer T> ? T : never;
/** What validation yields (a schema's output type). */
export type OutputOf<S> =
  S extends StandardSchemaV1<any, infer O> ? O : S extends TypeOnly<infer T> ? T : never;

export interface UnaryMethod<I extends Schema = Schema, O extends Schema = Schema> {
  readonly kind: 'unary';
  readonly input: I;
  readonly output: O;
  /** Safe to run more than once: retries and hedging may send it again. */
  readonly idempotent: boolean;
}

export function unary<I extends Schema, O extends Schema>(spec: {
  input: I;
  output: O;
  idempotent?: boolean;
}): UnaryMethod<I, O> {
  return { kind: 'unary', input: spec.input, output: spec.output, idempotent: spec.idempotent ?? false };
}

export type Methods = Record<string, UnaryMethod<any, any>>;

export interface ServiceDefinition<Name extends string = string, M extends Methods = Methods> {
  readonly name: Name;
  readonly methods: M;
}

/** Names a client object uses for itself; a method may not take them. */
export const RESERVED_METHOD_NAMES = new Set(['close', 'then', 'constructor', '__proto__']);

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

export function defineService<const Name extends string, const M extends Methods>(
  name: Name,
  methods: M,
): ServiceDefinition<Name, M> {
  if (!NAME.test(name)) throw new TypeError(`invalid service name ${JSON.stringify(name)}`);
  for (const method of Object.keys(methods)) {
    if (!NAME.test(method) || method.includes('.'))
      throw new TypeError(`invalid method name ${JSON.stringify(method)}`);
    if (RESERVED_METHOD_NAMES.has(method) || method.startsWith('$')) {
      throw new TypeError(`method name ${JSON.stringify(method)} is reserved`);
    }
    if (methods[method]?.kind !== 'unary')
      throw new TypeError(`method ${method} must be declared with unary()`);
  }
  return Object.freeze({ name, methods: Object.freeze({ ...methods }) });
}

export function fullMethodName(service: string, method: string): string {
  return `${service}/${method}`;
}
