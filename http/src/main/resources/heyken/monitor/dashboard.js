// Heyken System Monitor, the overview page (#/): live view of the cluster over Server-Sent Events (/api/events) and
// the web chat console (/api/chat). Helpers and the API token are in common.js. Text is set with textContent only.
'use strict';

(function () {
  if (!window.heyken) {
    // common.js did not load (the core was switching when the page loaded): load the page again
    setTimeout(() => location.reload(), 3000);
    return;
  }
  window.heyken.loaded.push('dashboard');
  const WATCHDOG_MS = 7000;      // pings come every 2 s: this much silence means a dead connection
  const LOG_LINES_KEPT = 300;
  const monitor = window.heykenMonitor;
  let source = null;
  let watchdog = null;
  let retryTimer = null;
  let reconnectMs = 1000;

  const { $, el, badge, row, fill, ago, when, duration, link } = window.heyken;

  // ------------------------------------------------------------------ connection

  function setConnection(state) {
    const c = $('connection');
    c.textContent = state;
    c.className = 'badge ' + state;
    c.dataset.state = state;
    if (monitor.states[monitor.states.length - 1] !== state) monitor.states.push(state);
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      // no event, not even a ping: the core behind the port is gone or frozen; start over
      setConnection('reconnecting');
      connect();
    }, WATCHDOG_MS);
  }

  function on(type, handler) {
    source.addEventListener(type, (e) => {
      monitor.events++;
      armWatchdog();
      try {
        handler(JSON.parse(e.data));
      } catch (err) {
        console.error('cannot show the ' + type + ' event', err);
      }
    });
  }

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    const level = $('log-level').value;
    source = window.heyken.events('/api/events?logs=' + encodeURIComponent(level));
    armWatchdog();
    on('hello', (h) => {
      monitor.servedBy = h.served_by;
      reconnectMs = h.reconnect_ms || reconnectMs;
      $('served-by').textContent = 'served by core ' + h.served_by;
      setConnection('live');
    });
    on('ping', () => {});
    on('status', showStatus);
    on('members', showMembers);
    on('activations', showActivations);
    on('features', showFeatures);
    on('logs', showLogs);
    source.onerror = () => {
      // the stream broke: a switch or failover moves the port to the other core; the browser retries by itself,
      // and when it has given up (an error answer during the hand-over) this page starts a new stream
      setConnection('reconnecting');
      if (source.readyState === 2) { // EventSource.CLOSED
        retryTimer = setTimeout(connect, reconnectMs);
        if (!window.heyken.token() || !window.heyken.readsNeedToken()) askTokenWhenRefused();
      }
    };
  }

  // a core on a non-loopback address answers the stream 401 without the token: from then on the stream is read with
  // the token (heyken.events); ask for it once when the tab has none, then reconnect
  let asking = false;
  async function askTokenWhenRefused() {
    if (asking) return;
    try {
      const r = await fetch('/api/events', { method: 'HEAD' });
      if (r.status !== 401) return;
      asking = true;
      window.heyken.markReadsNeedToken();
      if (!window.heyken.token()) {
        await window.heyken.askToken('The live overview of this core needs the API token: HEYKEN_API_TOKEN from .env.');
      }
      clearTimeout(retryTimer);
      connect();
    } catch (e) {
      // cancelled, or the core is away: the stream keeps retrying
    } finally {
      asking = false;
    }
  }

  // ------------------------------------------------------------------ views

  function showStatus(s) {
    monitor.status = s;
    const active = $('active-core');
    if (s.active_core) {
      active.textContent = 'core ' + s.active_core;
      active.dataset.core = String(s.active_core);
    } else {
      active.textContent = 'no active core';
      active.dataset.core = '';
    }
    $('epoch').textContent = s.epoch;
    $('active-since').textContent = when(s.active_since);
    $('activation-reason').textContent = s.activation_reason ? 'why: ' + s.activation_reason : '';
    const healthy = $('healthy');
    healthy.textContent = s.healthy ? 'healthy' : 'degraded';
    healthy.className = 'badge ' + (s.healthy ? 'healthy' : 'unhealthy');
    const warnings = [];
    if (s.log_lines_dropped > 0) warnings.push(s.log_lines_dropped + ' log lines dropped');
    if (s.fenced_writes_refused > 0) warnings.push(s.fenced_writes_refused + ' fenced writes refused');
    $('status-warnings').textContent = warnings.join(' · ');
    fill('cores', (s.cores || []).map((c) => {
      const action = document.createElement('span');
      if (!c.active && c.status === 'up' && s.active_core) {
        const b = el('button', 'make active');
        b.type = 'button';
        b.addEventListener('click', () => switchTo(c.id));
        action.appendChild(b);
      }
      return row(['core ' + c.id, badge(c.status), c.active ? 'active' : 'standby', c.pid, duration(c.uptime_s),
        action]);
    }));
    showPartition(s);
    fill('components', (s.components || []).map((c) => {
      const r = row([c.name, badge(c.status.replace('_', ' '), c.status), c.detail]);
      r.lastChild.className = 'detail';
      return r;
    }));
  }

  // ---- partitions (issue #12): a core cut off from the cluster, since when and which link; and the answering
  // core's own view when it is not active. Fields: cores[].reachable / unreachable_since / reason, this_core.
  function showPartition(s) {
    let box = $('partition');
    if (!box) {
      box = el('div', '', 'partition');
      box.id = 'partition';
      $('cores').insertAdjacentElement('afterend', box);
    }
    box.textContent = '';
    (s.cores || []).filter((c) => c.reachable === false || c.reason).forEach((c) => {
      box.appendChild(el('p', 'core ' + c.id + ' partitioned' + (c.unreachable_since ? ' since '
        + when(c.unreachable_since) : '') + ': ' + (c.reason || 'unreachable'), 'partitioned'));
    });
    const me = s.this_core;
    if (me && !me.active) {
      box.appendChild(el('p', 'core ' + me.id + ' (answering this page) is not active: ' + me.reason, 'not-active'));
    }
  }
  // ---- end of partitions

  function showMembers(m) {
    fill('members', (m.members || []).map((x) => row([x.address + (x.leader ? ' (leader)' : ''), badge(x.status),
      (x.roles || []).join(', '), x.reachable ? 'yes' : badge('unreachable')])));
  }

  function showActivations(h) {
    fill('activations', (h.activations || []).map((a) => row([a.epoch, 'core ' + a.core, when(a.at), a.reason])));
  }

  function showFeatures(f) {
    $('features-total').textContent = f.total > (f.features || []).length
      ? '(newest ' + f.features.length + ' of ' + f.total + ')' : '(' + f.total + ')';
    fill('features', (f.features || []).map((x) => {
      const run = x.last_run;
      const runCell = document.createElement('span');
      if (run) {
        runCell.appendChild(badge(run.status));
        runCell.appendChild(document.createTextNode(' ' + run.run_id + ' ' + ago(run.finished_at || run.started_at)));
      } else {
        runCell.textContent = 'never tested';
      }
      const deployed = x.deployed_revision
        ? x.deployed_revision.substring(0, 10) + (x.deployed_at ? ' (' + ago(x.deployed_at) + ')' : '') : '—';
      return row([link(x.feature_id, '#/features/' + encodeURIComponent(x.feature_id)),
        link(x.name, '#/features/' + encodeURIComponent(x.feature_id)), badge(x.status),
        x.command ? '!' + x.command : '', deployed, runCell]);
    }));
  }

  function showLogs(tail) {
    const box = $('log-tail');
    const showAccess = $('log-access').checked;
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    for (const l of tail.lines || []) {
      const line = el('div', null, 'line ' + l.level);
      line.dataset.component = l.component || '';
      if (l.component === 'access' && !showAccess) line.hidden = true;
      line.textContent = (l.time || '').replace('T', ' ').replace('Z', '') + ' ' + (l.level || '').padEnd(5) +
        ' core-' + (l.core === undefined ? '?' : l.core) + ' ' + (l.component || '') + ': ' + (l.message || '') +
        (l.exception ? '\n' + l.exception : '');
      box.appendChild(line);
    }
    while (box.childElementCount > LOG_LINES_KEPT) box.firstElementChild.remove();
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  // ------------------------------------------------------------------ mutating calls (need the API token)

  function token() {
    return $('token').value.trim();
  }

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    if (token()) h.Authorization = 'Bearer ' + token();
    return h;
  }

  async function switchTo(core) {
    if (!window.confirm('Hand the active role over to core ' + core + '?')) return;
    try {
      await window.heyken.api('POST', '/api/cores/switch', { target_core: core });
      window.heyken.notify('Core ' + core + ' takes over: the page reconnects by itself.');
    } catch (e) {
      window.heyken.notify(e.describe ? e.describe('the switch') : String(e), true);
    }
  }

  // ------------------------------------------------------------------ chat console

  function chatSession() {
    let s = sessionStorage.getItem('heyken.chat.session');
    if (!s || !/^[A-Za-z0-9_-]{1,64}$/.test(s)) {
      const bytes = new Uint8Array(12);
      crypto.getRandomValues(bytes);
      s = 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      sessionStorage.setItem('heyken.chat.session', s);
    }
    return s;
  }

  function messageId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function say(cls, text) {
    const log = $('chat-log');
    const t = el('div', text, 'turn ' + cls);
    log.appendChild(t);
    log.scrollTop = log.scrollHeight;
    return t;
  }

  async function loadHistory() {
    try {
      // a room's history holds admin answers: it needs the token (without one the conversation starts empty)
      if (!token()) return;
      const r = await fetch('/api/chat/' + encodeURIComponent(chatSession()), { headers: headers() });
      if (!r.ok) return;
      const h = await r.json();
      for (const turn of h.turns || []) {
        say('you', turn.question);
        say('bot', turn.answer);
      }
    } catch (e) {
      // no history yet, or the core is switching: the conversation starts empty
    }
  }

  const sleep = window.heyken.sleep;

  async function send(text) {
    say('you', text);
    const pending = say('pending', 'heyken_bot is answering …');
    // the same message id on every retry: a message is answered once, even across a failover
    const body = JSON.stringify({ session: chatSession(), text: text, message_id: messageId() });
    let lastProblem = '';
    for (let attempt = 1; attempt <= 8; attempt++) {
      try {
        const r = await fetch('/api/chat', { method: 'POST', headers: headers(), body: body });
        const answer = await r.json().catch(() => ({}));
        if (r.ok) {
          pending.remove();
          say('bot', answer.answer);
          return;
        }
        if (r.status === 401) {
          pending.remove();
          say('problem', 'The console needs the API token: enter HEYKEN_API_TOKEN (from .env) below and send again.');
          $('token').focus();
          return;
        }
        lastProblem = (answer.detail || answer.error || ('HTTP ' + r.status));
        if (r.status < 500) break;
      } catch (e) {
        lastProblem = 'no answer from the System Monitor (a core switch in progress?)';
      }
      pending.textContent = 'heyken_bot is answering … (retry ' + attempt + ': ' + lastProblem + ')';
      await sleep(Math.min(4000, 500 * attempt));
    }
    pending.remove();
    say('problem', 'Not delivered: ' + lastProblem);
  }

  function setupChat() {
    const saved = window.heyken.token();
    if (saved) $('token').value = saved;
    $('token').addEventListener('change', () => window.heyken.setToken(token()));
    $('chat-note').textContent = 'room web:' + chatSession();
    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = $('chat-input');
      const text = input.value.trim();
      if (!text) return;
      if (token()) window.heyken.setToken(token());
      input.value = '';
      send(text);
    });
    loadHistory();
  }

  // ------------------------------------------------------------------ start

  document.addEventListener('DOMContentLoaded', () => {
    setConnection('connecting');
    $('log-level').addEventListener('change', () => {
      $('log-tail').replaceChildren();
      connect();
    });
    $('log-access').addEventListener('change', () => {
      for (const line of $('log-tail').children) {
        if (line.dataset.component === 'access') line.hidden = !$('log-access').checked;
      }
    });
    $('log-clear').addEventListener('click', () => $('log-tail').replaceChildren());
    setupChat();
    connect();
  });
})();
