import { createTraceState, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { metadataGetter, metadataSetter, w3cTraceContext } from './w3c-propagator.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';
const propagator = w3cTraceContext();

function extract(carrier: Record<string, string>) {
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, metadataGetter));
}

describe('w3cTraceContext', () => {
  it('round-trips traceparent and tracestate through metadata', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId,
      traceFlags: TraceFlags.SAMPLED,
      traceState: createTraceState('vendor=a,other=b'),
    });
    const carrier: Record<string, string> = { 'x-keep': '1' };
    propagator.inject(ctx, carrier, metadataSetter);
    expect(carrier).toEqual({
      'x-keep': '1',
      traceparent: `00-${traceId}-${spanId}-01`,
      tracestate: 'vendor=a,other=b',
    });
    const back = extract(carrier);
    expect(back).toMatchObject({ traceId, spanId, traceFlags: 1, isRemote: true });
    expect(back?.traceState?.get('other')).toBe('b');
    expect(propagator.fields()).toEqual(['traceparent', 'tracestate']);
  });

  it('keeps unsampled flags and injects nothing without a valid span', () => {
    expect(extract({ traceparent: `00-${traceId}-${spanId}-00` })?.traceFlags).toBe(0);
    const carrier: Record<string, string> = {};
    propagator.inject(ROOT_CONTEXT, carrier, metadataSetter);
    expect(carrier).toEqual({});
  });

  it.each([
    ['missing', undefined],
    ['forbidden version ff', `ff-${traceId}-${spanId}-01`],
    ['extra fields on version 00', `00-${traceId}-${spanId}-01-extra`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${spanId}-01`],
    ['all-zero span id', `00-${traceId}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${traceId.toUpperCase()}-${spanId}-01`],
    ['short trace id', `00-${traceId.slice(2)}-${spanId}-01`],
    ['garbage', 'hello'],
  ])('ignores a %s traceparent', (_name, header) => {
    expect(extract(header === undefined ? {} : { traceparent: header })).toBeUndefined();
  });

  it('accepts a future version with more fields, and a repeated header', () => {
    expect(extract({ traceparent: `01-${traceId}-${spanId}-01-future` })?.spanId).toBe(spanId);
    const getterWithArrays = { keys: () => ['traceparent'], get: () => [`00-${traceId}-${spanId}-01`, 'x'] };
    const ctx = propagator.extract(ROOT_CONTEXT, {}, getterWithArrays);
    expect(trace.getSpanContext(ctx)?.traceId).toBe(traceId);
  });

  it('never reads inherited keys from metadata', () => {
    expect(metadataGetter.get({}, 'constructor')).toBeUndefined();
  });
});
