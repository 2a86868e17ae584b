// Browser script, part 4: the recent events list and the wiring (snapshot fetch, EventSource).
// Plain JavaScript in a raw string: no backticks or dollar-brace inside.
// biome-ignore lint/complexity/noUselessStringRaw: raw keeps any escape written later (a \n in a JS string) literal.
export const EVENTS_JS = String.raw`  // ---- recent events ------------------------------------------------------------------
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
`;
