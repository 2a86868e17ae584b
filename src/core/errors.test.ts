import { describe, expect, it } from 'vitest';
import { isRpcError, RpcError, toRpcError, withMayHaveProcessed } from './errors.js';

describe('RpcError', () => {
  it('may have processed unless told otherwise', () => {
    expect(new RpcError('UNAVAILABLE', 'x').mayHaveProcessed).toBe(true);
    expect(new RpcError('UNAVAILABLE', 'x', { mayHaveProcessed: false }).mayHaveProcessed).toBe(false);
  });

  it('withMayHaveProcessed copies code, message, details and instance, and keeps the original as cause', () => {
    const original = new RpcError('UNAVAILABLE', 'backend down', {
      mayHaveProcessed: false,
      details: { hop: 2 },
    });
    original.instance = 'b-1';
    const ran = withMayHaveProcessed(original, true);
    expect(ran).not.toBe(original);
    expect(ran).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'backend down',
      mayHaveProcessed: true,
      instance: 'b-1',
    });
    expect(ran.details).toEqual({ hop: 2 });
    expect(ran.cause).toBe(original);
    expect(original.mayHaveProcessed).toBe(false);
    expect(withMayHaveProcessed(ran, true)).toBe(ran);
  });

  it('toRpcError wraps anything else with a fallback code', () => {
    const wrapped = toRpcError(new Error('boom'), 'INTERNAL');
    expect(isRpcError(wrapped, 'INTERNAL')).toBe(true);
    expect(wrapped.message).toBe('boom');
    const same = new RpcError('NOT_FOUND', 'x');
    expect(toRpcError(same)).toBe(same);
  });
});
