// Browser script, part 1: helpers, the page state and how snapshots and deltas update it, the header.
// Plain JavaScript in a raw string: no backticks or dollar-brace inside.
export const CORE_JS = String.raw`  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var SPARK_POINTS = 60;
  var MAX_EVENTS = 200;
  var MAX_TIMELINE = 600;
  var state = {
    instances: new Map(), series: new Map(), latest: new Map(), endpoints: new Map(),
    timelines: new Map(), events: [], counters: { retries: 0, giveUps: 0, hedges: 0 },
    attached: { autoscalers: 0, clients: 0 }, hidden: 0, offset: 0, seriesLength: 120, pollIntervalMs: 1000
  };

  function key(service, id) { return service + '\u0000' + id; }
  function serverNow() { return Date.now() + state.offset; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function fmtTime(t) {
    var d = new Date(t - state.offset);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function fmtDur(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    var h = Math.floor(m / 60);
    if (h < 24) return h + 'h ' + (m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  function fmtNum(x) {
    if (!isFinite(x)) return '—';
    if (Math.abs(x) >= 100) return String(Math.round(x));
    if (Math.abs(x) >= 10) return x.toFixed(1);
    return x.toFixed(2);
  }
  function trim(arr, max) { if (arr.length > max) arr.splice(0, arr.length - max); }

  // ---- state updates -------------------------------------------------------------
  function setEndpoints(list) {
    state.endpoints = new Map();
    list.forEach(function (e) { state.endpoints.set(key(e.service, e.id), e); });
  }
  function applySnapshot(s) {
    state.offset = s.now - Date.now();
    state.pollIntervalMs = s.pollIntervalMs;
    state.seriesLength = s.seriesLength;
    state.instances = new Map();
    s.instances.forEach(function (i) { state.instances.set(key(i.service, i.id), i); });
    state.series = new Map();
    s.series.forEach(function (x) { state.series.set(key(x.service, x.id), x.points.slice()); });
    state.latest = new Map();
    s.latest.forEach(function (l) { state.latest.set(key(l.service, l.id), l); });
    setEndpoints(s.endpoints);
    state.timelines = new Map();
    s.timelines.forEach(function (t) { state.timelines.set(t.service, t.points.slice()); });
    state.events = s.events.slice();
    state.counters = s.counters;
    state.attached = s.attached;
    state.hidden = s.hiddenInstances;
    schedule();
  }
  function applyDelta(type, d) {
    var k;
    switch (type) {
      case 'instance':
        state.instances.set(key(d.service, d.id), d);
        // The delta may be about an instance the capped snapshot left out: count from the registry's total.
        state.hidden = Math.max(0, d.total - state.instances.size);
        break;
      case 'remove':
        k = key(d.service, d.id);
        state.instances.delete(k);
        state.series.delete(k);
        state.latest.delete(k);
        state.hidden = Math.max(0, d.total - state.instances.size);
        break;
      case 'stats':
        d.samples.forEach(function (s) {
          var sk = key(s.service, s.id);
          if (!state.instances.has(sk)) return;
          var pts = state.series.get(sk) || [];
          pts.push({ at: s.at, rate: s.rate, p99Ms: s.p99Ms, inflight: s.inflight });
          trim(pts, state.seriesLength);
          state.series.set(sk, pts);
          state.latest.set(sk, s);
        });
        setEndpoints(d.endpoints);
        state.counters = d.counters;
        break;
      case 'decision':
        var t = state.timelines.get(d.service) || [];
        t.push(d);
        trim(t, MAX_TIMELINE);
        state.timelines.set(d.service, t);
        break;
      case 'event':
        state.events.push(d);
        trim(state.events, MAX_EVENTS);
        break;
      case 'attached':
        state.attached = d;
        break;
    }
    schedule();
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; render(); });
  }
  function render() {
    renderTotals();
    renderServices();
    renderScaling();
    renderEvents();
  }

  // ---- header --------------------------------------------------------------------
  function renderTotals() {
    var services = new Set(), up = 0, rate = 0;
    state.instances.forEach(function (i, k) {
      services.add(i.service);
      if (i.status === 'UP') up++;
      var l = state.latest.get(k);
      if (l && fresh(l)) rate += l.rate;
    });
    var items = [
      ['services', services.size],
      ['instances', state.instances.size + state.hidden],
      ['up', up],
      ['calls/s', fmtNum(rate)],
      ['retries', state.counters.retries],
      ['give-ups', state.counters.giveUps],
      ['attached', state.attached.autoscalers + ' autoscaler, ' + state.attached.clients + ' client']
    ];
    var dl = document.getElementById('totals');
    clear(dl);
    items.forEach(function (it) {
      var d = el('div');
      d.appendChild(el('dt', '', it[0]));
      d.appendChild(el('dd', '', it[1]));
      d.setAttribute('data-total', it[0]);
      dl.appendChild(d);
    });
  }
  function fresh(l) { return serverNow() - l.at < 3 * state.pollIntervalMs + 1000; }
`;
