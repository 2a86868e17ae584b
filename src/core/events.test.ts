import { describe, expect, it } from 'vitest';
import { createEmitter } from './events.js';

describe('createEmitter', () => {
  it('delivers to subscribers until they dispose', () => {
    const emitter = createEmitter<number>();
    const seen: number[] = [];
    const sub = emitter.event((n) => seen.push(n));
    emitter.emit(1);
    sub.dispose();
    sub.dispose();
    emitter.emit(2);
    expect(seen).toEqual([1]);
    expect(emitter.size).toBe(0);
  });

  it('supports `using` and isolates a throwing listener', async () => {
    const emitter = createEmitter<string>();
    const seen: string[] = [];
    const errors: unknown[] = [];
    const onError = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onError);
    try {
      emitter.event(() => {
        throw new Error('bad listener');
      });
      {
        using _sub = emitter.event((s) => seen.push(s));
        emitter.emit('a');
      }
      emitter.emit('b');
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(seen).toEqual(['a']);
    expect(errors).toHaveLength(2);
  });
});
