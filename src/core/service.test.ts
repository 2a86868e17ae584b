import { describe, expect, it } from 'vitest';
import { type CallContext, NEVER_ABORTED } from './context.js';
import { compose, type Filter, type Service } from './service.js';

const ctx: CallContext = {
  method: 's/m',
  service: 's',
  deadline: Number.POSITIVE_INFINITY,
  signal: NEVER_ABORTED,
  metadata: {},
  attempt: 1,
  idempotent: true,
};

describe('compose', () => {
  it('runs filters outermost first and unwinds in reverse', async () => {
    const log: string[] = [];
    const tag =
      (name: string): Filter<string, string> =>
      async (req, c, next) => {
        log.push(`>${name}`);
        const res = await next(`${req}${name}`, c);
        log.push(`<${name}`);
        return `${res}${name}`;
      };
    const service: Service<string, string> = async (req) => {
      log.push(`service:${req}`);
      return 'r';
    };
    await expect(compose(tag('a'), tag('b'))(service)('x', ctx)).resolves.toBe('rba');
    expect(log).toEqual(['>a', '>b', 'service:xab', '<b', '<a']);
  });

  it('lets a filter short-circuit, retry, or change the context', async () => {
    let calls = 0;
    const service: Service<number, number> = async (req, c) => {
      calls++;
      if (c.attempt < 3) throw new Error('flaky');
      return req * c.attempt;
    };
    const retry: Filter<number, number> = async (req, c, next) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await next(req, { ...c, attempt });
        } catch (err) {
          if (attempt >= 5) throw err;
        }
      }
    };
    const cache: Filter<number, number> = async (req, c, next) => (req === 0 ? -1 : next(req, c));
    const chain = compose(cache, retry)(service);
    await expect(chain(0, ctx)).resolves.toBe(-1);
    expect(calls).toBe(0);
    await expect(chain(7, ctx)).resolves.toBe(21);
    expect(calls).toBe(3);
  });

  it('with no filters is the service itself', () => {
    const service: Service = async () => 1;
    expect(compose()(service)).toBe(service);
  });
});
