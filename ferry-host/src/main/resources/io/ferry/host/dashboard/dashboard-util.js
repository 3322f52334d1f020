// Ferry dashboard: formatting, DOM helpers and the Prometheus text parser, for dashboard.js.
'use strict';

window.FerryUtil = (function () {
  // ---- formatting -------------------------------------------------------------------------------------------
  function fmtNs(ns) {
    if (ns == null || ns < 0) return '–';
    if (ns === 0) return '0';
    if (ns < 1e3) return ns.toFixed(0) + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 1 : 0) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + ' ms';
    if (ns < 60e9) return (ns / 1e9).toFixed(2) + ' s';
    if (ns < 3600e9) return (ns / 60e9).toFixed(1) + ' min';
    return (ns / 3600e9).toFixed(1) + ' h';
  }
  function fmtBytes(b) {
    if (b == null) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i === 0 || b >= 10 || b === Math.floor(b) ? b.toFixed(0) : b.toFixed(1)) + ' ' + u[i];
  }
  function fmtCount(n) {
    if (n == null) return '–';
    if (n < 1e4) return String(Math.round(n));
    if (n < 1e6) return (n / 1e3).toFixed(n < 1e5 ? 1 : 0) + 'k';
    if (n < 1e9) return (n / 1e6).toFixed(1) + 'M';
    return (n / 1e9).toFixed(1) + 'G';
  }
  function fmtRate(r) {
    if (r == null) return '–';
    return r < 10 ? r.toFixed(1) : fmtCount(r);
  }
  function fmtPct(p) {
    if (p == null) return '–';
    return p < 10 ? p.toFixed(1) + ' %' : p.toFixed(0) + ' %';
  }
  function fmtUptime(s) {
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    return m + 'm ' + (s % 60) + 's';
  }
  function clock(t) {
    return new Date(t).toLocaleTimeString([], {hour12: false});
  }

  // ---- DOM helpers ------------------------------------------------------------------------------------------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function td(text, cls, col, value) {
    const c = el('td', cls, text);
    if (col) c.dataset.col = col;
    if (value != null) c.dataset.value = String(value);
    return c;
  }
  // A bar of used against quota with its text; amber from 70 %, red from 90 % unless plain (a device's load).
  function meter(used, quota, text, plain) {
    const m = el('span', 'meter');
    const track = el('span', 'track');
    const fill = el('span', 'fill');
    const pct = quota > 0 ? Math.min(100, 100 * used / quota) : 0;
    fill.style.width = pct.toFixed(1) + '%';
    if (!plain && pct >= 90) fill.classList.add('bad'); else if (!plain && pct >= 70) fill.classList.add('warn');
    track.appendChild(fill);
    m.appendChild(track);
    m.appendChild(el('span', 'txt', text));
    m.title = fmtPct(pct) + (plain ? ' of wall-clock time' : ' of quota');
    return m;
  }

  // ---- /metrics (Prometheus text format) ---------------------------------------------------------------------
  // Samples as {name, labels, value}; comments and malformed lines are skipped.
  function parseMetrics(text) {
    const out = [];
    const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const l of text.split('\n')) {
      if (l === '' || l[0] === '#') continue;
      const m = line.exec(l);
      if (!m) continue;
      const labels = {};
      if (m[3]) {
        let lm;
        label.lastIndex = 0;
        while ((lm = label.exec(m[3])) !== null) {
          labels[lm[1]] = lm[2].replace(/\\(.)/g, (e, c) => (c === 'n' ? '\n' : c));
        }
      }
      const v = Number(m[4]);
      if (!Number.isNaN(v)) out.push({name: m[1], labels, value: v});
    }
    return out;
  }

  return {fmtNs, fmtBytes, fmtCount, fmtRate, fmtPct, fmtUptime, clock, el, td, meter, parseMetrics};
})();
