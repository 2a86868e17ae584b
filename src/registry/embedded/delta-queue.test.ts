import { describe, expect, it } from 'vitest';
import { normalizeInstance } from '../instance.js';
import { DeltaQueue } from './delta-queue.js';
import type { Change, Lease } from './store.js';

const change = (version: number, at: number, body?: string): Change => {
  const instance = normalizeInstance({ service: 's', address: '10.0.0.1:80', id: `i${version}` }, at);
  const lease: Lease = {
    instance,
    ownStatus: 'UP',
    ...(body ? { eureka: { pad: body } } : {}),
    ttlMs: 10_000,
    renewIntervalMs: 3_000,
    expiresAt: at + 10_000,
    lastRenewedAt: at,
    leaseStartedAt: at,
    lastUpdatedAt: at,
  };
  return { version, type: 'added', service: 's', lease, at };
};

describe('DeltaQueue', () => {
  it('drops changes older than the retention', () => {
    const q = new DeltaQueue({ retentionMs: 1000 });
    q.push(change(1, 0), 1);
    q.push(change(2, 600), 1);
    expect(q.trim(1200, 1).map((c) => c.version)).toEqual([2]);
  });

  it('holds a few changes per live lease, however fast they churn', () => {
    const q = new DeltaQueue();
    for (let v = 1; v <= 5000; v++) q.push(change(v, 0), 10);
    const kept = q.trim(0, 10);
    expect(kept).toHaveLength(1000); // the floor: max(1000, 4 × 10 live leases)
    expect(kept.at(-1)!.version).toBe(5000);
  });

  it('bounds the bytes that large Eureka bodies take, keeping the newest', () => {
    const q = new DeltaQueue({ maxBytes: 1_000_000 });
    const big = 'x'.repeat(60_000);
    for (let v = 1; v <= 100; v++) q.push(change(v, 0, big), 100);
    const kept = q.trim(0, 100);
    expect(q.size).toBeLessThanOrEqual(1_000_000);
    expect(kept.length).toBeGreaterThanOrEqual(15);
    expect(kept.length).toBeLessThan(17);
    expect(kept.at(-1)!.version).toBe(100);
  });
});
