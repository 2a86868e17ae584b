import { styleText } from 'node:util';
import type { ScaleDecision } from '../policy.js';
import type { DemoSummary } from './report.js';

type Style = Parameters<typeof styleText>[0];

/** One second of the demo as the progress line shows it. */
export interface DemoTick {
  t: number;
  phase: string;
  /** Calls sent in the last second. */
  offered: number;
  /** Calls answered successfully in the last second. */
  achieved: number;
  ready: number;
  starting: number;
  desired: number;
  p50Ms: number;
  p99Ms: number;
  /** Failed calls since the start. */
  errors: number;
}

/**
 * Where the demo writes. On a terminal the per-second status is one line redrawn in
 * place and events scroll above it; elsewhere (CI, pipes, tests) every status is a
 * plain line, so the output reads as a log.
 */
export function demoTerminal(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) {
  const tty = out.isTTY === true;
  const colors = tty && !process.env.NO_COLOR;
  let status = '';
  const clear = () => status && out.write('\r\x1b[2K');
  const color = (style: Style, text: string) => (colors ? styleText(style, text) : text);
  return {
    color,
    /** A line that stays (events, phase changes, the summary). */
    line(text: string) {
      clear();
      out.write(`${text}\n`);
      if (status) out.write(status);
    },
    status(text: string) {
      if (!tty) {
        out.write(`${text}\n`);
        return;
      }
      const width = out.columns ?? 120;
      status = text.length > width - 1 ? text.slice(0, width - 1) : text;
      out.write(`\r\x1b[2K${status}`);
    },
    /** Leaves the status line behind as a normal line. */
    end() {
      if (status) out.write('\n');
      status = '';
    },
  };
}

export type DemoTerminal = ReturnType<typeof demoTerminal>;

const secs = (t: number) => `${t.toFixed(0).padStart(3)}s`;
const ms = (x: number) => `${Math.round(x)} ms`.padStart(7);

export function formatTick(tick: DemoTick): string {
  return (
    `${secs(tick.t)}  ${tick.phase.padEnd(9)}  offered ${String(Math.round(tick.offered)).padStart(4)}/s` +
    `  achieved ${String(Math.round(tick.achieved)).padStart(4)}/s` +
    `  ready ${tick.ready}  starting ${tick.starting}  desired ${tick.desired}` +
    `  p50 ${ms(tick.p50Ms)}  p99 ${ms(tick.p99Ms)}  errors ${tick.errors}`
  );
}

export function formatDecision(t: number, d: ScaleDecision, term: Pick<DemoTerminal, 'color'>): string {
  const label =
    d.direction === 'up' ? term.color('green', '▲ scale out') : term.color('yellow', '▼ scale in');
  return `${secs(t)}  ${label}  ${d.reason}`;
}

const num = (n: number) => n.toLocaleString('en-US');
const s1 = (x: number | undefined, missing = 'not reached') =>
  x === undefined ? missing : `${x.toFixed(1)} s`;

/** The closing table. */
export function formatSummary(s: DemoSummary, extra: { replicasAtEnd: number; minReplicas: number }): string {
  const rows: [string, string][] = [
    ['calls', `${num(s.sent)} sent, ${num(s.ok)} ok, ${num(s.failed)} failed (target 0)`],
    ['replicas', `max ${s.maxReady} ready, ${extra.replicasAtEnd} at the end (min ${extra.minReplicas})`],
    ['scale events', `${s.scaleOuts} out, ${s.scaleIns} in`],
    ['after the step: first scale-out', s1(s.firstScaleOutS, 'none')],
    [`  capacity serving (${s.neededForCapacity} ready)`, s1(s.capacityReadyS)],
    [
      `  client p99 back under ${s.p99TargetMs} ms (3 s in a row)`,
      s.p99BackS === 0 ? 'never went over' : s1(s.p99BackS, 'not within the peak'),
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const head = ['phase', 'offered/s', 'ok', 'failed', 'p50', 'p99', 'max ready'];
  const table = s.phases.map((p) => [
    p.name,
    p.fromRate === p.toRate
      ? `${Math.round(p.fromRate)}`
      : `${Math.round(p.fromRate)}→${Math.round(p.toRate)}`,
    num(p.ok),
    num(p.failed),
    p.ok ? `${Math.round(p.p50Ms)} ms` : '-',
    p.ok ? `${Math.round(p.p99Ms)} ms` : '-',
    String(p.maxReady),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const fmtRow = (r: string[]) =>
    `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  return [
    'Summary',
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    fmtRow(head),
    ...table.map(fmtRow),
  ].join('\n');
}
