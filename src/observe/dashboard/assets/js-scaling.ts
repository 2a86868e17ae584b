// Browser script, part 3: the autoscaler timeline (replicas vs load) and its decisions.
// Plain JavaScript in a raw string: no backticks or dollar-brace inside.
// biome-ignore lint/complexity/noUselessStringRaw: raw keeps any escape written later (a \n in a JS string) literal.
export const SCALING_JS = String.raw`  // ---- autoscaling timeline -----------------------------------------------------------
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
`;
