// One chaos instance, started with `node --import tsx` by the chaos tests. It serves
// ChaosService through runInstance (registering with TENSILE_REGISTRY_URL) and appends the
// id of every call it starts to CHAOS_LOG with a synchronous write, so the record survives
// SIGKILL. Environment: CHAOS_LOG (required), CHAOS_WORK_MS (default 5), CHAOS_CAPACITY
// (handlers that do work at once, the rest wait in FIFO order: a database pool; default
// unlimited), CHAOS_SHED_MAX (adds adaptiveConcurrency with this maxLimit).
import { closeSync, openSync, writeSync } from 'node:fs';
import { RpcError } from '../../core/errors.js';
import type { Filter } from '../../core/service.js';
import { runInstance } from '../../scale/worker.js';
import { adaptiveConcurrency } from '../shedding.js';
import {
  type ChaosCommand,
  type ChaosReport,
  ChaosService,
  type ChaosStats,
  type Job,
} from './chaos-service.js';

const logPath = process.env.CHAOS_LOG;
if (!logPath) throw new Error('CHAOS_LOG is required');
const log = openSync(logPath, 'a');
const workMs = Number(process.env.CHAOS_WORK_MS ?? 5);
const capacity = Number(process.env.CHAOS_CAPACITY ?? Number.POSITIVE_INFINITY);
const shedMax = process.env.CHAOS_SHED_MAX ? Number(process.env.CHAOS_SHED_MAX) : undefined;

let failing = false;
let executed = 0;
let handlers = 0;
let handlersPeak = 0;
let shed = 0;

// The scarce resource behind the handler: with a capacity, latency grows with the queue,
// which is what an adaptive limit watches for.
let busy = 0;
const waiting: (() => void)[] = [];
const acquire = (): Promise<void> => {
  if (busy < capacity) {
    busy++;
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => waiting.push(resolve));
};
const releaseSlot = () => {
  const next = waiting.shift();
  if (next) next();
  else busy--;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let id = '';
const handle = async (job: Job) => {
  writeSync(log, `${job.id}\n`);
  executed++;
  handlers++;
  if (handlers > handlersPeak) handlersPeak = handlers;
  try {
    if (failing) throw new RpcError('UNAVAILABLE', 'injected failure: backing store down');
    await acquire();
    try {
      await sleep(job.ms ?? workMs);
    } finally {
      releaseSlot();
    }
    return { by: id };
  } finally {
    handlers--;
  }
};

const limiter = shedMax === undefined ? undefined : adaptiveConcurrency({ maxLimit: shedMax });
limiter?.onShed(() => shed++);
const filters: Filter[] = limiter ? [limiter] : [];

const instance = await runInstance({
  service: ChaosService,
  handlers: { work: handle, charge: handle },
  filters,
  deregisterDelayMs: 0,
  graceMs: 1_000,
});
id = instance.id;

const heapBaseline = process.memoryUsage().heapUsed;
let heapPeak = heapBaseline;
let inflightPeak = 0;
setInterval(() => {
  const heap = process.memoryUsage().heapUsed;
  if (heap > heapPeak) heapPeak = heap;
  if (instance.server.inflight > inflightPeak) inflightPeak = instance.server.inflight;
}, 10).unref();

const reply = (m: ChaosReport) => process.connected && process.send?.(m);
process.on('message', (m: ChaosCommand) => {
  if (m?.chaos === 'fail') {
    failing = m.on;
    reply({ chaos: 'fail', on: failing });
  } else if (m?.chaos === 'stats') {
    const stats: ChaosStats = {
      executed,
      handlersPeak,
      inflightPeak,
      shed,
      limit: limiter?.limit,
      heapBaseline,
      heapPeak,
    };
    reply({ chaos: 'stats', stats });
  }
});
process.once('exit', () => closeSync(log));
