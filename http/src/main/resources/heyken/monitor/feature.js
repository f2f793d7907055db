// Heyken dashboard: a feature's page (#/features/<id>) with its revisions and their diffs, its runs with the output
// of the shown one streamed live, the authoring attempts, GitLab, the deployment and its history, and the Test /
// Deploy / Rollback buttons; and the page that creates a feature (#/new) from a description or an uploaded folder.
// Everything goes to the System Monitor's own origin (it serves the Sandbox Manager's feature routes too).
'use strict';

(function () {
  if (!window.heyken) {
    // common.js did not load (the core was switching when the page loaded): load the page again
    setTimeout(() => location.reload(), 3000);
    return;
  }
  window.heyken.loaded.push('feature');
  const h = window.heyken;
  const { $, el, badge, row, fill, ago, when, short, link } = h;
  const monitor = window.heykenMonitor;
  const POLL_MS = 2000;
  const RETRY_MS = 1000;
  const MAX_LOG_CHARS = 400000;

  let featureId = null;
  let feature = null;
  let pollTimer = null;
  let shownRun = null;     // the run whose output is followed: { id, abort, text }
  let shownDiff = null;

  // ------------------------------------------------------------------ feature page

  function show(params) {
    if (featureId !== params.id) {
      featureId = params.id;
      feature = null;
      stopRun();
      shownDiff = null;
      $('diff-card').hidden = true;
      $('run-card').hidden = true;
      $('feature-title').textContent = 'Feature ' + featureId;
      for (const id of ['feature-status', 'feature-command', 'feature-description', 'feature-facts']) {
        $(id).textContent = '';
      }
      for (const t of ['feature-runs', 'feature-revisions', 'feature-deployments', 'feature-attempts']) fill(t, []);
    }
    refresh();
  }

  function hide() {
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  async function refresh() {
    clearTimeout(pollTimer);
    const id = featureId;
    try {
      const f = await h.api('GET', '/api/features/' + encodeURIComponent(id));
      if (id !== featureId) return;
      feature = f;
      $('feature-problem').hidden = true;
      render(f);
      const run = shownRun;
      if (run && !run.finished) {
        // the jobs' states while the output streams
        const view = await h.api('GET', '/api/features/' + encodeURIComponent(id) + '/runs/' +
          encodeURIComponent(run.id));
        if (shownRun === run && !run.finished) showRunResult(view);
      }
    } catch (e) {
      if (id !== featureId) return;
      const p = $('feature-problem');
      p.textContent = e.status === 404 ? 'No such feature: ' + (e.detail || id)
        : 'Cannot read the feature now (' + e.message + '); trying again.';
      p.hidden = false;
    }
    if (monitor.page === 'feature' && id === featureId) pollTimer = setTimeout(refresh, POLL_MS);
  }

  function render(f) {
    $('feature-title').textContent = f.name + ' (feature ' + f.feature_id + ')';
    const status = $('feature-status');
    status.textContent = f.status;
    status.className = 'badge ' + f.status;
    status.dataset.status = f.status;
    $('feature-command').textContent = f.command ? 'answers !' + f.command : '';
    $('feature-description').textContent = f.description || '';
    $('feature-facts').textContent = 'created ' + when(f.created_at) + ' · head ' + short(f.head_revision) +
      ' · ' + (f.revisions || []).length + ' revisions · ' + (f.runs || []).length + ' runs';
    renderRuns(f);
    renderRevisions(f);
    renderDeployment(f);
    renderAuthoring(f);
    renderGitLab(f);
    $('feature-deploy').disabled = !f.head_revision;
    $('feature-rollback').disabled = !(f.deployment && (f.deployment.previous || []).length);
    $('feature-test').disabled = !f.head_revision;
  }

  function renderRuns(f) {
    const runs = [...(f.runs || [])].sort((a, b) => (b.started_at || '').localeCompare(a.started_at || ''));
    fill('feature-runs', runs.map((r) => {
      const tr = row([el('span', r.run_id, 'linkish'), short(r.revision), badge(r.status),
        when(r.started_at), r.finished_at ? h.duration((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000)
          : 'running']);
      tr.dataset.run = r.run_id;
      tr.classList.add('clickable');
      if (shownRun && shownRun.id === r.run_id) tr.classList.add('selected');
      tr.addEventListener('click', () => followRun(r.run_id));
      return tr;
    }));
  }

  function renderRevisions(f) {
    const deployed = f.deployment ? f.deployment.revision : null;
    fill('feature-revisions', (f.revisions || []).map((r) => {
      const rev = el('span', short(r.revision), 'linkish');
      if (r.revision === deployed) rev.appendChild(badge('deployed'));
      const tr = row([rev, r.message, r.source, ago(r.created_at), r.tests ? badge(r.tests) : '']);
      tr.dataset.revision = r.revision;
      tr.classList.add('clickable');
      if (shownDiff === r.revision) tr.classList.add('selected');
      tr.addEventListener('click', () => showDiff(r.revision));
      return tr;
    }));
  }

  function renderDeployment(f) {
    const box = $('feature-deployment');
    const d = f.deployment;
    if (!d) {
      box.textContent = 'Not deployed. Deploy a revision whose tests passed to make !' + (f.command || 'command') +
        ' answer in chat.';
      fill('feature-deployments', []);
      return;
    }
    box.replaceChildren(
      el('div', 'revision ' + short(d.revision) + ' answers !' + d.command),
      el('div', 'deployed ' + when(d.deployed_at) + ' by core ' + d.core + ' under epoch ' + d.epoch, 'muted'));
    // previous: the revisions deployed before, oldest first; a rollback goes back to the last of them
    const history = [row(['now', short(d.revision)])]
      .concat([...(d.previous || [])].reverse().map((rev, i) => row([i === 0 ? 'before (rollback goes here)'
        : 'earlier', short(rev)])));
    fill('feature-deployments', history);
  }

  function renderAuthoring(f) {
    const a = f.authoring;
    const box = $('feature-authoring');
    if (!a) {
      box.textContent = 'This feature\'s code was given (files, a folder or a git repository), not written by the model.';
      fill('feature-attempts', []);
      return;
    }
    box.replaceChildren(el('div', a.state.replace('_', ' ') + ' · ' + a.step + ' · attempt ' + a.attempt + ' of ' +
      a.max_attempts + (a.model ? ' · model ' + a.model : '')));
    if (a.reason) box.appendChild(el('div', a.reason, 'problem'));
    if (a.state === 'awaiting_approval') {
      box.appendChild(el('div', 'Its tests passed: Deploy approves it (an admin may also approve it in chat).',
        'muted'));
    }
    fill('feature-attempts', (a.attempts || []).map((t) => row([t.n, t.summary, short(t.revision),
      t.result ? badge(t.result) : '', t.detail])));
  }

  function renderGitLab(f) {
    const g = f.gitlab;
    const box = $('feature-gitlab');
    if (!g) {
      box.textContent = 'GitLab is not configured (GITLAB_URL): the feature lives in its local repository only.';
      return;
    }
    const parts = [];
    const project = el('div', 'project ');
    project.appendChild(g.project_url ? link(g.project || g.project_url, g.project_url) : el('span', g.project || '—'));
    parts.push(project);
    if (g.branch) parts.push(el('div', 'branch ' + g.branch + (g.revision ? ' at ' + short(g.revision) : '')));
    if (g.merge_request) {
      const mr = el('div', 'merge request !' + g.merge_request.iid + ' ');
      mr.appendChild(badge(g.merge_request.state));
      parts.push(mr);
    }
    if (g.pipeline) {
      const p = el('div', 'pipeline #' + g.pipeline.id + ' ');
      p.appendChild(badge(g.pipeline.status, g.pipeline.status === 'success' ? 'passed' : g.pipeline.status));
      for (const j of g.pipeline.jobs || []) p.appendChild(el('span', ' ' + j.name + ': ' + j.status, 'muted'));
      parts.push(p);
    }
    if (g.error) parts.push(el('div', 'GitLab: ' + g.error + (g.error_at ? ' (' + ago(g.error_at) + ')' : ''),
      'problem'));
    box.replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ diff

  async function showDiff(revision) {
    shownDiff = revision;
    $('diff-card').hidden = false;
    $('diff-revision').textContent = short(revision);
    const pre = $('diff');
    pre.replaceChildren(el('span', 'loading …', 'muted'));
    if (feature) renderRevisions(feature);
    try {
      const text = await h.text('/api/features/' + encodeURIComponent(featureId) + '/revisions/' +
        encodeURIComponent(revision) + '/diff');
      if (shownDiff !== revision) return;
      const lines = text.split('\n');
      pre.replaceChildren(...lines.map((line) => {
        let cls = 'ctx';
        if (line.startsWith('diff --git')) cls = 'file';
        else if (line.startsWith('+++') || line.startsWith('---')) cls = 'meta';
        else if (line.startsWith('@@')) cls = 'hunk';
        else if (line.startsWith('+')) cls = 'add';
        else if (line.startsWith('-')) cls = 'del';
        return el('span', line + '\n', cls);
      }));
      pre.dataset.revision = revision;
      $('diff-card').scrollIntoView({ block: 'nearest' });
    } catch (e) {
      pre.replaceChildren(el('span', 'No diff: ' + e.message, 'problem'));
    }
  }

  // ------------------------------------------------------------------ a run's output, live

  function stopRun() {
    if (shownRun) {
      shownRun.stopped = true;
      if (shownRun.abort) shownRun.abort.abort();
    }
    shownRun = null;
  }

  function setStream(state, text) {
    const s = $('run-stream');
    s.dataset.state = state;
    s.textContent = text;
    monitor.run = Object.assign(monitor.run || {}, { state });
  }

  function showRunResult(run) {
    const r = $('run-result');
    r.textContent = run.status;
    r.className = 'badge ' + run.status;
    r.dataset.status = run.finished_at ? run.status : '';
    fill('run-jobs', (run.jobs || []).map((j) => {
      const tr = row([j.name, j.stage, badge(j.status), j.exit_code === null || j.exit_code === undefined ? ''
        : j.exit_code, j.duration_ms === null || j.duration_ms === undefined ? '' : h.duration(j.duration_ms / 1000),
        j.backend, j.detail || (j.reason && j.reason !== 'ok' ? j.reason : '')]);
      tr.lastChild.className = 'detail';
      return tr;
    }));
  }

  /** Shows run {@code runId} and follows its output until the run ended, reconnecting across a failover. */
  async function followRun(runId) {
    stopRun();
    const mine = { id: runId, text: '', stopped: false, abort: null };
    shownRun = mine;
    monitor.run = { id: runId, state: 'connecting', reconnects: 0, chunks: 0 };
    $('run-card').hidden = false;
    $('run-id').textContent = runId;
    $('run-log').textContent = '';
    showRunResult({ status: 'running', jobs: [] });
    if (feature) renderRuns(feature);
    const base = '/api/features/' + encodeURIComponent(featureId) + '/runs/' + encodeURIComponent(runId);
    const logBox = $('run-log');
    while (!mine.stopped) {
      // the log answer starts from the run's beginning every time: what was shown already is skipped
      const already = mine.text.length;
      let seen = 0;
      mine.abort = new AbortController();
      try {
        setStream('streaming', monitor.run.reconnects ? 'streaming again after the connection broke' : 'streaming');
        await h.stream(base + '/log', (text) => {
          if (mine.stopped) return;
          const from = Math.max(0, already - seen);
          seen += text.length;
          if (from >= text.length) return;
          const fresh = text.substring(from);
          mine.text += fresh;
          monitor.run.chunks++;
          const atBottom = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
          logBox.appendChild(document.createTextNode(fresh));
          if (mine.text.length > MAX_LOG_CHARS && logBox.firstChild) logBox.firstChild.remove();
          if (atBottom) logBox.scrollTop = logBox.scrollHeight;
        }, mine.abort.signal);
        if (mine.stopped) return;
        const run = await h.api('GET', base);
        if (mine.stopped) return;
        showRunResult(run);
        if (run.finished_at) {
          mine.finished = true;
          setStream('finished', 'finished ' + when(run.finished_at) + (run.attempts > 1 ? ' after ' + run.attempts +
            ' attempts (a core was lost during the run)' : ''));
          refresh();
          return;
        }
      } catch (e) {
        if (mine.stopped) return;
        if (e.status === 404) {
          setStream('failed', 'no such run: ' + (e.detail || runId));
          return;
        }
        monitor.run.reconnects++;
        setStream('reconnecting', 'the connection broke (' + e.message + '): reconnecting …');
      }
      await h.sleep(RETRY_MS);
    }
  }

  // ------------------------------------------------------------------ buttons

  async function act(button, what, call, done) {
    button.disabled = true;
    try {
      const answer = await call();
      done(answer);
    } catch (e) {
      h.notify(e.describe ? e.describe(what) : what + ' failed: ' + e, true);
    } finally {
      button.disabled = false;
      refresh();
    }
  }

  function setupButtons() {
    $('feature-test').addEventListener('click', (e) => act(e.target, 'the test', () =>
      h.api('POST', '/api/features/test', { feature_id: featureId }), (accepted) => {
      h.notify('Testing revision ' + short(accepted.revision) + ' as run ' + accepted.run_id + '.');
      followRun(accepted.run_id);
    }));
    $('feature-deploy').addEventListener('click', (e) => act(e.target, 'the deploy', () =>
      h.api('POST', '/api/features/deploy', { feature_id: featureId }), (d) =>
      h.notify('Deployed revision ' + short(d.revision) + ': !' + d.command + ' answers in chat now.')));
    $('feature-rollback').addEventListener('click', (e) => act(e.target, 'the rollback', () =>
      h.api('POST', '/api/features/' + encodeURIComponent(featureId) + '/rollback'), (d) =>
      h.notify('Rolled back to revision ' + short(d.revision) + '.')));
  }

  // ------------------------------------------------------------------ creating a feature

  function newProblem(text) {
    const p = $('new-problem');
    p.textContent = text;
    p.hidden = !text;
  }

  async function create(button, body) {
    newProblem('');
    button.disabled = true;
    try {
      const created = await h.api('POST', '/api/features/create', body);
      h.notify('Created feature ' + created.feature_id + ' (' + created.name + '): ' + created.status + '.');
      h.go('#/features/' + encodeURIComponent(created.feature_id));
    } catch (e) {
      newProblem(e.describe ? e.describe('creating the feature') : String(e));
    } finally {
      button.disabled = false;
    }
  }

  /** The chosen folder's files as path → text, without the folder's own name and without .git/. */
  async function folderFiles(list) {
    const files = {};
    const skipped = [];
    for (const file of list) {
      const full = file.webkitRelativePath || file.name;
      const parts = full.split('/');
      const path = parts.length > 1 ? parts.slice(1).join('/') : full;
      if (path.split('/').includes('.git')) continue;
      const text = await file.text();
      if (text.includes('\u0000')) {
        skipped.push(path);
        continue;
      }
      files[path] = text;
    }
    return { files, skipped };
  }

  function folderName(list) {
    const first = list.length ? (list[0].webkitRelativePath || '') : '';
    return first.includes('/') ? first.split('/')[0] : '';
  }

  function setupCreate() {
    $('describe-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const name = $('describe-name').value.trim();
      const description = $('describe-text').value.trim();
      if (!name || !description) {
        newProblem('Give the feature a name and say what it should do.');
        return;
      }
      create($('describe-create'), { name, description });
    });
    $('upload-files').addEventListener('change', () => {
      const list = [...$('upload-files').files];
      if (!$('upload-name').value.trim()) $('upload-name').value = folderName(list);
      const names = list.map((f) => f.webkitRelativePath || f.name).filter((p) => !p.split('/').includes('.git'));
      $('upload-list').textContent = names.length ? names.length + ' files: ' + names.slice(0, 12).join(', ') +
        (names.length > 12 ? ' …' : '') : '';
    });
    $('upload-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const list = [...$('upload-files').files];
      if (!list.length) {
        newProblem('Choose a folder first.');
        return;
      }
      const { files, skipped } = await folderFiles(list);
      if (skipped.length) {
        newProblem('Binary files cannot be sent as text: ' + skipped.join(', ') + '. Remove them from the folder.');
        return;
      }
      const name = $('upload-name').value.trim() || folderName(list);
      const description = $('upload-description').value.trim() || 'uploaded from the folder ' + folderName(list);
      create($('upload-create'), { name, description, files });
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    setupButtons();
    setupCreate();
    h.page('feature', { show, hide });
    h.page('new', { show: () => newProblem('') });
  });
})();
