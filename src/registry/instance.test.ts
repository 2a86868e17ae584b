import { describe, expect, it } from 'vitest';
import { joinHostPort, normalizeInstance, splitAddress } from './instance.js';

describe('instance addresses', () => {
  it('accepts host:port and bracketed IPv6, and rejects the rest', () => {
    for (const address of ['10.0.0.1:80', 'svc.local:7000', '[::1]:7000', '[fe80::1%eth0]:80']) {
      expect(normalizeInstance({ service: 's', address }).address).toBe(address);
    }
    for (const address of ['::1:7000', 'fe80::1', 'host', 'a b:1', '[::1]', '[x y]:1', 'h:port']) {
      expect(() => normalizeInstance({ service: 's', address })).toThrow(/host:port/);
    }
  });

  it('splits and joins with the IPv6 host unbracketed', () => {
    expect(splitAddress('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(splitAddress('h:1')).toEqual({ host: 'h', port: 1 });
    expect(joinHostPort('::1', 7000)).toBe('[::1]:7000');
    expect(joinHostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(joinHostPort(splitAddress('[fe80::1]:80').host, 80)).toBe('[fe80::1]:80');
  });
});
