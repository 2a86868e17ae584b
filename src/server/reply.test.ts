import { describe, expect, it, vi } from 'vitest';
import { RpcError, Status } from '../core/errors.js';
import { jsonCodec } from '../wire/codec.js';
import { decodeError, FrameType } from '../wire/frame.js';
import { decodeOneFrame } from '../wire/test-server-frames.js';
import { errorFrame, failureFrame, replyFrame } from './reply.js';

const codec = jsonCodec();

const decodeOne = decodeOneFrame;

describe('replyFrame', () => {
  it('encodes the value as a RESPONSE for the call', () => {
    const frame = decodeOne(replyFrame(codec, 7, { hi: 'there' }));
    expect(frame.type).toBe(FrameType.RESPONSE);
    expect(frame.callId).toBe(7);
    expect(codec.decode(frame.body)).toEqual({ hi: 'there' });
  });

  it('turns a value the codec cannot encode into INTERNAL that may have run', () => {
    const frame = decodeOne(replyFrame(codec, 8, { n: 10n }));
    expect(frame.type).toBe(FrameType.ERROR);
    const err = decodeError(frame);
    expect(err.code).toBe(Status.INTERNAL);
    expect(err.message).toMatch(/^cannot encode reply: /);
    expect(err.notProcessed).toBe(false);
  });
});

describe('failureFrame', () => {
  it('sends an RpcError with its code, message, details and processed flag', () => {
    const rpc = new RpcError('NOT_FOUND', 'no such user', { details: { id: 3 } });
    const err = decodeError(decodeOne(failureFrame(codec, 1, 'users.get', rpc, { exposeErrors: false })));
    expect(err.code).toBe(Status.NOT_FOUND);
    expect(err.message).toBe('no such user');
    expect(codec.decode(err.details)).toEqual({ id: 3 });
    expect(err.notProcessed).toBe(!rpc.mayHaveProcessed);
  });

  it('hides a handler bug behind INTERNAL and reports it once', () => {
    const onHandlerError = vi.fn();
    const bug = new TypeError('x is undefined');
    const opts = { exposeErrors: false, onHandlerError };
    const err = decodeError(decodeOne(failureFrame(codec, 2, 'users.get', bug, opts)));
    expect(err.code).toBe(Status.INTERNAL);
    expect(err.message).toBe('internal error in users.get');
    expect(err.details.length).toBe(0);
    expect(onHandlerError).toHaveBeenCalledExactlyOnceWith(bug, 'users.get');
  });

  it('exposes the message and stack when asked to', () => {
    const bug = new Error('boom');
    const err = decodeError(decodeOne(failureFrame(codec, 3, 'm', bug, { exposeErrors: true })));
    expect(err.message).toBe('boom');
    expect((codec.decode(err.details) as { stack: string }).stack).toContain('boom');
  });
});

describe('errorFrame', () => {
  it('drops details the codec cannot encode and keeps the error', () => {
    const err = decodeError(
      decodeOne(errorFrame(codec, 4, new RpcError('ABORTED', 'lost', { details: 1n }))),
    );
    expect(err.code).toBe(Status.ABORTED);
    expect(err.message).toBe('lost');
    expect(err.details.length).toBe(0);
  });
});
