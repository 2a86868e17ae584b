import { describe, expect, it } from 'vitest';
import { SerialQueue, untilDone } from './serial.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('SerialQueue', () => {
  it('runs writes one at a time in call order, past a failure', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    let release!: () => void;
    const first = q.run(
      () =>
        new Promise<void>((r) => {
          log.push('first start');
          release = () => {
            log.push('first end');
            r();
          };
        }),
    );
    const failing = q.run(async () => {
      log.push('second');
      throw new Error('no');
    });
    const third = q.run(async () => {
      log.push('third');
      return 3;
    });
    await tick();
    expect(log).toEqual(['first start']);
    release();
    await first;
    await expect(failing).rejects.toThrow('no');
    await expect(third).resolves.toBe(3);
    expect(log).toEqual(['first start', 'first end', 'second', 'third']);
  });

  it('idle() waits for what was queued and never rejects', async () => {
    const q = new SerialQueue();
    let done = false;
    void q
      .run(async () => {
        await tick();
        done = true;
        throw new Error('ignored by idle');
      })
      .catch(() => {});
    await q.idle();
    expect(done).toBe(true);
  });
});

describe('untilDone', () => {
  it('shares the attempt in flight, retries after a failure, and is final after a success', async () => {
    let calls = 0;
    let fail = true;
    const op = untilDone(async () => {
      calls++;
      await tick();
      if (fail) throw new Error('down');
    });
    const [a, b] = [op(), op()];
    expect(a).toBe(b);
    await expect(a).rejects.toThrow('down');
    expect(calls).toBe(1);
    fail = false;
    await op();
    await op();
    expect(calls).toBe(2);
  });
});
