// Heyken dashboard: the plots (#/plots), drawn as inline SVG by this file (no library) from
// GET /api/metrics/history: requests and errors per API, sandbox job durations, log lines per level (the serving
// core's counters, one sample per interval for the last hour) and the failover timeline (the journal's activations).
'use strict';

(function () {
  if (!window.heyken) {
    // common.js did not load (the core was switching when the page loaded): load the page again
    setTimeout(() => location.reload(), 3000);
    return;
  }
  window.heyken.loaded.push('plots');
  const h = window.heyken;
  const { $, el } = h;
  const monitor = window.heykenMonitor;
  const NS = 'http://www.w3.org/2000/svg';
  const W = 640;
  const H = 150;
  const M = { left: 44, right: 10, top: 10, bottom: 22 };
  const REFRESH_MS = 10000;
  const LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'];

  let timer = null;

  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  /** 1, 2, 5 × 10^n at or above {@code v}: a round top for an axis. */
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /** A time for an axis that spans {@code spanMs}: seconds when it is short, the day when it is long. */
  function clock(ms, spanMs) {
    const d = new Date(ms);
    if (spanMs > 86400000) {
      return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    }
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit',
      second: spanMs < 900000 ? '2-digit' : undefined });
  }

  /** An SVG with axes for times {@code t0..t1} and values {@code 0..top}; returns it with its scales. */
  function frame(t0, t1, top) {
    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img' });
    const x = (t) => M.left + (t - t0) / Math.max(1, t1 - t0) * (W - M.left - M.right);
    const y = (v) => H - M.bottom - v / top * (H - M.top - M.bottom);
    for (const v of [0, top / 2, top]) {
      root.appendChild(svg('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: 'grid' }));
      const label = Number.isInteger(v) ? v : v.toFixed(1);
      root.appendChild(svg('text', { x: M.left - 4, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, label));
    }
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (t1 - t0) * i / 4;
      root.appendChild(svg('text', { x: x(t), y: H - 6, class: 'tick', 'text-anchor': i === 0 ? 'start'
        : i === 4 ? 'end' : 'middle' }, clock(t, t1 - t0)));
    }
    root.appendChild(svg('line', { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, class: 'axis' }));
    return { root, x, y };
  }

  function legend(items) {
    const box = el('div', null, 'legend');
    for (const [cls, text] of items) {
      if (cls) box.appendChild(el('span', null, 'swatch ' + cls));
      box.appendChild(el('span', text));
    }
    return box;
  }

  function span(samples) {
    const t1 = Date.now();
    const first = samples.length ? Date.parse(samples[0].from) : t1;
    return [Math.min(first, t1 - 60000), t1];
  }

  /** Bars per sample, stacked in {@code keys} order; {@code value(sample, key)} says each part. */
  function bars(chart, samples, keys, value, clsOf) {
    for (const s of samples) {
      const x0 = chart.x(Date.parse(s.from));
      const w = Math.max(1.5, chart.x(Date.parse(s.to)) - x0 - 0.5);
      let base = 0;
      for (const k of keys) {
        const v = value(s, k);
        if (!v) continue;
        const r = svg('rect', { x: x0, y: chart.y(base + v), width: w, height: chart.y(base) - chart.y(base + v),
          class: 'bar ' + clsOf(k) });
        r.appendChild(svg('title', {}, new Date(Date.parse(s.to)).toLocaleTimeString() + ': ' + v + ' ' + k));
        chart.root.appendChild(r);
        base += v;
      }
    }
  }

  function sum(map) {
    return Object.values(map || {}).reduce((a, b) => a + b, 0);
  }

  // ------------------------------------------------------------------ the four plots

  function requests(history) {
    const box = $('plot-requests');
    const samples = history.samples || [];
    const apis = [...new Set(samples.flatMap((s) => Object.keys(s.requests || {})))].sort();
    if (!apis.length) {
      box.replaceChildren(el('p', 'No requests counted on this core in the last hour yet.', 'muted'));
      return;
    }
    const [t0, t1] = span(samples);
    const parts = [legend([['req', 'requests'], ['err', 'errors (4xx, 5xx)'], ['', 'per ' + history.interval_s +
      ' s']])];
    for (const api of apis) {
      const errors = (s) => ((s.client_errors || {})[api] || 0) + ((s.server_errors || {})[api] || 0);
      const total = samples.reduce((a, s) => a + ((s.requests || {})[api] || 0), 0);
      const failed = samples.reduce((a, s) => a + errors(s), 0);
      const top = niceMax(Math.max(...samples.map((s) => (s.requests || {})[api] || 0)));
      const chart = frame(t0, t1, top);
      // errors are part of the requests: the red part of each bar
      bars(chart, samples, ['errors', 'ok'], (s, k) => k === 'errors' ? errors(s)
        : Math.max(0, ((s.requests || {})[api] || 0) - errors(s)), (k) => k === 'errors' ? 'err' : 'req');
      const figure = el('figure', null, 'small');
      figure.dataset.api = api;
      figure.appendChild(el('figcaption', api.replace(/_/g, ' ') + ': ' + total + (total === 1 ? ' request, '
        : ' requests, ') + failed + (failed === 1 ? ' error' : ' errors')));
      figure.appendChild(chart.root);
      parts.push(figure);
    }
    box.replaceChildren(...parts);
  }

  function jobs(history) {
    const box = $('plot-jobs');
    const list = history.jobs || [];
    if (!list.length) {
      box.replaceChildren(el('p', 'No sandbox job ran on this core in the last hour.', 'muted'));
      return;
    }
    const [t0, t1] = span(history.samples || []);
    const top = niceMax(Math.max(...list.map((j) => j.duration_ms)) / 1000);
    const chart = frame(Math.min(t0, ...list.map((j) => Date.parse(j.at))), t1, top);
    for (const j of list) {
      const c = svg('circle', { cx: chart.x(Date.parse(j.at)), cy: chart.y(j.duration_ms / 1000), r: 4,
        class: 'job ' + (j.result === 'ok' ? 'ok' : 'bad') });
      c.appendChild(svg('title', {}, new Date(Date.parse(j.at)).toLocaleTimeString() + ' ' + j.backend + ' ' +
        j.result + ': ' + h.duration(j.duration_ms / 1000)));
      chart.root.appendChild(c);
    }
    const ok = list.filter((j) => j.result === 'ok').length;
    const sorted = list.map((j) => j.duration_ms).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    box.replaceChildren(legend([['ok', 'ended ok'], ['bad', 'failed, timed out or killed']]),
      el('div', list.length + ' jobs, ' + ok + ' ok, median ' + h.duration(median / 1000) + ' (seconds upwards)',
        'caption'), chart.root);
  }

  function logLines(history) {
    const box = $('plot-logs');
    const samples = history.samples || [];
    const total = samples.reduce((a, s) => a + sum(s.log_lines), 0);
    if (!total) {
      box.replaceChildren(el('p', 'No log lines counted on this core in the last hour yet.', 'muted'));
      return;
    }
    const [t0, t1] = span(samples);
    const chart = frame(t0, t1, niceMax(Math.max(...samples.map((s) => sum(s.log_lines)))));
    bars(chart, samples, LEVELS, (s, k) => (s.log_lines || {})[k] || 0, (k) => 'level-' + k);
    const counts = LEVELS.map((l) => [l, samples.reduce((a, s) => a + ((s.log_lines || {})[l] || 0), 0)])
      .filter(([, n]) => n > 0);
    box.replaceChildren(legend(counts.map(([l, n]) => ['level-' + l, l + ' ' + n])
      .concat([['', 'lines per ' + history.interval_s + ' s']])), chart.root);
  }

  function failovers(history) {
    const box = $('plot-failover');
    const list = history.activations || [];
    if (!list.length) {
      box.replaceChildren(el('p', 'No activation in the journal.', 'muted'));
      return;
    }
    const t1 = Date.now();
    const t0 = Math.min(Date.parse(list[0].at), t1 - 60000);
    const height = 96;
    const width = 1000;
    const root = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, class: 'chart timeline', role: 'img' });
    const x = (t) => M.left + (t - t0) / Math.max(1, t1 - t0) * (width - M.left - M.right);
    for (let core = 1; core <= 2; core++) {
      root.appendChild(svg('text', { x: M.left - 4, y: 18 + (core - 1) * 26 + 14, class: 'tick',
        'text-anchor': 'end' }, 'core ' + core));
    }
    list.forEach((a, i) => {
      const from = Date.parse(a.at);
      const to = i + 1 < list.length ? Date.parse(list[i + 1].at) : t1;
      const lane = a.core === 2 ? 1 : 0;
      const r = svg('rect', { x: x(from), y: 18 + lane * 26, width: Math.max(1.5, x(to) - x(from)), height: 20,
        class: 'held core-' + a.core });
      r.appendChild(svg('title', {}, 'core ' + a.core + ' active from ' + new Date(from).toLocaleString() +
        ' for ' + h.duration((to - from) / 1000)));
      root.appendChild(r);
      const mark = svg('g', { class: 'activation ' + a.kind });
      mark.appendChild(svg('line', { x1: x(from), x2: x(from), y1: 10, y2: 68 }));
      mark.appendChild(svg('circle', { cx: x(from), cy: 10, r: 4 }));
      mark.appendChild(svg('title', {}, 'epoch ' + a.epoch + ': ' + a.reason + (a.gap_s === null ? ''
        : ' (' + h.duration(a.gap_s) + ' after the activation before)')));
      root.appendChild(mark);
    });
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (t1 - t0) * i / 4;
      root.appendChild(svg('text', { x: x(t), y: height - 8, class: 'tick', 'text-anchor': i === 0 ? 'start'
        : i === 4 ? 'end' : 'middle' }, clock(t, t1 - t0)));
    }
    const table = el('table', null, 'activations');
    const head = el('thead');
    head.appendChild(h.row(['epoch', 'core', 'kind', 'at', 'after', 'why']));
    const body = el('tbody');
    for (const a of [...list].reverse().slice(0, 12)) {
      body.appendChild(h.row([a.epoch, 'core ' + a.core, h.badge(a.kind.replace('_', ' '), a.kind),
        new Date(Date.parse(a.at)).toLocaleString(), a.gap_s === null ? '' : h.duration(a.gap_s), a.reason]));
    }
    table.append(head, body);
    box.replaceChildren(legend([['core-1', 'core 1 active'], ['core-2', 'core 2 active'],
      ['failover', 'failover'], ['planned_switch', 'planned switch'], ['first_start', 'first start / restart']]),
    root, table);
  }

  // ------------------------------------------------------------------ loading

  async function refresh() {
    clearTimeout(timer);
    try {
      const history = await h.api('GET', '/api/metrics/history');
      monitor.history = { core: history.core, samples: (history.samples || []).length };
      for (const c of document.querySelectorAll('.plots-core')) c.textContent = history.core;
      requests(history);
      jobs(history);
      logLines(history);
      failovers(history);
    } catch (e) {
      h.notify('Cannot load the metrics history: ' + e.message, true);
    }
    if (monitor.page === 'plots') timer = setTimeout(refresh, REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    h.page('plots', { show: refresh, hide: () => clearTimeout(timer) });
  });
})();
