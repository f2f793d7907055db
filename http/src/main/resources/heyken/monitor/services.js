// Heyken dashboard: the dynamic services (#/services), Docker containers the active core keeps running: their state
// and health, their logs followed live, the start / stop / restart / remove buttons, and a small form to add one.
'use strict';

(function () {
  if (!window.heyken) {
    // common.js did not load (the core was switching when the page loaded): load the page again
    setTimeout(() => location.reload(), 3000);
    return;
  }
  window.heyken.loaded.push('services');
  const h = window.heyken;
  const { $, el, badge, row, fill, ago } = h;
  const monitor = window.heykenMonitor;
  const POLL_MS = 3000;

  let pollTimer = null;
  let following = null;    // { name, abort }

  function problem(text) {
    const p = $('services-problem');
    p.textContent = text || '';
    p.hidden = !text;
  }

  async function refresh() {
    clearTimeout(pollTimer);
    try {
      const listing = await h.api('GET', '/api/services');
      $('services-installation').textContent = listing.installation_id
        ? '(installation ' + listing.installation_id.substring(0, 12) + ')' : '';
      render(listing.services || []);
      problem('');
    } catch (e) {
      problem('Cannot list the services now: ' + e.message);
    }
    if (monitor.page === 'services') pollTimer = setTimeout(refresh, POLL_MS);
  }

  function render(services) {
    if (!services.length) {
      const empty = row(['No services yet: add one below (or "service add NAME IMAGE" in chat).']);
      empty.firstChild.colSpan = 8;
      empty.firstChild.className = 'muted';
      fill('services', [empty]);
      return;
    }
    fill('services', services.map((s) => {
      const actions = el('span', null, 'actions');
      const running = s.desired === 'running';
      actions.appendChild(h.button('logs', () => follow(s.name)));
      actions.appendChild(h.button(running ? 'stop' : 'start', () => change(s.name, running ? 'stop' : 'start')));
      actions.appendChild(h.button('restart', () => change(s.name, 'restart')));
      actions.appendChild(h.button('remove', () => change(s.name, 'remove'), 'danger'));
      const ports = (s.ports || []).map((p) => p.host_ip + ':' + p.host_port + '→' + p.container_port +
        (p.protocol && p.protocol !== 'tcp' ? '/' + p.protocol : '')).join(', ');
      const state = el('span');
      state.appendChild(badge(s.state, s.state === 'running' ? 'up' : s.state));
      if (s.last_error) state.appendChild(el('div', s.last_error, 'detail'));
      const tr = row([s.name, s.image, s.desired, state, badge(s.health, s.health === 'healthy' ? 'up'
        : s.health === 'unhealthy' ? 'down' : s.health), ports, s.started_at ? ago(s.started_at) : '', actions]);
      tr.dataset.service = s.name;
      return tr;
    }));
  }

  async function change(name, action) {
    if (action === 'remove' && !window.confirm('Remove the service ' + name + ' and its container?')) return;
    try {
      if (action === 'remove') {
        await h.api('DELETE', '/api/services/' + encodeURIComponent(name));
      } else {
        await h.api('POST', '/api/services/' + encodeURIComponent(name) + '/' + action);
      }
      h.notify(name + ': ' + action + ' accepted; the active core applies it.');
    } catch (e) {
      h.notify(e.describe ? e.describe(action + ' of ' + name) : String(e), true);
    }
    refresh();
  }

  function stopFollowing() {
    if (following) {
      following.stopped = true;
      following.abort.abort();
    }
    following = null;
  }

  /** Follows the service's output (the last 200 lines, then new ones) until closed; reconnects when it breaks. */
  async function follow(name) {
    stopFollowing();
    const mine = { name, stopped: false, abort: null };
    following = mine;
    $('service-log-card').hidden = false;
    $('service-log-name').textContent = name;
    const box = $('service-log');
    box.textContent = '';
    let tail = 200;
    while (!mine.stopped) {
      mine.abort = new AbortController();
      $('service-log-state').textContent = 'following';
      $('service-log-state').dataset.state = 'following';
      try {
        await h.stream('/api/services/' + encodeURIComponent(name) + '/logs?follow=true&tail=' + tail, (text) => {
          const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
          box.appendChild(document.createTextNode(text));
          while (box.childNodes.length > 2000) box.firstChild.remove();
          if (atBottom) box.scrollTop = box.scrollHeight;
        }, mine.abort.signal);
        if (mine.stopped) return;
        $('service-log-state').textContent = 'the log ended (the container stopped?); following again …';
      } catch (e) {
        if (mine.stopped) return;
        if (e.status === 404) {
          $('service-log-state').textContent = e.detail || 'no such service';
          return;
        }
        $('service-log-state').textContent = 'the connection broke (' + e.message + '): reconnecting …';
      }
      tail = 0; // what was shown stays; after a break only new lines
      await h.sleep(2000);
    }
  }

  function setupForm() {
    $('service-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { name: $('service-name').value.trim(), image: $('service-image').value.trim() };
      const command = $('service-command').value.trim();
      if (command) body.command = ['sh', '-c', command];
      const ports = $('service-ports').value.split(',').map((p) => p.trim()).filter((p) => p);
      if (ports.length) body.ports = ports;
      try {
        const added = await h.api('POST', '/api/services', body);
        h.notify('Service ' + added.name + ' added: the active core starts it.');
        $('service-form').reset();
      } catch (err) {
        h.notify(err.describe ? err.describe('adding the service') : String(err), true);
      }
      refresh();
    });
    $('service-log-close').addEventListener('click', () => {
      stopFollowing();
      $('service-log-card').hidden = true;
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    setupForm();
    h.page('services', {
      show: refresh,
      hide: () => {
        clearTimeout(pollTimer);
        stopFollowing();
        $('service-log-card').hidden = true;
      },
    });
  });
})();
