import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../client/endpoint-types.js';
import { RpcError } from '../core/errors.js';
import { compose, type Service } from '../core/service.js';
import { constantBackoff } from './backoff.js';
import { defaultClientPolicies } from './defaults.js';
import { ctxFor, fakeClock, fakeDirectory, fakeEndpoint } from './testing.js';

/** Wires the policies the way the client does: filters → cluster(directory), endpoint filters per endpoint. */
function client(policies: ReturnType<typeof defaultClientPolicies>, handlers: Record<string, Service>) {
  const endpoints: (Endpoint & { calls: number })[] = Object.entries(handlers).map(([id, h]) =>
    fakeEndpoint(id, h, policies.endpointFilters),
  );
  const call = compose(...policies.filters)(policies.cluster(fakeDirectory(endpoints)));
  return { call, endpoints };
}

const crashed: Service = async () => {
  throw new RpcError('UNAVAILABLE', 'connection refused', { mayHaveProcessed: false });
};
const ok: Service = async () => 'ok';

describe('defaultClientPolicies', () => {
  it('with one instance down, idempotent and not-processed calls all succeed, and the instance is ejected', async () => {
    const clock = fakeClock();
    const p = defaultClientPolicies({ clock, retry: { backoff: constantBackoff(0) } });
    const { call, endpoints } = client(p, { a: ok, b: crashed, c: ok });
    const ejected: string[] = [];
    p.events.onEject?.((e) => ejected.push(e.instance));
    for (let i = 0; i < 60; i++) expect(await call(i, ctxFor({ idempotent: i % 2 === 0 }))).toBe('ok');
    expect(endpoints[1]!.status).toBe('ejected');
    expect(ejected).toEqual(['b']);
    expect(endpoints[1]!.calls).toBe(5); // the outlier detector's consecutive-failure threshold
    p.dispose();
    expect(endpoints[1]!.status).toBe('open');
  });

  it('never repeats a non-idempotent call that may have run', async () => {
    const p = defaultClientPolicies({ clock: fakeClock(), retry: { backoff: constantBackoff(0) } });
    let executions = 0;
    const ranThenDied: Service = async () => {
      executions++;
      throw new RpcError('UNAVAILABLE', 'connection lost after send');
    };
    const { call } = client(p, { a: ranThenDied, b: ranThenDied });
    await expect(call(1, ctxFor({ idempotent: false }))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(executions).toBe(1);
    p.dispose();
  });

  it('adds timeouts and hedging only when asked, in the documented order', () => {
    expect(defaultClientPolicies().filters).toHaveLength(1);
    const full = defaultClientPolicies({ totalTimeoutMs: 1000, attemptTimeoutMs: 200, hedge: true });
    expect(full.filters).toHaveLength(4);
    expect(full.endpointFilters).toHaveLength(2);
    expect(Object.keys(full.events).sort()).toEqual(
      ['onBreak', 'onEject', 'onGiveUp', 'onHalfOpen', 'onHedge', 'onReset', 'onRetry', 'onUneject'].sort(),
    );
    const bare = defaultClientPolicies({ retry: false, breaker: false, outlier: false });
    expect([bare.filters.length, bare.endpointFilters.length]).toEqual([0, 0]);
    full.dispose();
  });

  it("dispose stops the endpoint breakers' wake timers", async () => {
    const clock = fakeClock();
    const p = defaultClientPolicies({
      clock,
      retry: false,
      outlier: false,
      breaker: { window: { size: 1 }, minimumCalls: 1 },
    });
    const { call } = client(p, { a: crashed });
    await call(1, ctxFor()).catch(() => {});
    expect(clock.pending).toBe(1); // the open breaker's wake
    p.dispose();
    expect(clock.pending).toBe(0);
  });
});
