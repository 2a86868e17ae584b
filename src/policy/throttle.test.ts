import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../balance/prng.js';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { noInstance, rejection } from './classify.js';
import { ctxFor, deferred, fakeClock } from './testing.js';
import { adaptiveThrottle } from './throttle.js';

const ok: Service = async () => 'ok';
const overloaded: Service = async () => {
  throw new RpcError('RESOURCE_EXHAUSTED', 'shed');
};

async function drive(f: ReturnType<typeof adaptiveThrottle>, s: Service, n: number) {
  let sent = 0;
  const counting: Service = (r, c) => {
    sent++;
    return s(r, c);
  };
  for (let i = 0; i < n; i++) await f(i, ctxFor(), counting).catch(() => {});
  return sent;
}

describe('adaptiveThrottle', () => {
  it('never throttles a healthy backend, or one that answers errors that are not refusals', async () => {
    const f = adaptiveThrottle({ random: mulberry32(1), clock: fakeClock() });
    expect(await drive(f, ok, 500)).toBe(500);
    const bad: Service = async () => {
      throw new RpcError('INVALID_ARGUMENT', 'no');
    };
    expect(await drive(f, bad, 500)).toBe(500);
    expect(f.probability).toBe(0);
  });

  it('sends about K × what a saturated backend accepts, refusing the rest locally', async () => {
    const clock = fakeClock();
    const f = adaptiveThrottle({ k: 2, random: mulberry32(7), clock });
    // The backend serves 20 calls per second and refuses the rest; the client offers 100 per second.
    let second = -1;
    let served = 0;
    const capacity20: Service = async (r, c) => {
      const s = Math.floor(clock.now() / 1000);
      if (s !== second) [second, served] = [s, 0];
      return ++served <= 20 ? ok(r, c) : overloaded(r, c);
    };
    const shed: string[] = [];
    f.onShed((e) => shed.push(e.policy));
    let sent = 0;
    for (let i = 0; i < 6000; i++) {
      const counted: Service = (r, c) => {
        sent++;
        return capacity20(r, c);
      };
      await f(i, ctxFor(), counted).catch(() => {});
      await clock.advance(10);
    }
    // Equilibrium: p = (100 − 2·20) / 100 = 0.6, so about 40 % of calls go out.
    expect(sent / 6000).toBeGreaterThan(0.33);
    expect(sent / 6000).toBeLessThan(0.47);
    expect(shed.length).toBe(6000 - sent);
    expect(shed[0]).toBe('adaptive-throttle');
  });

  it('forgets the overload once it leaves the window', async () => {
    const clock = fakeClock();
    const f = adaptiveThrottle({ random: mulberry32(3), windowMs: 60_000, clock });
    await drive(f, overloaded, 200);
    expect(f.probability).toBeGreaterThan(0.9);
    await clock.advance(60_000);
    expect(f.probability).toBe(0);
    expect(await drive(f, ok, 100)).toBe(100);
  });

  it('never refuses a call when the window holds no refusals, not even the first one', async () => {
    const clock = fakeClock();
    const f = adaptiveThrottle({ random: () => 0, windowMs: 60_000, clock }); // refuses whenever p > 0
    expect(await drive(f, ok, 1)).toBe(1);
    await clock.advance(60_000); // a quiet window: the history is gone
    expect(await drive(f, ok, 1)).toBe(1);
  });

  it('does not count refusals raised locally below it as backend rejections', async () => {
    const clock = fakeClock();
    const f = adaptiveThrottle({ random: mulberry32(5), clock });
    const bulkheadFull: Service = async () => {
      throw rejection('RESOURCE_EXHAUSTED', 'bulkhead', 'bulkhead full');
    };
    const nothingToPick: Service = async () => {
      throw noInstance('test.Svc');
    };
    expect(await drive(f, bulkheadFull, 300)).toBe(300);
    expect(await drive(f, nothingToPick, 300)).toBe(300);
    expect(f.probability).toBe(0);
    // Nor as requests: the backend's real refusals weigh as much as before.
    await drive(f, overloaded, 9);
    expect(f.probability).toBeCloseTo(0.9);
  });

  it('takes back a local refusal only while its request is still in the window', async () => {
    const clock = fakeClock();
    const f = adaptiveThrottle({ random: mulberry32(9), windowMs: 60_000, clock });
    const gate = deferred();
    const slow = f(0, ctxFor(), () => gate.promise).catch(() => {});
    await clock.advance(60_000); // its request has left the window
    gate.reject(rejection('RESOURCE_EXHAUSTED', 'rate-limit', 'rate limited'));
    await slow;
    await drive(f, overloaded, 9);
    expect(f.probability).toBeCloseTo(0.9); // 9 requests, no accepts: nothing taken twice
  });
});
