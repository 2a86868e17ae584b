import { fullMethodName, type Methods, type OutputOf, type ServiceDefinition } from '../contract/define.js';
import { hasValidation, validate } from '../contract/validate.js';
import type { CallContext } from '../core/context.js';
import { RpcError, withMayHaveProcessed } from '../core/errors.js';
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
      // A method named like an Object.prototype member (toString…) must not find that member.
      if (typeof handler !== 'function' || handler === (Object.prototype as Record<string, unknown>)[name])
        throw new TypeError(`missing handler for ${def.name}.${name}`);
      const full = fullMethodName(def.name, name);
      if (this.routes.has(full)) throw new TypeError(`${full} is already implemented`);
      const run = (input: unknown, ctx: CallContext): Promise<unknown> => {
        let out: Promise<unknown>;
        try {
          out = Promise.resolve(handler.call(handlers, input, ctx));
        } catch (err) {
          return Promise.reject(ranHandler(err));
        }
        return out.then(undefined, rethrowRan);
      };
      const schema = method.input;
      // Plain functions, not async ones: most schemas validate synchronously, and an async
      // wrapper would add promises and ticks to every call.
      const validated: Service = (req, ctx) => {
        let input: unknown;
        try {
          input = validate(schema, req, 'input');
        } catch (err) {
          return Promise.reject(err);
        }
        return input instanceof Promise ? input.then((i) => run(i, ctx)) : run(input, ctx);
      };
      const terminal = hasValidation(schema) ? validated : run;
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

/**
 * An error out of a handler has run the handler, whatever its own flag says: a handler that
 * rethrows a downstream call's "not processed" failure did work first, and NOT_PROCESSED on
 * the wire would let the caller retry a non-idempotent call.
 */
function ranHandler(err: unknown): unknown {
  return err instanceof RpcError ? withMayHaveProcessed(err, true) : err;
}

const rethrowRan = (err: unknown): never => {
  throw ranHandler(err);
};

export function unimplemented(method: string): RpcError {
  return new RpcError('UNIMPLEMENTED', `unknown method ${JSON.stringify(method)}`, {
    mayHaveProcessed: false,
  });
}
