// Browser script, part 2: one table per service, a row per instance, sparklines.
// Plain JavaScript in a raw string: no backticks or dollar-brace inside.
// biome-ignore lint/complexity/noUselessStringRaw: raw keeps any escape written later (a \n in a JS string) literal.
export const SERVICES_JS = String.raw`  // ---- services and instances ------------------------------------------------------
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
`;
