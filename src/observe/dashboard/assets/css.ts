/** The dashboard's styles: system fonts, no external resources. */
export const DASHBOARD_CSS = `
:root {
  --bg: #f4f6f9; --panel: #fff; --ink: #1b2430; --muted: #687385; --line: #e3e8ef;
  --up: #1f9d55; --warn: #d97706; --down: #dc2626; --idle: #94a3b8; --accent: #2563eb; --load: #7c3aed;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 24px; padding: 10px 20px; background: #111827; color: #e5e7eb; }
.top h1 { font-size: 17px; margin: 0; font-weight: 650; letter-spacing: .2px; white-space: nowrap; }
.top h1 span { color: #93c5fd; font-weight: 500; }
.totals { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0; flex: 1; }
.totals div { display: flex; gap: 6px; align-items: baseline; white-space: nowrap; }
.totals dt { color: #9ca3af; font-size: 12px; }
.totals dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.live { display: flex; align-items: center; gap: 6px; font-size: 12px; color: #d1d5db; }
.live i { width: 9px; height: 9px; border-radius: 50%; background: var(--idle); display: inline-block; }
.live[data-state="live"] i { background: #22c55e; box-shadow: 0 0 0 3px rgba(34,197,94,.25); }
.live[data-state="reconnecting"] i { background: var(--warn); }
main { padding: 16px 20px 28px; display: grid; gap: 16px; }
.columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; }
@media (max-width: 1100px) { .columns { grid-template-columns: minmax(0, 1fr); } }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
.panel > h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 10px; font-weight: 600; }
.empty { color: var(--muted); margin: 6px 0; }
.service + .service { margin-top: 14px; }
.service h3 { font-size: 14px; margin: 0 0 6px; display: flex; gap: 10px; align-items: baseline; }
.service h3 small { color: var(--muted); font-weight: 400; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-weight: 500; color: var(--muted); font-size: 12px; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: 0; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
td.id span, td.id small { display: block; max-width: 320px; overflow: hidden; text-overflow: ellipsis; }
td.id small { color: var(--muted); font-family: inherit; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 11px; font-weight: 600; color: #fff; background: var(--idle); }
.badge.UP, .badge.open, .badge.closed { background: var(--up); }
.badge.STARTING, .badge.busy, .badge.half-open, .badge.draining { background: var(--warn); }
.badge.DOWN, .badge.ejected, .badge.circuit-open, .badge.unavailable { background: var(--down); }
.badge.OUT_OF_SERVICE { background: #6b7280; }
.muted { color: var(--muted); }
.ramp { display: inline-flex; align-items: center; gap: 6px; }
.ramp b { display: inline-block; width: 46px; height: 6px; background: var(--line); border-radius: 3px; overflow: hidden; }
.ramp b i { display: block; height: 100%; background: var(--accent); }
.metric { display: inline-flex; align-items: center; gap: 6px; }
.metric svg { display: block; }
.metric span { min-width: 48px; text-align: right; }
.scaler + .scaler { margin-top: 16px; }
.scaler h3 { font-size: 14px; margin: 0 0 4px; display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.scaler h3 small { color: var(--muted); font-weight: 400; }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin: 2px 0 6px; flex-wrap: wrap; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.chart { width: 100%; height: 190px; display: block; }
.chart text { font-size: 10px; fill: var(--muted); }
.decisions { list-style: none; margin: 8px 0 0; padding: 0; max-height: 180px; overflow-y: auto; }
.decisions li { padding: 3px 0; border-top: 1px solid var(--line); display: flex; gap: 8px; }
.decisions time, .events time { color: var(--muted); font-variant-numeric: tabular-nums; flex: none; }
.dir { font-weight: 700; flex: none; width: 14px; text-align: center; }
.dir.up { color: var(--up); } .dir.down { color: var(--warn); }
.reason { overflow-wrap: anywhere; }
.events { list-style: none; margin: 0; padding: 0; max-height: 520px; overflow-y: auto; }
.events li { display: flex; gap: 8px; padding: 4px 0; border-top: 1px solid var(--line); align-items: baseline; }
.events li:first-child { border-top: 0; }
.kind { flex: none; font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 4px; background: #e0e7ff; color: #3730a3; }
.kind.register, .kind.uneject { background: #dcfce7; color: #166534; }
.kind.deregister, .kind.detach { background: #f1f5f9; color: #475569; }
.kind.expire, .kind.eject, .kind.breaker { background: #fee2e2; color: #991b1b; }
.kind.status { background: #fef3c7; color: #92400e; }
.kind.scale { background: #ede9fe; color: #5b21b6; }
.who { display: flex; flex-direction: column; flex: none; max-width: 40%; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; color: var(--muted); }
.who span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.text { overflow-wrap: anywhere; }
`;
