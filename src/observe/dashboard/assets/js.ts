// The dashboard's script, served as /dashboard/app.js. Plain browser JavaScript in a raw
// string (no backticks or dollar-brace inside): no framework, no build step, no CDN.
// Every string that came from a registrant is inserted with textContent, never as HTML.
export const DASHBOARD_JS = String.raw`(function () {
  'use strict';
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
        break;
      case 'remove':
        k = key(d.service, d.id);
        state.instances.delete(k);
        state.series.delete(k);
        state.latest.delete(k);
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

  // ---- services and instances ------------------------------------------------------
  var sections = new Map();
  var COLUMNS = ['Instance', 'Status', 'Zone', 'Weight', 'Uptime', 'Slow start', 'Client view', 'Calls/s', 'p99', 'In-flight'];

  function makeSection(name) {
    var root = el('div', 'service');
    root.setAttribute('data-service', name);
    var h = el('h3');
    h.appendChild(el('span', '', name));
    var count = el('small');
    h.appendChild(count);
    root.appendChild(h);
    var wrap = el('div', 'table-wrap');
    var table = el('table');
    var head = el('tr');
    COLUMNS.forEach(function (c) { head.appendChild(el('th', '', c)); });
    var thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    var tbody = el('tbody');
    table.appendChild(tbody);
    wrap.appendChild(table);
    root.appendChild(wrap);
    var sec = { root: root, count: count, tbody: tbody, rows: new Map() };
    sections.set(name, sec);
    return sec;
  }
  function makeSpark(color) {
    var s = svg('svg', { width: 96, height: 24, viewBox: '0 0 96 24', 'aria-hidden': 'true' });
    s.appendChild(svg('line', { x1: 0, x2: 96, y1: 23.5, y2: 23.5, stroke: '#e3e8ef' }));
    s.appendChild(svg('path', { fill: color, 'fill-opacity': 0.12, stroke: 'none' }));
    s.appendChild(svg('polyline', { fill: 'none', stroke: color, 'stroke-width': 1.5, 'stroke-linejoin': 'round' }));
    return s;
  }
  function drawSpark(s, values) {
    var area = s.childNodes[1], line = s.lastChild;
    values = values.slice(-SPARK_POINTS);
    if (!values.length) { line.setAttribute('points', ''); area.setAttribute('d', ''); return; }
    var max = Math.max.apply(null, values);
    if (!(max > 0)) max = 1;
    var W = 96, H = 24, step = W / (SPARK_POINTS - 1), x0 = W - (values.length - 1) * step;
    var pts = values.map(function (v, j) {
      return (x0 + j * step).toFixed(1) + ',' + (H - 2 - (v / max) * (H - 5)).toFixed(1);
    });
    line.setAttribute('points', pts.join(' '));
    area.setAttribute('d', 'M' + x0.toFixed(1) + ',' + H + ' L' + pts.join(' L') + ' L' + W + ',' + H + ' Z');
  }
  function metricCell(color) {
    var td = el('td');
    var wrap = el('span', 'metric');
    var spark = makeSpark(color);
    var value = el('span', '', '—');
    wrap.appendChild(spark);
    wrap.appendChild(value);
    td.appendChild(wrap);
    return { td: td, spark: spark, value: value };
  }
  function makeRow(sec, k, i) {
    var tr = el('tr');
    tr.setAttribute('data-instance', i.id);
    var id = el('td', 'id');
    var idText = el('span');
    var addr = el('small');
    id.appendChild(idText);
    id.appendChild(addr);
    var row = {
      tr: tr, idText: idText, addr: addr,
      status: el('td'), zone: el('td'), weight: el('td'), uptime: el('td'), ramp: el('td'), client: el('td'),
      rate: metricCell('#2563eb'), p99: metricCell('#d97706'), inflight: metricCell('#7c3aed')
    };
    [id, row.status, row.zone, row.weight, row.uptime, row.ramp, row.client, row.rate.td, row.p99.td, row.inflight.td]
      .forEach(function (c) { tr.appendChild(c); });
    sec.rows.set(k, row);
    return row;
  }
  function badge(td, text, cls, title) {
    var b = td.firstChild;
    if (!b || b.nodeName !== 'SPAN') { clear(td); b = el('span'); td.appendChild(b); }
    b.className = 'badge ' + cls;
    b.textContent = text;
    if (title) b.title = title; else b.removeAttribute('title');
  }
  function plain(td, text, cls) {
    if (td.firstChild && td.firstChild.nodeType !== 3) clear(td);
    td.textContent = text;
    td.className = cls || '';
  }
  function updateRow(row, i, k) {
    row.idText.textContent = i.id;
    row.addr.textContent = i.id === i.address ? '' : i.address;
    row.idText.parentNode.title = i.id === i.address ? i.id : i.id + ' at ' + i.address;
    row.status.setAttribute('data-status', i.status);
    badge(row.status, i.status, i.status);
    plain(row.zone, i.zone || '—', i.zone ? '' : 'muted');
    plain(row.weight, String(i.weight));
    var l = state.latest.get(k);
    var live = l && fresh(l);
    plain(row.uptime, fmtDur(live ? l.uptimeMs + (serverNow() - l.at) : serverNow() - i.registeredAt));
    row.uptime.title = live ? 'process uptime' : 'since registration';
    var ep = state.endpoints.get(k);
    if (ep && ep.ramp !== undefined && ep.ramp < 1) {
      clear(row.ramp);
      var r = el('span', 'ramp');
      var bar = el('b');
      var fill = el('i');
      fill.style.width = Math.round(ep.ramp * 100) + '%';
      bar.appendChild(fill);
      r.appendChild(bar);
      r.appendChild(el('span', '', Math.round(ep.ramp * 100) + '%'));
      row.ramp.appendChild(r);
      row.ramp.title = 'slow-start weight multiplier';
    } else {
      plain(row.ramp, ep && ep.ramp !== undefined ? 'done' : '—', 'muted');
    }
    if (!ep) plain(row.client, '—', 'muted');
    else if (ep.ejected) badge(row.client, 'ejected', 'ejected', 'outlier detection');
    else if (ep.breaker === 'open') badge(row.client, 'circuit open', 'circuit-open');
    else if (ep.breaker === 'half-open') badge(row.client, 'half-open', 'half-open', 'circuit probing');
    else badge(row.client, ep.status, ep.status);
    row.client.setAttribute('data-client', ep ? (ep.ejected ? 'ejected' : ep.breaker === 'open' ? 'circuit-open' : ep.status) : '');
    var pts = state.series.get(k) || [];
    drawSpark(row.rate.spark, pts.map(function (p) { return p.rate; }));
    drawSpark(row.p99.spark, pts.map(function (p) { return p.p99Ms; }));
    drawSpark(row.inflight.spark, pts.map(function (p) { return p.inflight; }));
    row.rate.value.textContent = live ? fmtNum(l.rate) : '—';
    row.p99.value.textContent = live ? fmtNum(l.p99Ms) + ' ms' : '—';
    row.inflight.value.textContent = live ? fmtNum(l.inflight) : '—';
    var title = live ? '' : i.status === 'UP' ? 'no stats answer yet' : 'not polled (' + i.status + ')';
    row.rate.td.title = row.p99.td.title = title;
    row.inflight.td.title = live ? 'calls in flight, averaged over the last few seconds' : title;
  }
  function renderServices() {
    var root = document.getElementById('services');
    var byService = new Map();
    state.instances.forEach(function (i) {
      var list = byService.get(i.service);
      if (!list) byService.set(i.service, (list = []));
      list.push(i);
    });
    sections.forEach(function (sec, name) {
      if (!byService.has(name)) { sec.root.remove(); sections.delete(name); }
    });
    var empty = root.querySelector('.empty');
    if (byService.size === 0) {
      if (!empty) root.appendChild(el('p', 'empty', 'No instances registered yet.'));
      return;
    }
    if (empty) empty.remove();
    Array.from(byService.keys()).sort().forEach(function (name) {
      var sec = sections.get(name) || makeSection(name);
      root.appendChild(sec.root);
      var list = byService.get(name).sort(function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; });
      var up = list.filter(function (i) { return i.status === 'UP'; }).length;
      sec.count.textContent = up + ' of ' + list.length + ' up';
      var seen = new Set();
      list.forEach(function (i) {
        var k = key(name, i.id);
        seen.add(k);
        var row = sec.rows.get(k) || makeRow(sec, k, i);
        sec.tbody.appendChild(row.tr);
        updateRow(row, i, k);
      });
      sec.rows.forEach(function (row, k) {
        if (!seen.has(k)) { row.tr.remove(); sec.rows.delete(k); }
      });
    });
    var note = root.querySelector('.hidden-note');
    if (state.hidden > 0) {
      if (!note) { note = el('p', 'empty hidden-note'); root.appendChild(note); }
      note.textContent = state.hidden + ' more instances not listed.';
    } else if (note) note.remove();
  }

  // ---- autoscaling timeline -----------------------------------------------------------
  var scalers = new Map();
  function makeScaler(name) {
    var root = el('div', 'scaler');
    root.setAttribute('data-service', name);
    var h = el('h3');
    h.appendChild(el('span', '', name));
    var summary = el('small');
    h.appendChild(summary);
    root.appendChild(h);
    var legend = el('div', 'legend');
    [['#2563eb', 'replicas'], ['#93c5fd', 'desired'], ['#7c3aed', 'load'], ['#c4b5fd', 'target']].forEach(function (l) {
      var s = el('span');
      var i = el('i');
      i.style.background = l[0];
      s.appendChild(i);
      s.appendChild(document.createTextNode(l[1]));
      legend.appendChild(s);
    });
    root.appendChild(legend);
    var chart = svg('svg', { class: 'chart', role: 'img' });
    root.appendChild(chart);
    var now = el('div', 'reason');
    root.appendChild(now);
    var list = el('ol', 'decisions');
    root.appendChild(list);
    var sc = { root: root, summary: summary, chart: chart, now: now, list: list, rendered: '' };
    scalers.set(name, sc);
    return sc;
  }
  function stepPath(pts, pick, x, y, tEnd) {
    var d = 'M' + x(pts[0].at).toFixed(1) + ',' + y(pick(pts[0])).toFixed(1);
    for (var j = 1; j < pts.length; j++) {
      d += ' H' + x(pts[j].at).toFixed(1) + ' V' + y(pick(pts[j])).toFixed(1);
    }
    return d + ' H' + x(tEnd).toFixed(1);
  }
  function text(parent, x, y, s, anchor) {
    var t = svg('text', { x: x, y: y, 'text-anchor': anchor || 'start' });
    t.textContent = s;
    parent.appendChild(t);
  }
  function drawTimeline(chart, pts) {
    clear(chart);
    var W = Math.max(320, chart.clientWidth || 600), H = 190;
    chart.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var L = 34, R = 44, top1 = 10, h1 = 92, top2 = 124, h2 = 48;
    var t0 = pts[0].at, t1 = Math.max(pts[pts.length - 1].at, t0 + 1000);
    var x = function (t) { return L + ((t - t0) / (t1 - t0)) * (W - L - R); };
    var maxR = 1;
    pts.forEach(function (p) { maxR = Math.max(maxR, p.current, p.desired); });
    maxR += 1;
    var yR = function (v) { return top1 + h1 - (v / maxR) * h1; };
    var stepR = Math.max(1, Math.ceil(maxR / 4));
    for (var v = 0; v <= maxR; v += stepR) {
      chart.appendChild(svg('line', { x1: L, x2: W - R, y1: yR(v), y2: yR(v), stroke: '#e3e8ef' }));
      text(chart, L - 6, yR(v) + 3, String(v), 'end');
    }
    text(chart, L, top1 - 1, 'replicas');
    chart.appendChild(svg('path', { d: stepPath(pts, function (p) { return p.desired; }, x, yR, t1), fill: 'none', stroke: '#93c5fd', 'stroke-width': 2, 'stroke-dasharray': '5 3' }));
    chart.appendChild(svg('path', { d: stepPath(pts, function (p) { return p.current; }, x, yR, t1), fill: 'none', stroke: '#2563eb', 'stroke-width': 2 }));
    pts.forEach(function (p) {
      if (p.direction === 'none') return;
      var cx = x(p.at), cy = yR(p.desired), up = p.direction === 'up';
      var tri = svg('path', {
        d: up ? 'M' + (cx - 5) + ',' + (cy + 4) + ' L' + cx + ',' + (cy - 5) + ' L' + (cx + 5) + ',' + (cy + 4) + ' Z'
              : 'M' + (cx - 5) + ',' + (cy - 4) + ' L' + cx + ',' + (cy + 5) + ' L' + (cx + 5) + ',' + (cy - 4) + ' Z',
        fill: up ? '#1f9d55' : '#d97706', class: 'marker'
      });
      var title = svg('title', {});
      title.textContent = fmtTime(p.at) + ' ' + p.reason;
      tri.appendChild(title);
      chart.appendChild(tri);
    });
    var loads = pts.filter(function (p) { return typeof p.load === 'number'; });
    var maxL = 0;
    loads.forEach(function (p) { maxL = Math.max(maxL, p.load, p.target || 0); });
    maxL = maxL > 0 ? maxL * 1.15 : 1;
    var yL = function (v) { return top2 + h2 - (v / maxL) * h2; };
    chart.appendChild(svg('line', { x1: L, x2: W - R, y1: top2 + h2, y2: top2 + h2, stroke: '#e3e8ef' }));
    var signal = loads.length ? loads[loads.length - 1].signal : undefined;
    text(chart, L, top2 - 4, 'load' + (signal ? ' (' + signal + ')' : ''));
    text(chart, W - R + 4, yL(maxL / 1.15) + 3, fmtNum(maxL / 1.15));
    text(chart, W - R + 4, top2 + h2 + 3, '0');
    if (loads.length) {
      var last = loads[loads.length - 1];
      if (typeof last.target === 'number') {
        chart.appendChild(svg('line', { x1: L, x2: W - R, y1: yL(last.target), y2: yL(last.target), stroke: '#c4b5fd', 'stroke-dasharray': '4 3' }));
      }
      chart.appendChild(svg('polyline', {
        points: loads.map(function (p) { return x(p.at).toFixed(1) + ',' + yL(p.load).toFixed(1); }).join(' '),
        fill: 'none', stroke: '#7c3aed', 'stroke-width': 1.5, 'stroke-linejoin': 'round'
      }));
    }
    text(chart, L, H - 2, fmtTime(t0));
    text(chart, W - R, H - 2, fmtTime(t1), 'end');
  }
  function renderScaling() {
    var root = document.getElementById('scaling');
    var names = Array.from(state.timelines.keys()).sort();
    scalers.forEach(function (sc, name) {
      if (!state.timelines.has(name)) { sc.root.remove(); scalers.delete(name); }
    });
    var empty = root.querySelector('.empty');
    if (!names.length) {
      if (!empty) {
        root.appendChild(el('p', 'empty', state.attached.autoscalers
          ? 'Waiting for the first decision.'
          : 'No autoscaler attached. In the same process: registry.dashboard.attach({ autoscaler }).'));
      }
      return;
    }
    if (empty) empty.remove();
    names.forEach(function (name) {
      var pts = state.timelines.get(name);
      if (!pts.length) return;
      var sc = scalers.get(name) || makeScaler(name);
      root.appendChild(sc.root);
      var last = pts[pts.length - 1];
      var stamp = pts.length + ':' + last.at + ':' + (sc.chart.clientWidth || 0);
      if (stamp === sc.rendered) return;
      sc.rendered = stamp;
      sc.summary.textContent = 'replicas ' + last.current + ' → desired ' + last.desired + ' · ready ' + last.ready +
        (last.starting ? ' · starting ' + last.starting : '') +
        (typeof last.load === 'number' ? ' · ' + last.signal + ' ' + fmtNum(last.load) + ' / target ' + fmtNum(last.target) : '');
      drawTimeline(sc.chart, pts);
      sc.now.textContent = 'Last decision (' + fmtTime(last.at) + '): ' + last.reason;
      clear(sc.list);
      pts.filter(function (p) { return p.direction !== 'none'; }).slice(-20).reverse().forEach(function (p) {
        var li = el('li');
        li.setAttribute('data-direction', p.direction);
        li.appendChild(el('time', '', fmtTime(p.at)));
        li.appendChild(el('span', 'dir ' + p.direction, p.direction === 'up' ? '▲' : '▼'));
        li.appendChild(el('span', '', p.current + ' → ' + p.desired));
        li.appendChild(el('span', 'reason', p.reason));
        sc.list.appendChild(li);
      });
    });
  }

  // ---- recent events ------------------------------------------------------------------
  var renderedEvents = '';
  function renderEvents() {
    var list = document.getElementById('events');
    var last = state.events[state.events.length - 1];
    var stamp = state.events.length + ':' + (last ? last.seq : 0);
    if (stamp === renderedEvents) return;
    renderedEvents = stamp;
    clear(list);
    if (!state.events.length) { list.appendChild(el('li', 'empty', 'Nothing yet.')); return; }
    state.events.slice(-100).reverse().forEach(function (e) {
      var li = el('li');
      li.setAttribute('data-kind', e.kind);
      li.appendChild(el('time', '', fmtTime(e.at)));
      li.appendChild(el('span', 'kind ' + e.kind, e.kind));
      if (e.service) {
        var who = el('span', 'who');
        who.appendChild(el('span', '', e.service));
        if (e.instance) who.appendChild(el('span', '', e.instance));
        who.title = e.service + (e.instance ? ' ' + e.instance : '');
        li.appendChild(who);
      }
      li.appendChild(el('span', 'text', e.text));
      list.appendChild(li);
    });
  }

  // ---- wiring ---------------------------------------------------------------------------
  var liveEl = document.getElementById('live');
  function setLive(s, label) {
    liveEl.setAttribute('data-state', s);
    liveEl.lastChild.textContent = label;
  }
  function connect() {
    var es = new EventSource('events');
    es.addEventListener('open', function () { setLive('live', 'live'); });
    es.addEventListener('error', function () { setLive('reconnecting', 'reconnecting…'); });
    es.addEventListener('snapshot', function (e) { applySnapshot(JSON.parse(e.data)); });
    ['instance', 'remove', 'stats', 'decision', 'event', 'attached'].forEach(function (type) {
      es.addEventListener(type, function (e) { applyDelta(type, JSON.parse(e.data)); });
    });
  }
  fetch('api/snapshot', { cache: 'no-store' })
    .then(function (r) { if (!r.ok) throw new Error('snapshot ' + r.status); return r.json(); })
    .then(applySnapshot, function () { setLive('reconnecting', 'snapshot failed'); })
    .then(connect);
  // Uptimes move on even when nothing is polled.
  setInterval(schedule, 1000);
  window.addEventListener('resize', schedule);
})();
`;
