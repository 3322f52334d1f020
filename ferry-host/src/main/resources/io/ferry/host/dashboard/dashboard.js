// Ferry dashboard: polls api/status (the admin socket's StatusJson document) and metrics (Prometheus text) of the
// host that serves this page, and draws them. The history behind the chart lives in this page only. Guest names
// and every other string from the host go into the page as text (textContent), never as markup.
'use strict';

(function () {
  const POLL_MS = 1500;
  const KEEP_MS = 15 * 60 * 1000; // the longest chart window
  const RECENT_MS = 60 * 1000; // a miss or overrun this recent marks its row
  // Rates (share, load, calls/s) are taken over this much time: device time is counted when a command completes, so
  // over one poll a guest's share jumps with the commands that happened to end in it.
  const RATE_MS = 5000;
  const PALETTE = ['#3b82c4', '#e07b39', '#2e9e6a', '#c0392b', '#8e5cc4', '#c9a227', '#1aa3a3', '#d4598f',
    '#5b6b8c', '#7fa33a', '#a0522d', '#4169e1', '#b03a8a', '#2f8f8f', '#996515', '#6a5acd', '#cc5500',
    '#3c8d2f', '#8b3a3a', '#5f9ea0'];

  const state = {
    recent: [], // the last RATE_MS of samples {t, host, guests: {name: {deviceNs, calls, perDevice: {dev: ns}}}}
    series: new Map(), // guest -> [[t, pct|null], ...]
    colors: new Map(),
    events: new Map(), // guest -> {misses, overruns, missAt, overrunAt, missDelta, overrunDelta}
    windowMin: 5,
    lastOk: 0,
    failingSince: 0,
    chart: null,
    polls: 0,
  };
  window.ferryDashboard = state; // for the browser test and for a curious operator's console

  const $ = (id) => document.getElementById(id);

  const {fmtNs, fmtBytes, fmtCount, fmtRate, fmtPct, fmtUptime, clock, el, td, meter, parseMetrics} =
    window.FerryUtil;

  function color(name) {
    if (!state.colors.has(name)) state.colors.set(name, PALETTE[state.colors.size % PALETTE.length]);
    return state.colors.get(name);
  }

  // ---- /metrics -----------------------------------------------------------------------------------------------
  // Quota refusals per guest, and counters of the whole host, from whatever the listener exports.
  function metricFigures(samples) {
    const refusals = new Map();
    const refusalsBy = new Map(); // guest -> 'quota n, ...'
    // ferry_quota_refusals_total{guest, quota} appears with a guest's first refusal: none yet is 0
    let refusalsTotal = 0, workerRestarts = null;
    for (const s of samples) {
      if (/^ferry_.*refus.*_total$/.test(s.name)) {
        refusalsTotal = (refusalsTotal || 0) + s.value;
        const g = s.labels.guest;
        if (g != null) {
          refusals.set(g, (refusals.get(g) || 0) + s.value);
          if (s.value > 0 && s.labels.quota) {
            refusalsBy.set(g, (refusalsBy.has(g) ? refusalsBy.get(g) + ', ' : '') + s.labels.quota + ' ' + s.value);
          }
        }
      } else if (/^ferry_.*worker_restarts_total$/.test(s.name)) {
        workerRestarts = (workerRestarts || 0) + s.value;
      }
    }
    return {refusals, refusalsBy, refusalsTotal, workerRestarts, series: samples.length};
  }

  // ---- one poll ---------------------------------------------------------------------------------------------
  async function fetchText(path) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 5000);
    try {
      const r = await fetch(path, {cache: 'no-store', signal: ctl.signal});
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return await r.text();
    } finally {
      clearTimeout(timer);
    }
  }

  async function poll() {
    let doc, metrics = null;
    try {
      const [statusText, metricsText] = await Promise.all([
        fetchText('api/status'),
        fetchText('metrics').catch(() => null),
      ]);
      doc = JSON.parse(statusText);
      if (metricsText != null) metrics = metricFigures(parseMetrics(metricsText));
    } catch (e) {
      unreachable(e);
      return;
    }
    try {
      render(doc, metrics, Date.now());
    } catch (e) {
      console.error(e);
      unreachable(new Error('the status document could not be shown (' + e.message + ')'));
    }
  }

  function unreachable(e) {
    const now = Date.now();
    if (!state.failingSince) state.failingSince = now;
    $('conn').className = 'pill pill-bad';
    $('conn').textContent = 'host unreachable';
    $('unreachable').hidden = false;
    const reason = e && e.name === 'AbortError' ? 'no answer within 5 s' : (e && e.message) || String(e);
    $('unreachable-detail').textContent = (state.lastOk
      ? 'No answer since ' + clock(state.lastOk) + '; the figures below are from then. '
      : 'No answer yet. ') + 'Last error: ' + reason + '. Retrying every ' + POLL_MS / 1000 + ' s.';
    $('main').classList.add('stale');
    // a gap in the chart rather than a line drawn across the outage
    for (const pts of state.series.values()) pts.push([now, null]);
    state.recent = [];
    drawChart(now);
  }

  function render(doc, metrics, now) {
    state.polls++;
    state.lastOk = now;
    if (!state.started) state.started = now;
    state.failingSince = 0;
    $('unreachable').hidden = true;
    $('main').classList.remove('stale');
    $('conn').className = 'pill pill-ok';
    $('conn').textContent = 'live';
    $('updated').textContent = 'updated ' + clock(now);

    const h = doc.host || {};
    $('host-facts').textContent = 'pid ' + h.pid + ' · up ' + fmtUptime(h.uptime_s || 0) + ' · isolation '
      + h.isolation + ' · regions ' + h.region_dir;
    document.title = 'Ferry · ' + (doc.guests || []).filter((g) => g.connected).length + ' guests';

    // A new host (restart) or a counter going back starts the rates afresh.
    const last = state.recent[state.recent.length - 1];
    if (last && (last.host.pid !== h.pid || last.host.uptime_s > h.uptime_s)) state.recent = [];
    while (state.recent.length > 1 && state.recent[1].t <= now - RATE_MS) state.recent.shift();
    // no rate over less than half the window: a first figure over one poll would be mostly noise
    const prev = state.recent.length && now - state.recent[0].t >= RATE_MS / 2 ? state.recent[0] : null;
    const dt = prev ? (now - prev.t) * 1e6 : 0; // ns
    const cur = {t: now, host: h, guests: {}};
    const devices = doc.devices || [];
    const perDeviceLoad = new Map(devices.map((d) => [d.name, {ns: 0, queued: 0, running: 0, active: 0}]));
    const rows = [];
    let sumShare = 0, calls = 0, callRate = 0, mem = 0, misses = 0, overruns = 0;

    for (const g of doc.guests || []) {
      let deviceNs = 0, queued = 0, running = 0, m = 0, o = 0, p50 = 0, p99 = 0, budget = -1, flagged = false;
      const perDevice = {};
      for (const s of g.scheduling || []) {
        deviceNs += s.device_time_ns;
        perDevice[s.device] = s.device_time_ns;
        queued += s.queued;
        running += s.in_flight;
        m += s.deadline_misses;
        o += s.overruns;
        p50 = Math.max(p50, s.queue_wait_ns_p50);
        p99 = Math.max(p99, s.queue_wait_ns_p99);
        if (s.budget_left_ns >= 0) budget = budget < 0 ? s.budget_left_ns : Math.min(budget, s.budget_left_ns);
        flagged = flagged || s.flagged;
        const dl = perDeviceLoad.get(s.device);
        if (dl) {
          dl.queued += s.queued;
          dl.running += s.in_flight;
          const before = prev && prev.guests[g.name] ? prev.guests[g.name].perDevice[s.device] : undefined;
          const d = before != null && s.device_time_ns >= before ? s.device_time_ns - before : 0;
          dl.ns += d;
          if (d > 0 || s.in_flight > 0) dl.active++;
        }
      }
      const was = prev && prev.guests[g.name];
      const share = was && dt > 0 ? Math.max(0, 100 * (deviceNs - was.deviceNs) / dt) : null;
      const rate = was && dt > 0 ? Math.max(0, (g.calls - was.calls) * 1e9 / dt) : null;
      cur.guests[g.name] = {deviceNs, calls: g.calls, perDevice};
      const ev = events(g.name, m, o, now);
      rows.push({g, deviceNs, share, rate, queued, running, misses: m, overruns: o, p50, p99, budget, flagged, ev});
      if (share != null) sumShare += share;
      calls += g.calls;
      if (rate != null) callRate += rate;
      mem += g.device_memory_bytes;
      misses += m;
      overruns += o;
    }
    state.recent.push(cur);

    // history for the chart: one point per guest per poll (null before the first rate)
    const names = new Set(rows.map((r) => r.g.name));
    for (const r of rows) {
      if (!state.series.has(r.g.name)) state.series.set(r.g.name, []);
      state.series.get(r.g.name).push([now, r.share == null ? null : +r.share.toFixed(2)]);
    }
    for (const [name, pts] of state.series) {
      while (pts.length && pts[0][0] < now - KEEP_MS) pts.shift();
      if (!names.has(name) && (pts.length === 0 || pts.every((p) => p[1] == null || p[0] < now - KEEP_MS))) {
        state.series.delete(name); // a guest removed long enough ago
      } else if (!names.has(name)) {
        pts.push([now, null]);
      }
    }

    renderTiles(doc, rows, {sumShare, calls, callRate, mem, misses, overruns, metrics, devices: devices.length,
      havePrev: prev != null});
    renderGuests(rows, metrics);
    renderDevices(devices, perDeviceLoad, dt);
    drawChart(now, devices.length);
    $('metrics-note').textContent = metrics
      ? '/metrics: ' + metrics.series + ' samples'
        + (metrics.workerRestarts != null ? ' · worker restarts ' + metrics.workerRestarts : '')
      : '/metrics: not available';
  }

  // Misses and overruns: remembers when each last went up, so a recent one stands out for a minute.
  function events(name, misses, overruns, now) {
    let e = state.events.get(name);
    if (!e) {
      e = {misses, overruns, missAt: 0, overrunAt: 0, missDelta: 0, overrunDelta: 0};
      state.events.set(name, e);
    }
    if (misses > e.misses) { e.missDelta = misses - e.misses; e.missAt = now; }
    if (overruns > e.overruns) { e.overrunDelta = overruns - e.overruns; e.overrunAt = now; }
    e.misses = misses;
    e.overruns = overruns;
    return {
      recentMiss: now - e.missAt < RECENT_MS ? e.missDelta : 0,
      recentOverrun: now - e.overrunAt < RECENT_MS ? e.overrunDelta : 0,
    };
  }

  function renderTiles(doc, rows, t) {
    const connected = rows.filter((r) => r.g.connected).length;
    $('t-guests').textContent = '';
    $('t-guests').append(String(connected), el('small', null, ' / ' + rows.length));
    const load = t.havePrev && t.devices > 0 ? t.sumShare / t.devices : null;
    $('t-load').textContent = '';
    $('t-load').append(fmtPct(load), el('small', null, t.devices > 1 ? ' avg of ' + t.devices : ''));
    $('t-calls').textContent = '';
    $('t-calls').append(t.havePrev ? fmtRate(t.callRate) : '–', el('small', null, '/s · ' + fmtCount(t.calls)));
    $('t-mem').textContent = fmtBytes(t.mem);
    $('t-misses').textContent = fmtCount(t.misses);
    $('tile-misses').classList.toggle('alert', t.misses > 0);
    $('t-overruns').textContent = fmtCount(t.overruns);
    $('tile-overruns').classList.toggle('alert', t.overruns > 0);
    const ref = t.metrics ? t.metrics.refusalsTotal : null;
    $('t-refusals').textContent = ref == null ? '–' : fmtCount(ref);
    $('tile-refusals').classList.toggle('alert', ref > 0);
  }

  function renderGuests(rows, metrics) {
    const body = $('guests').tBodies[0];
    const out = document.createDocumentFragment();
    for (const r of rows) {
      const g = r.g, q = g.quotas || {};
      const tr = el('tr', g.connected ? 'on' : 'off');
      tr.dataset.guest = g.name;
      if (r.ev.recentMiss || r.ev.recentOverrun || r.flagged) tr.classList.add('hot');

      const name = el('td', 'l');
      name.dataset.col = 'name';
      const dot = el('span', 'dot' + (g.connected ? ' on' : ''));
      dot.title = g.connected ? 'connected (pid ' + g.pid + ')' : 'not connected';
      const sw = el('span', 'swatch');
      sw.style.background = color(g.name);
      name.append(sw, dot, el('span', 'name', g.name));
      tr.appendChild(name);

      const cls = el('td', 'l');
      cls.appendChild(el('span', 'cls cls-' + g.class, String(g.class).toLowerCase().replace('_', '-')));
      tr.appendChild(cls);
      tr.appendChild(td(String(g.weight), null, 'weight', g.weight));

      tr.appendChild(budgetCell(r.budget, g.reservation_budget_ns, g.reservation_period_ns));
      tr.appendChild(td(fmtPct(r.share), r.share ? null : 'zero', 'share', r.share == null ? '' : r.share.toFixed(2)));
      tr.appendChild(td(fmtNs(r.deviceNs), r.deviceNs ? null : 'zero', 'device-time', r.deviceNs));
      const wait = td(fmtNs(r.p99), r.p99 ? null : 'zero', 'queue-wait-p99', r.p99);
      wait.title = 'p50 ' + fmtNs(r.p50) + ', p99 ' + fmtNs(r.p99);
      tr.appendChild(wait);
      tr.appendChild(td(r.queued + ' / ' + r.running, r.queued + r.running ? null : 'zero', 'queued', r.queued));

      const memCell = el('td', 'l');
      memCell.dataset.col = 'memory';
      memCell.dataset.value = String(g.device_memory_bytes);
      memCell.appendChild(meter(g.device_memory_bytes, q.device_memory_bytes,
        fmtBytes(g.device_memory_bytes) + ' / ' + fmtBytes(q.device_memory_bytes)));
      tr.appendChild(memCell);
      const objCell = el('td', 'l');
      objCell.dataset.col = 'objects';
      objCell.dataset.value = String(g.objects);
      objCell.appendChild(meter(g.objects, q.objects, fmtCount(g.objects) + ' / ' + fmtCount(q.objects)));
      tr.appendChild(objCell);

      const calls = td(fmtRate(r.rate), r.rate ? null : 'zero', 'calls', g.calls);
      calls.appendChild(el('span', 'sub', ' · ' + fmtCount(g.calls)));
      tr.appendChild(calls);
      tr.appendChild(counterCell(r.misses, r.ev.recentMiss, 'misses', null));
      tr.appendChild(counterCell(r.overruns, r.ev.recentOverrun, 'overruns', r.flagged ? 'flagged' : null));
      const refused = metrics ? metrics.refusals.get(g.name) || 0 : undefined;
      const ref = td(refused == null ? '–' : fmtCount(refused), refused > 0 ? 'warn' : 'zero', 'refused', refused);
      if (refused > 0) ref.title = 'refused by quota: ' + metrics.refusalsBy.get(g.name);
      tr.appendChild(ref);
      const lanes = td(g.lanes_busy + ' / ' + g.lanes, g.lanes_busy ? null : 'zero', 'lanes', g.lanes_busy);
      lanes.title = fmtCount(g.sessions) + ' sessions since the host started';
      tr.appendChild(lanes);
      out.appendChild(tr);
    }
    body.replaceChildren(out);
    const connected = rows.filter((r) => r.g.connected).length;
    $('guests-hint').textContent = rows.length + ' configured, ' + connected + ' connected. '
      + 'Misses and overruns in red; a row stays marked for a minute after one.';
  }

  // Budget left in this period against the reservation's budget; a guest without a reservation has none.
  function budgetCell(left, budget, period) {
    if (left < 0) return td('none', 'l zero', 'budget', left);
    const c = el('td', 'l');
    c.dataset.col = 'budget';
    c.dataset.value = String(left);
    if (budget > 0) {
      const m = meter(left, budget, fmtNs(left) + ' / ' + fmtNs(budget));
      m.title = fmtNs(left) + ' left of ' + fmtNs(budget) + ' per ' + fmtNs(period);
      m.querySelector('.fill').classList.toggle('bad', left === 0);
      m.querySelector('.fill').classList.remove('warn');
      c.appendChild(m);
    } else {
      c.textContent = fmtNs(left);
    }
    if (left === 0) c.classList.add('warn');
    return c;
  }

  function counterCell(n, recent, col, flag) {
    const c = td(fmtCount(n), n > 0 ? 'bad' : 'zero', col, n);
    if (recent > 0) c.appendChild(el('span', 'delta', '+' + fmtCount(recent)));
    if (flag) c.appendChild(el('span', 'flag', flag));
    return c;
  }

  function renderDevices(devices, load, dt) {
    const body = $('devices').tBodies[0];
    const out = document.createDocumentFragment();
    for (const d of devices) {
      const l = load.get(d.name) || {ns: 0, queued: 0, running: 0, active: 0};
      const pct = dt > 0 ? 100 * l.ns / dt : null;
      const tr = el('tr');
      tr.dataset.device = String(d.index);
      tr.appendChild(td(String(d.index)));
      tr.appendChild(td(d.name, 'l name'));
      tr.appendChild(td(d.backend, 'l'));
      tr.appendChild(td(String(d.type).toLowerCase(), 'l'));
      tr.appendChild(td(String(d.compute_units)));
      tr.appendChild(td(fmtBytes(d.global_memory_bytes)));
      const lc = el('td', 'l');
      lc.dataset.col = 'load';
      lc.dataset.value = pct == null ? '' : pct.toFixed(2);
      lc.appendChild(meter(pct == null ? 0 : pct, 100, fmtPct(pct), true));
      tr.appendChild(lc);
      tr.appendChild(td(String(l.queued), l.queued ? null : 'zero'));
      tr.appendChild(td(String(l.running), l.running ? null : 'zero'));
      tr.appendChild(td(String(l.active), l.active ? null : 'zero'));
      out.appendChild(tr);
    }
    body.replaceChildren(out);
  }

  // ---- chart ------------------------------------------------------------------------------------------------
  function drawChart(now, deviceCount) {
    if (!state.chart) {
      if (typeof echarts === 'undefined') {
        $('chart').textContent = 'The chart library (vendor/echarts.min.js) did not load.';
        return;
      }
      state.chart = echarts.init($('chart'), null, {renderer: 'canvas'});
      window.addEventListener('resize', () => state.chart.resize());
    }
    // the window, or (until that much history exists) from the first sample, at least 30 s
    const from = Math.max(now - state.windowMin * 60 * 1000, Math.min(state.started || now, now - 30 * 1000));
    const series = [];
    for (const [name, pts] of state.series) {
      series.push({
        name, type: 'line', stack: 'share', showSymbol: false, connectNulls: false, sampling: 'lttb',
        lineStyle: {width: 1}, areaStyle: {opacity: 0.55}, color: color(name), emphasis: {focus: 'series'},
        data: pts.filter((p) => p[0] >= from),
      });
    }
    const maxY = Math.max(100, 100 * (deviceCount || state.devices || 1));
    // the scale: 100 % per device, or more where the guests' shares add up to more (stacked totals per poll)
    const totals = new Map();
    for (const s of series) {
      for (const p of s.data) totals.set(p[0], (totals.get(p[0]) || 0) + (p[1] || 0));
    }
    const raw = Math.max(maxY, ...totals.values());
    const step = raw <= 100 ? 20 : raw <= 200 ? 50 : raw <= 500 ? 100 : Math.ceil(raw / 500) * 100;
    const top = Math.ceil(raw / step) * step;
    if (deviceCount) state.devices = deviceCount;
    state.chart.setOption({
      animation: false,
      grid: {left: 48, right: 16, top: 28, bottom: 24},
      legend: {type: 'scroll', top: 0, left: 0, textStyle: {fontSize: 11}, itemWidth: 14, itemHeight: 8},
      tooltip: {
        trigger: 'axis', order: 'valueDesc',
        valueFormatter: (v) => (v == null ? '–' : v.toFixed(1) + ' %'),
      },
      xAxis: {type: 'time', min: from, max: now, axisLabel: {fontSize: 11, hideOverlap: true},
        splitLine: {show: false}},
      yAxis: {type: 'value', min: 0, max: top, interval: step,
        axisLabel: {formatter: '{value} %', fontSize: 11}, splitLine: {lineStyle: {color: '#eef0f3'}}},
      series,
    }, {replaceMerge: ['series']});
  }

  function init() {
    $('poll').textContent = (POLL_MS / 1000) + ' s';
    for (const b of document.querySelectorAll('#window button')) {
      b.addEventListener('click', () => {
        state.windowMin = Number(b.dataset.min);
        for (const o of document.querySelectorAll('#window button')) o.classList.toggle('on', o === b);
        drawChart(Date.now());
      });
    }
    let running = false;
    const tick = async () => {
      if (running) return; // a slow answer: skip rather than pile requests up
      running = true;
      try { await poll(); } finally { running = false; }
    };
    tick();
    setInterval(tick, POLL_MS);
  }

  init();
})();
