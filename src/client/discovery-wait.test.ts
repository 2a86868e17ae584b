import { describe, expect, it } from 'vitest';
import { type CallContext, NEVER_ABORTED } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { DiscoveryWait } from './discovery-wait.js';

function ctx(timeoutMs: number, signal: AbortSignal = NEVER_ABORTED): CallContext {
  return {
    method: 'svc/m',
    service: 'svc',
    deadline: Date.now() + timeoutMs,
    signal,
    metadata: {},
    attempt: 1,
    idempotent: false,
  };
}

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

describe('DiscoveryWait', () => {
  it('forgets calls that gave up while discovery stays silent', async () => {
    const ready = deferred();
    const wait = new DiscoveryWait('svc', ready.promise);
    const ac = new AbortController();
    const outcomes = Promise.allSettled([
      ...Array.from({ length: 50 }, () => wait.wait(ctx(1))),
      wait.wait(ctx(60_000, ac.signal)),
    ]);
    expect(wait.waiting).toBe(51);
    ac.abort();
    const settled = await outcomes;
    expect(wait.waiting).toBe(0);
    const codes = settled.map((s) => (s.status === 'rejected' ? (s.reason as RpcError).code : 'ok'));
    expect(codes.filter((c) => c === 'DEADLINE_EXCEEDED')).toHaveLength(50);
    expect(codes.at(-1)).toBe('CANCELLED');
  });

  it('lets every waiter go on the first answer', async () => {
    const ready = deferred();
    const wait = new DiscoveryWait('svc', ready.promise);
    const calls = [wait.wait(ctx(60_000)), wait.wait(ctx(60_000))];
    ready.resolve();
    await expect(Promise.all(calls)).resolves.toEqual([undefined, undefined]);
    expect(wait.waiting).toBe(0);
  });

  it('fails every waiter with the closing error, as never processed', async () => {
    const ready = deferred();
    const wait = new DiscoveryWait('svc', ready.promise);
    const call = wait.wait(ctx(60_000));
    ready.reject(new RpcError('UNAVAILABLE', 'client closed', { mayHaveProcessed: false }));
    await expect(call).rejects.toMatchObject({ code: 'UNAVAILABLE', mayHaveProcessed: false });
    expect(wait.waiting).toBe(0);
  });

  it('answers calls that come after the outcome at once, with no deadline to save them', async () => {
    const closed = deferred();
    const failed = new DiscoveryWait('svc', closed.promise);
    closed.reject(new RpcError('UNAVAILABLE', 'client closed', { mayHaveProcessed: false }));
    await new Promise((r) => setImmediate(r));
    await expect(failed.wait(ctx(Number.POSITIVE_INFINITY))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const answered = deferred();
    const ok = new DiscoveryWait('svc', answered.promise);
    answered.resolve();
    await new Promise((r) => setImmediate(r));
    await expect(ok.wait(ctx(Number.POSITIVE_INFINITY))).resolves.toBeUndefined();
    expect(failed.waiting + ok.waiting).toBe(0);
  });
});
