import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { consoleLogger, type Logger, silentLogger } from './logger.js';

/** Code that only knows the Logger interface, as the framework's components do. */
function component(log: Logger) {
  log.debug('dialling');
  log.info({ instance: 'a:1', attempt: 2 }, 'connected');
  log.warn('slow');
  log.error({ err: 'boom' }, 'failed');
}

describe('Logger', () => {
  it('accepts a real pino instance, which writes JSON lines in pino shape', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const log = pino({ level: 'info', base: undefined, timestamp: false }, stream);
    component(log);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      { level: 30, instance: 'a:1', attempt: 2, msg: 'connected' },
      { level: 40, msg: 'slow' },
      { level: 50, err: 'boom', msg: 'failed' },
    ]);
  });

  it('silentLogger says nothing', () => {
    const seen: unknown[] = [];
    const spy = {
      debug: seen.push.bind(seen),
      info: seen.push.bind(seen),
      warn: seen.push.bind(seen),
      error: seen.push.bind(seen),
    };
    const original = { ...console };
    Object.assign(console, spy);
    try {
      component(silentLogger);
    } finally {
      Object.assign(console, original);
    }
    expect(seen).toEqual([]);
  });

  it('consoleLogger writes the level and above, with the object after the message', () => {
    const seen: unknown[][] = [];
    const record =
      (name: string) =>
      (...args: unknown[]) =>
        seen.push([name, ...args]);
    const out = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    component(consoleLogger('info', { console: out }));
    expect(seen).toEqual([
      ['info', '[info] connected', { instance: 'a:1', attempt: 2 }],
      ['warn', '[warn] slow'],
      ['error', '[error] failed', { err: 'boom' }],
    ]);
    seen.length = 0;
    component(consoleLogger('silent', { console: out }));
    expect(seen).toEqual([]);
  });
});
