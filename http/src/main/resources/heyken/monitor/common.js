// Heyken dashboard, shared by every page: DOM helpers, the API token (asked once in a dialog, kept in this tab's
// sessionStorage, sent as Bearer), calls to the APIs with their {"error","detail"} answers, and the client-side
// routes (#/, #/features/<id>, #/new, #/services, #/plots). Plain JavaScript, no dependencies; text is only ever set
// with textContent, never as HTML.
'use strict';

(function () {
  const TOKEN_KEY = 'heyken.token';
  const READS_KEY = 'heyken.readsNeedToken';
  const heyken = window.heyken = { loaded: [] };
  // every script of the page says it is there (index.html loads them all); the pages need each other's parts
  const SCRIPTS = ['dashboard', 'feature', 'services', 'plots', 'upgrade'];
  // what the tests (and a curious user in the console) can read about the page
  const monitor = window.heykenMonitor = window.heykenMonitor || { states: [], servedBy: null, status: null, events: 0 };

  const $ = heyken.$ = (id) => document.getElementById(id);

  heyken.el = function (tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const el = heyken.el;

  heyken.badge = (text, cls) => el('span', text, 'badge ' + (cls || text));

  heyken.link = function (text, href) {
    const a = el('a', text);
    a.href = href;
    return a;
  };

  heyken.button = function (text, onClick, cls) {
    const b = el('button', text, cls);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  };

  heyken.row = function (cells) {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? '' : String(c);
      tr.appendChild(td);
    }
    return tr;
  };

  heyken.fill = function (tableId, rows) {
    $(tableId).querySelector('tbody').replaceChildren(...rows);
  };

  heyken.ago = function (iso) {
    if (!iso) return '';
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return (s / 3600).toFixed(1) + ' h ago';
    return (s / 86400).toFixed(1) + ' d ago';
  };

  heyken.when = function (iso) {
    if (!iso) return '—';
    return new Date(iso).toLocaleString() + ' (' + heyken.ago(iso) + ')';
  };

  heyken.duration = function (seconds) {
    if (seconds === null || seconds === undefined) return '';
    if (seconds < 60) return (Math.round(seconds * 10) / 10) + ' s';
    if (seconds < 3600) return Math.floor(seconds / 60) + ' min ' + Math.round(seconds % 60) + ' s';
    return (seconds / 3600).toFixed(1) + ' h';
  };

  heyken.short = (revision) => (revision || '').substring(0, 10);

  heyken.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ------------------------------------------------------------------ the API token

  heyken.token = () => (sessionStorage.getItem(TOKEN_KEY) || '').trim();

  /** Whether this core refused a read without the token (it is bound to a non-loopback address): kept in the tab. */
  heyken.readsNeedToken = () => sessionStorage.getItem(READS_KEY) === 'true';

  heyken.markReadsNeedToken = () => sessionStorage.setItem(READS_KEY, 'true');

  heyken.setToken = function (value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value.trim()); else sessionStorage.removeItem(TOKEN_KEY);
    const field = $('token');
    if (field) field.value = value || '';
  };

  let pendingAsk = null;

  /** Shows the token dialog (once, however many calls wait); resolves with the token, rejects when cancelled. */
  heyken.askToken = function (message) {
    const dialog = $('token-dialog');
    $('token-message').textContent = message ||
      'Changing something needs the API token: HEYKEN_API_TOKEN from the installation\'s .env. It is kept in this ' +
      'browser tab only.';
    $('token-message').className = message ? 'problem' : 'muted';
    if (pendingAsk) return pendingAsk.promise;
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    pendingAsk = { promise, resolve, reject };
    $('token-input').value = '';
    dialog.showModal();
    $('token-input').focus();
    return promise;
  };

  function setupTokenDialog() {
    const dialog = $('token-dialog');
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const value = $('token-input').value.trim();
      if (!value) {
        $('token-message').textContent = 'Enter the token (HEYKEN_API_TOKEN in .env), or cancel.';
        $('token-message').className = 'problem';
        return;
      }
      heyken.setToken(value);
      dialog.close();
      const ask = pendingAsk;
      pendingAsk = null;
      if (ask) ask.resolve(value);
    });
    $('token-cancel').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      // the close event comes as a task of its own: after a submit the next call may already have asked again (a
      // refused token answers fast), and the dialog is open for that new ask, which this late event must not cancel
      if (dialog.open) return;
      const ask = pendingAsk;
      pendingAsk = null;
      if (ask) ask.reject(new heyken.Problem(0, 'cancelled', 'no API token given: nothing was changed'));
    });
    $('token-forget').addEventListener('click', () => {
      heyken.setToken('');
      heyken.notify('The API token is forgotten in this tab.');
    });
  }

  // ------------------------------------------------------------------ calls

  /** An answer that was not a success: the HTTP status with the API's {"error","detail"}. */
  heyken.Problem = class Problem extends Error {
    constructor(status, error, detail) {
      super((error || 'error') + (detail ? ': ' + detail : ''));
      this.status = status;
      this.error = error;
      this.detail = detail;
    }

    /** "deploy refused (409 not_tested): run the tests first" */
    describe(what) {
      const code = this.status ? this.status + ' ' : '';
      return what + ' refused (' + code + (this.error || 'error') + ')' + (this.detail ? ': ' + this.detail : '');
    }
  };

  /**
   * A JSON call to this core's APIs (the System Monitor serves the feature and service routes too). Calls carry the
   * token when the tab has one; a mutating call without one, or any call refused with 401 (a core on a non-loopback
   * address asks for it on reads too), makes the dialog ask for it and the call is sent again.
   * Resolves with the parsed answer; rejects with a heyken.Problem.
   */
  heyken.api = async function (method, path, body) {
    const mutating = method !== 'GET' && method !== 'HEAD';
    let refused = null;
    for (;;) {
      if ((mutating && !heyken.token()) || refused) {
        await heyken.askToken(refused);
      }
      const headers = { Accept: 'application/json' };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      // reads carry the token too when there is one: a core on a non-loopback address asks for it on every read
      const sent = heyken.token();
      if (sent) headers.Authorization = 'Bearer ' + sent;
      let r;
      try {
        r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      } catch (e) {
        throw new heyken.Problem(0, 'unreachable', 'no answer from the core (a switch or failover in progress?): ' +
          e.message);
      }
      const text = await r.text();
      let parsed = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch (e) {
        parsed = null;
      }
      if (r.status === 401) {
        // a read refused without a token: this core wants it on reads (a refused wrong token says nothing of that)
        if (!mutating && !sent) heyken.markReadsNeedToken();
        if (heyken.token() !== sent) {
          // another call was given a token while this one was under way: try again with it, do not throw it away
          // (a background read refused for the old token cleared the new one, and the form asked again for ever)
          refused = null;
          continue;
        }
        heyken.setToken('');
        refused = (sent ? 'The token was refused: ' : 'This needs the API token: ') + ((parsed && parsed.detail) ||
          'it is not this installation\'s HEYKEN_API_TOKEN (see .env)') + '. Try again.';
        continue;
      }
      if (!r.ok) {
        throw new heyken.Problem(r.status, parsed && parsed.error ? parsed.error : 'http_' + r.status,
          parsed && parsed.detail ? parsed.detail : text.substring(0, 300));
      }
      return parsed === null ? text : parsed;
    }
  };

  /**
   * Server-Sent Events from this core. Where the core serves its reads without the token (a loopback bind, the
   * default): the browser's EventSource, which cannot send one. Where it asks for the token on reads (a non-loopback
   * address, learned from a 401: heyken.readsNeedToken) and this tab has it: the same stream read with fetch and the
   * token. Either way the page gets what it uses of an EventSource: addEventListener(type, e => e.data), onerror,
   * readyState (2 once closed) and close(). The browser's own reader (with its reconnection) is kept wherever it is
   * enough; DashboardTokenReadsIT runs the fetch reader in a real Chromium.
   */
  heyken.events = function (path) {
    if (!heyken.token() || !heyken.readsNeedToken()) return new EventSource(path);
    const listeners = {};
    const controller = new AbortController();
    const source = {
      readyState: 0,
      onerror: null,
      addEventListener(type, handler) { (listeners[type] = listeners[type] || []).push(handler); },
      close() { source.readyState = 2; controller.abort(); },
    };
    const dispatch = (type, data) => (listeners[type] || []).forEach((handler) => handler({ type, data }));
    (async () => {
      try {
        const headers = Object.assign({ Accept: 'text/event-stream' }, heyken.readHeaders());
        const r = await fetch(path, { headers, signal: controller.signal });
        if (!r.ok) throw new Error('HTTP ' + r.status);
        source.readyState = 1;
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let type = 'message';
            const data = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) type = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (data.length) dispatch(type, data.join('\n'));
          }
        }
      } catch (e) {
        // aborted by close(), refused, or the stream broke (a switch or failover): onerror below
      }
      if (source.readyState !== 2) {
        source.readyState = 2;
        if (source.onerror) source.onerror();
      }
    })();
    return source;
  };

  /** The headers of a read: the token when this tab has one. */
  heyken.readHeaders = function () {
    return heyken.token() ? { Authorization: 'Bearer ' + heyken.token() } : {};
  };

  /** A GET answered as text (a diff), or a heyken.Problem. */
  heyken.text = async function (path) {
    const r = await fetch(path, { headers: heyken.readHeaders() });
    const text = await r.text();
    if (!r.ok) {
      let p = {};
      try { p = JSON.parse(text); } catch (e) { p = {}; }
      throw new heyken.Problem(r.status, p.error || 'http_' + r.status, p.detail || text.substring(0, 300));
    }
    return text;
  };

  /**
   * Reads a chunked text answer as it arrives (fetch + ReadableStream), calling onText for each piece. Resolves when
   * the answer ended; rejects when the connection broke or the answer was an error (a heyken.Problem).
   */
  heyken.stream = async function (path, onText, signal) {
    const r = await fetch(path, { signal, headers: heyken.readHeaders() });
    if (!r.ok) {
      const text = await r.text();
      let p = {};
      try { p = JSON.parse(text); } catch (e) { p = {}; }
      throw new heyken.Problem(r.status, p.error || 'http_' + r.status, p.detail || text.substring(0, 300));
    }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text) onText(text);
    }
    const rest = decoder.decode();
    if (rest) onText(rest);
  };

  /** A short note at the top of the page (what a button did, or why it did not). */
  heyken.notify = function (text, problem) {
    const n = $('notice');
    n.textContent = text;
    n.className = problem ? 'notice problem' : 'notice';
    n.hidden = false;
    clearTimeout(heyken.notify.timer);
    heyken.notify.timer = setTimeout(() => { n.hidden = true; }, problem ? 20000 : 8000);
  };

  // ------------------------------------------------------------------ routes

  const pages = {};

  /** A page (or a panel of one): show(params) when its route is opened, hide() when another one is. */
  heyken.page = function (name, handlers) {
    (pages[name] = pages[name] || []).push(handlers);
  };

  function each(name, what, params) {
    for (const handlers of pages[name] || []) if (handlers[what]) handlers[what](params);
  }

  let current = null;

  function route() {
    const hash = location.hash || '#/';
    let name = 'overview';
    let params = {};
    let m;
    if ((m = hash.match(/^#\/features\/([^/]+)$/))) {
      name = 'feature';
      params = { id: decodeURIComponent(m[1]) };
    } else if (hash === '#/new') {
      name = 'new';
    } else if (hash === '#/services') {
      name = 'services';
    } else if (hash === '#/plots') {
      name = 'plots';
    }
    if (current && current !== name) each(current, 'hide');
    for (const p of document.querySelectorAll('.page')) p.hidden = p.id !== 'page-' + name;
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.page === name);
    current = name;
    monitor.page = name;
    each(name, 'show', params);
  }

  heyken.go = function (hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  };

  document.addEventListener('DOMContentLoaded', () => {
    setupTokenDialog();
    window.addEventListener('hashchange', route);
    const missing = SCRIPTS.filter((name) => !heyken.loaded.includes(name));
    if (missing.length) {
      // a script did not load (the core was switching when the page loaded): load the page again, a few times
      const tries = Number(sessionStorage.getItem('heyken.reloads') || '0');
      if (tries < 3) {
        sessionStorage.setItem('heyken.reloads', String(tries + 1));
        setTimeout(() => location.reload(), 2000);
      }
      console.warn('not loaded: ' + missing.join(', '));
      return;
    }
    sessionStorage.removeItem('heyken.reloads');
    // the page scripts register their pages on DOMContentLoaded too; route once they all have
    setTimeout(route, 0);
  });
})();
