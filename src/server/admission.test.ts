import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';

/** Just what Admission reads of a socket. */
function fakeSocket(remoteAddress?: string, remotePort?: number) {
  const s = Object.assign(new EventEmitter(), {
    remoteAddress,
    remotePort,
    bytesWritten: 0,
    writableEnded: false,
    destroyed: false,
    destroy() {
      s.destroyed = true;
      s.emit('close');
    },
  });
  return s;
}
const asSocket = (s: ReturnType<typeof fakeSocket>) => s as unknown as Socket;

describe('Admission', () => {
  it('counts sockets reset before admission (no address) separately, not as one undefined:undefined', () => {
    const admission = new Admission(2);
    const a = fakeSocket();
    const b = fakeSocket();
    a.bytesWritten = b.bytesWritten = 1; // established: not evictable
    expect(admission.admit(asSocket(a), true)).toBe(true);
    expect(admission.admit(asSocket(b), true)).toBe(true);
    expect(admission.size).toBe(2);
    expect(admission.admit(asSocket(fakeSocket('10.0.0.1', 1)), true)).toBe(false);
    a.destroy();
    expect(admission.size).toBe(1);
  });

  it('evicts a connection the server has ended before refusing a newcomer', () => {
    const admission = new Admission(1);
    const ended = fakeSocket('10.0.0.1', 1);
    ended.bytesWritten = 14;
    admission.admit(asSocket(ended), true);
    expect(admission.admit(asSocket(fakeSocket('10.0.0.2', 2)), true)).toBe(false);
    ended.writableEnded = true;
    expect(admission.admit(asSocket(fakeSocket('10.0.0.3', 3)), true)).toBe(true);
    expect(ended.destroyed).toBe(true);
    expect([admission.size, admission.evicted, admission.refused]).toEqual([1, 1, 1]);
  });
});
