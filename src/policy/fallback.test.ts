import { describe, expect, it } from 'vitest';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { fallback } from './fallback.js';
import { ctxFor } from './testing.js';

const fails =
  (code: RpcError['code']): Service<any, any> =>
  async () => {
    throw new RpcError(code, 'failed');
  };

describe('fallback', () => {
  it('answers with a value and reports it', async () => {
    const f = fallback({ value: 'cached' });
    const seen: string[] = [];
    f.onFallback((e) => seen.push(e.error.code));
    expect(await f(1, ctxFor(), fails('UNAVAILABLE'))).toBe('cached');
    expect(await f(1, ctxFor(), async () => 'live')).toBe('live');
    expect(seen).toEqual(['UNAVAILABLE']);
  });

  it('answers with a function of the error and request', async () => {
    const f = fallback<number, string>({ from: (err, req) => `${err.code}:${req}` });
    expect(await f(7, ctxFor(), fails('INTERNAL'))).toBe('INTERNAL:7');
  });

  it('calls another service with the same request and context', async () => {
    const backup: Service = async (req, ctx) => `backup ${req} ${ctx.method}`;
    const f = fallback({ service: backup });
    expect(await f('q', ctxFor(), fails('DEADLINE_EXCEEDED'))).toBe('backup q test.Svc/call');
  });

  it('lets answers, caller cancellation and custom exclusions through', async () => {
    const f = fallback({ value: 'x' });
    await expect(f(1, ctxFor(), fails('INVALID_ARGUMENT'))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const c = new AbortController();
    c.abort();
    await expect(f(1, ctxFor({ signal: c.signal }), fails('UNAVAILABLE'))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    const only = fallback({ value: 'x' }, { when: (e) => e.code === 'NOT_FOUND' });
    expect(await only(1, ctxFor(), fails('NOT_FOUND'))).toBe('x');
    await expect(only(1, ctxFor(), fails('UNAVAILABLE'))).rejects.toBeInstanceOf(RpcError);
  });
});
