// Heyken dashboard: the upgrade panel on the overview, from GET /api/upgrade (the current or last upgrade of Heyken
// itself with its steps, and the earlier ones). A core without that endpoint (404) hides the panel.
'use strict';

(function () {
  if (!window.heyken) {
    // common.js did not load (the core was switching when the page loaded): load the page again
    setTimeout(() => location.reload(), 3000);
    return;
  }
  window.heyken.loaded.push('upgrade');
  const h = window.heyken;
  const { $, el, badge, row, fill, ago } = h;
  const monitor = window.heykenMonitor;
  const POLL_MS = 5000;
  let timer = null;

  function stateBadge(state) {
    const cls = { ok: 'passed', committed: 'passed', running: 'running', failed: 'failed', rolled_back: 'failed' };
    return badge((state || '').replace('_', ' '), cls[state] || state);
  }

  async function refresh() {
    clearTimeout(timer);
    const card = $('upgrade-card');
    try {
      const answer = await h.api('GET', '/api/upgrade');
      card.hidden = false;
      show(answer || {});
    } catch (e) {
      // 404: this version has no upgrades; anything else: try again later
      if (e.status === 404) card.hidden = true;
    }
    if (monitor.page === 'overview' && !card.hidden) timer = setTimeout(refresh, POLL_MS);
  }

  function show(answer) {
    const u = answer.upgrade;
    const summary = $('upgrade-summary');
    if (!u) {
      summary.textContent = 'No upgrade yet: ./scripts/upgrade.sh <ref|jar> (or "upgrade <ref>" in chat) upgrades ' +
        'Heyken through the standby core.';
      fill('upgrade-steps', []);
    } else {
      summary.replaceChildren(stateBadge(u.state), el('span', ' ' + (u.from_version || '?') + ' → ' +
        (u.to_version || u.ref || u.jar_path || '?') + ' · by ' + (u.requested_by || '?') + ' · started ' +
        ago(u.started_at) + (u.finished_at ? ' · finished ' + ago(u.finished_at) : '')));
      if (u.reason) summary.appendChild(el('div', u.reason, 'problem'));
      fill('upgrade-steps', (u.steps || []).map((s) => {
        const r = row([s.name, stateBadge(s.state), s.core ? 'core ' + s.core : '', s.detail || s.reason || '']);
        r.lastChild.className = 'detail';
        return r;
      }));
    }
    $('upgrade-history').textContent = (answer.history || []).slice(0, 5).map((x) => x.id + ' ' + x.state +
      (x.to_version ? ' → ' + x.to_version : '') + ' (' + ago(x.started_at) + ')').join(' · ');
    $('upgrade-card').dataset.state = u ? u.state : 'none';
  }

  document.addEventListener('DOMContentLoaded', () => {
    h.page('overview', { show: refresh, hide: () => clearTimeout(timer) });
  });
})();
