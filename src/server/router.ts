import { fullMethodName, type Methods, type OutputOf, type ServiceDefinition } from '../contract/define.js';
import { hasValidation, validate } from '../contract/validate.js';
import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { compose, type Filter, type Service } from '../core/service.js';

/** What a server needs to implement a service: one async handler per method. */
export type Handlers<M extends Methods> = {
  [K in keyof M]: (input: OutputOf<M[K]['input']>, ctx: CallContext) => Promise<OutputOf<M[K]['output']>>;
};

export interface Route {
  readonly service: string;
  readonly idempotent: boolean;
  /** Server filters, then input validation, then the handler. */
  readonly call: Service;
}

/** Maps full method names to ready-composed call chains, built once at implement() time. */
export class Router {
  private readonly routes = new Map<string, Route>();

  constructor(private readonly filters: readonly Filter[]) {}

  add<M extends Methods>(def: ServiceDefinition<string, M>, handlers: Handlers<M>): void {
    for (const [name, method] of Object.entries(def.methods)) {
      const handler = handlers[name as keyof M] as unknown as
        | ((i: unknown, c: CallContext) => Promise<unknown>)
        | undefined;
      if (typeof handler !== 'function') throw new TypeError(`missing handler for ${def.name}.${name}`);
      const full = fullMethodName(def.name, name);
      if (this.routes.has(full)) throw new TypeError(`${full} is already implemented`);
      const schema = method.input;
      const terminal: Service = hasValidation(schema)
        ? async (req, ctx) => handler(await validate(schema, req, 'input'), ctx)
        : (req, ctx) => handler(req, ctx);
      this.routes.set(full, {
        service: def.name,
        idempotent: method.idempotent,
        call: compose(...this.filters)(terminal),
      });
    }
  }

  get(method: string): Route | undefined {
    return this.routes.get(method);
  }

  methods(): string[] {
    return [...this.routes.keys()];
  }
}

export function unimplemented(method: string): RpcError {
  return new RpcError('UNIMPLEMENTED', `unknown method ${JSON.stringify(method)}`, {
    mayHaveProcessed: false,
  });
}
