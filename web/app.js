// apphub's page: search, app pages, live status, registration.
// Plain ES module, no dependencies; everything comes from the API of the
// `apphub serve` that serves it (see /openapi.json).

import {
  $, h, debounce, timeEl, toast, isWebUrl, badge, api, ops, loadOps, findOp, withToken,
  emit, OPS_EVENTS,
} from './core.js';
import { sectionOf, showSection, initNav } from './nav.js';

const PAGE = 24;
const DEBOUNCE_MS = 120;

// Fills {params} of an OpenAPI path: with one parameter, the subject; with
// more, the app id first and the subject last.
function fill(path, appId, subject = appId) {
  const names = path.match(/\{[^}]+\}/g) || [];
  let i = 0;
  return path.replace(/\{[^}]+\}/g, () => {
    const v = names.length === 1 ? subject : (i++ === 0 ? appId : subject);
    return encodeURIComponent(v);
  });
}

function callOp(op, appId, subject, body) {
  let path = fill(op.path, appId, subject);
  if (!/\{/.test(op.path) && op.method === 'GET') path += `?app=${encodeURIComponent(appId)}`;
  return api(op.method, path, op.method === 'GET' ? undefined : (body || {}));
}

// ---------------------------------------------------------------- the query

// The search is tag chips (key:value) plus free words; ?q= holds both.
const state = { tags: [], status: '', offset: 0, total: 0, seq: 0 };
const input = () => $('#q');

function isTag(tok) {
  const i = tok.indexOf(':');
  return i > 0 && i < tok.length - 1;
}

function queryString() {
  return [...state.tags, input().value.trim()].filter(Boolean).join(' ');
}

function setQuery(q) {
  const toks = (q || '').split(/\s+/).filter(Boolean);
  state.tags = [];
  for (const t of toks) if (isTag(t) && !state.tags.includes(t.toLowerCase())) state.tags.push(t.toLowerCase());
  input().value = toks.filter((t) => !isTag(t)).join(' ');
  renderChips();
}

function addTag(tag, { focus = false } = {}) {
  tag = tag.toLowerCase();
  if (!state.tags.includes(tag)) state.tags.push(tag);
  renderChips();
  const moved = leaveApp();
  search({ push: !moved });
  if (focus) input().focus();
}

function removeTag(tag) {
  state.tags = state.tags.filter((t) => t !== tag);
  renderChips();
  search({ push: true });
  input().focus();
}

function renderChips() {
  const ul = $('#chips');
  ul.replaceChildren(...state.tags.map((t) => {
    const [k, ...v] = t.split(':');
    return h('li', {}, h('button', {
      type: 'button', class: 'chip chip-filter', 'aria-label': `Remove filter ${t}`,
      onclick: () => removeTag(t),
    }, h('span', { class: 'key' }, `${k}:`), v.join(':'), h('span', { class: 'x', 'aria-hidden': 'true' }, '×')));
  }));
}

// From an app page back to the search view, keeping the query being built.
function leaveApp() {
  if (location.pathname === '/') return false;
  history.pushState(null, '', '/');
  current = null;
  $('#view-app').hidden = true;
  $('#view-search').hidden = false;
  return true;
}

// Complete key:value tokens typed in the box become chips.
function chipify() {
  const el = input(), v = el.value;
  const m = v.match(/^(.*\s)?(\S*)$/s);
  const done = (m[1] || '').split(/\s+/).filter(Boolean);
  if (!done.some(isTag)) return false;
  for (const t of done) if (isTag(t) && !state.tags.includes(t.toLowerCase())) state.tags.push(t.toLowerCase());
  el.value = [...done.filter((t) => !isTag(t)), m[2]].filter(Boolean).join(' ') + (m[2] ? '' : (done.some((t) => !isTag(t)) ? ' ' : ''));
  renderChips();
  return true;
}

// ------------------------------------------------------------------- search

async function search({ push = false, append = false } = {}) {
  const q = queryString();
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (state.status) params.set('status', state.status);
  const url = `/${params.toString() ? `?${params}` : ''}`;
  if (location.pathname === '/' && url !== location.pathname + location.search) {
    history[push ? 'pushState' : 'replaceState'](null, '', url);
  }
  if (!append) state.offset = 0;
  params.set('limit', PAGE);
  params.set('offset', state.offset);
  const seq = ++state.seq;
  let res;
  try {
    res = await api('GET', `/apps?${params}`);
  } catch (e) {
    if (seq !== state.seq) return;
    $('#results-count').textContent = e.message;
    return;
  }
  if (seq !== state.seq) return;
  state.total = res.total;
  const cards = $('#cards');
  const items = res.data.map(card);
  if (append) cards.append(...items); else cards.replaceChildren(...items);
  const shown = cards.children.length;
  $('#results-count').textContent = res.total === 1 ? '1 app' : `${res.total} apps`;
  $('#results-heading').textContent = q || state.status ? 'Results' : 'All apps';
  $('#empty').hidden = res.total !== 0;
  $('#more').hidden = shown >= res.total;
  renderFacets(res.facets || {});
  document.title = q ? `${q} · apphub` : 'apphub';
}

function tagChip(t, { label } = {}) {
  const pair = typeof t === 'string' ? t : `${t.key}:${t.value}`;
  const [k, ...v] = pair.split(':');
  return h('li', {}, h('button', {
    type: 'button', class: 'chip', title: label || `Search for ${pair}`,
    'aria-label': `Add filter ${pair}`, onclick: () => addTag(pair),
  }, h('span', { class: 'key' }, `${k}:`), v.join(':')));
}

function card(app) {
  const href = `/apps/${encodeURIComponent(app.id)}`;
  const repo = isWebUrl(app.repoUrl)
    ? h('a', { href: app.repoUrl, rel: 'noopener noreferrer', target: '_blank' }, app.repoUrl.replace(/^https?:\/\//, ''))
    : app.repoUrl;
  const tags = (app.tags || []).slice(0, 8);
  return h('article', { class: 'card', 'data-app': app.id, 'aria-labelledby': `card-${app.id}` },
    h('div', { class: 'card-head' },
      h('h2', { id: `card-${app.id}` }, h('a', { href, 'data-link': '' }, app.name || app.id)),
      badge(app.status)),
    app.description ? h('p', { class: 'desc' }, app.description) : h('p', { class: 'desc' }, h('em', {}, 'No description yet')),
    tags.length ? h('ul', { class: 'tags', 'aria-label': 'Tags' }, tags.map((t) => tagChip(t))) : null,
    h('dl', { class: 'meta' },
      h('div', {}, h('dt', {}, 'Repo'), h('dd', { title: app.repoUrl }, repo)),
      h('div', {}, h('dt', {}, 'Dockerfile'), h('dd', {}, app.dockerfilePath || '—'))));
}

function renderFacets(f) {
  const groups = [];
  const statuses = ['ready', 'processing', 'pending', 'failed'];
  const counts = Object.fromEntries((f.statuses || []).map((s) => [s.value, s.count]));
  const shownStatuses = statuses.filter((s) => counts[s] || state.status === s);
  if (shownStatuses.length) {
    groups.push(facet('Status', shownStatuses.map((s) => ({
      label: s, n: counts[s] || 0, pressed: state.status === s,
      on: () => { state.status = state.status === s ? '' : s; search({ push: true }); },
    }))));
  }
  if ((f.frameworks || []).length) {
    groups.push(facet('Frameworks', f.frameworks.slice(0, 8).map((x) => {
      const tag = `framework:${x.value}`;
      return { label: x.value, n: x.count, pressed: state.tags.includes(tag), on: () => toggleTag(tag) };
    })));
  }
  const tags = (f.tags || []).filter((x) => !x.value.startsWith('framework:')).slice(0, 12);
  if (tags.length) {
    groups.push(facet('Top tags', tags.map((x) => ({
      label: x.value, n: x.count, pressed: state.tags.includes(x.value), on: () => toggleTag(x.value),
    }))));
  }
  $('#facets').replaceChildren(...groups);
}

function toggleTag(tag) {
  if (state.tags.includes(tag)) removeTag(tag); else addTag(tag);
}

function facet(title, items) {
  const id = `facet-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return h('section', { class: 'facet', 'aria-labelledby': id },
    h('h2', { id }, title),
    h('ul', {}, items.map((it) => h('li', {}, h('button', {
      type: 'button', 'aria-pressed': it.pressed ? 'true' : 'false', onclick: it.on,
    }, h('span', { class: 'v' }, it.label), h('span', { class: 'n' }, it.n))))));
}

// ------------------------------------------------------- the ARIA combobox

const combo = { items: [], active: -1, seq: 0, open: false };

function currentWord() {
  const el = input();
  const upto = el.value.slice(0, el.selectionStart ?? el.value.length);
  const m = upto.match(/(\S*)$/);
  return { word: m[1], start: upto.length - m[1].length, end: upto.length };
}

const suggest = debounce(async () => {
  const { word } = currentWord();
  const seq = ++combo.seq;
  if (!word) { closeList(); return; }
  let res;
  try {
    res = await api('GET', `/tags/suggest?prefix=${encodeURIComponent(word)}&limit=8`);
  } catch { return; }
  if (seq !== combo.seq || document.activeElement !== input()) return;
  openList(res.data || [], word);
}, DEBOUNCE_MS);

function openList(items, word) {
  const ul = $('#suggestions'), el = input();
  combo.items = items;
  combo.active = -1;
  if (!items.length) { closeList(); return; }
  ul.replaceChildren(...items.map((it, i) => {
    const label = it.label || it.value;
    const n = label.toLowerCase().startsWith(word.toLowerCase()) ? word.length : 0;
    return h('li', {
      id: `sug-${i}`, role: 'option', 'aria-selected': 'false', 'data-value': it.value,
      onmousedown: (ev) => { ev.preventDefault(); accept(i); },
      onmousemove: () => setActive(i),
    }, h('span', {}, h('mark', {}, label.slice(0, n)), label.slice(n)),
    h('span', { class: 'kind' }, it.type === 'key' ? 'key' : 'tag'));
  }));
  ul.hidden = false;
  combo.open = true;
  el.setAttribute('aria-expanded', 'true');
  el.removeAttribute('aria-activedescendant');
}

function closeList() {
  const ul = $('#suggestions'), el = input();
  combo.open = false;
  combo.active = -1;
  combo.seq++;
  ul.hidden = true;
  ul.replaceChildren();
  el.setAttribute('aria-expanded', 'false');
  el.removeAttribute('aria-activedescendant');
}

function setActive(i) {
  const ul = $('#suggestions');
  if (combo.active >= 0) ul.children[combo.active]?.setAttribute('aria-selected', 'false');
  combo.active = i;
  if (i < 0) { input().removeAttribute('aria-activedescendant'); return; }
  const li = ul.children[i];
  li.setAttribute('aria-selected', 'true');
  li.scrollIntoView({ block: 'nearest' });
  input().setAttribute('aria-activedescendant', li.id);
}

function accept(i) {
  const it = combo.items[i];
  if (!it) return;
  const el = input(), { start, end } = currentWord();
  if (it.type === 'key') {
    // A key: complete to "key:" and offer its values.
    const v = el.value.slice(0, start) + it.value + ':' + el.value.slice(end);
    el.value = v;
    const pos = start + it.value.length + 1;
    el.setSelectionRange(pos, pos);
    closeList();
    suggest();
    return;
  }
  el.value = (el.value.slice(0, start) + el.value.slice(end)).replace(/\s+/g, ' ').trim();
  closeList();
  addTag(it.value);
}

function onKey(ev) {
  const el = input();
  switch (ev.key) {
  case 'ArrowDown':
    ev.preventDefault();
    if (!combo.open) { suggest(); return; }
    setActive((combo.active + 1) % combo.items.length);
    return;
  case 'ArrowUp':
    if (!combo.open) return;
    ev.preventDefault();
    setActive(combo.active <= 0 ? combo.items.length - 1 : combo.active - 1);
    return;
  case 'Enter':
    ev.preventDefault();
    if (combo.open && combo.active >= 0) { accept(combo.active); return; }
    closeList();
    chipifyAll();
    search({ push: true });
    return;
  case 'Tab':
    // "Tab to accept": the highlighted suggestion, else the first; Shift-Tab leaves.
    if (combo.open && combo.items.length && !ev.shiftKey) {
      ev.preventDefault();
      accept(Math.max(combo.active, 0));
    } else closeList();
    return;
  case 'Escape':
    if (combo.open) { ev.preventDefault(); closeList(); }
    return;
  case 'Backspace':
    if (el.selectionStart === 0 && el.selectionEnd === 0 && state.tags.length) {
      ev.preventDefault();
      removeTag(state.tags[state.tags.length - 1]);
    }
    return;
  default:
  }
}

// Enter turns a finished key:value word into a chip too.
function chipifyAll() {
  const el = input();
  el.value = `${el.value} `;
  chipify();
  el.value = el.value.trim();
}

const searchSoon = debounce(() => search(), DEBOUNCE_MS);

// --------------------------------------------------------------- app page

let current = null;	// the app shown, {id, ...}

async function showApp(id) {
  const view = $('#view-app');
  $('#view-search').hidden = true;
  view.hidden = false;
  closeList();
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let app;
  try {
    app = await api('GET', `/apps/${encodeURIComponent(id)}`);
  } catch (e) {
    current = null;
    view.replaceChildren(h('div', { class: 'panel' },
      h('h1', { id: 'app-name' }, e.status === 404 ? 'No such app' : 'Cannot load this app'),
      h('p', {}, e.message), h('p', {}, h('a', { href: '/', 'data-link': '' }, '← Back to all apps'))));
    return;
  }
  current = { id: app.id };
  await loadOps();
  renderApp(app);
  document.title = `${app.name || app.id} · apphub`;
  $('#main').focus({ preventScroll: true });
  loadReadme(app);
  loadHistory(app.id);
  loadBuilds(app.id);
  loadLaunches(app.id);
}

function renderApp(app) {
  const view = $('#view-app');
  const repo = isWebUrl(app.repoUrl)
    ? h('a', { href: app.repoUrl, rel: 'noopener noreferrer', target: '_blank' }, app.repoUrl)
    : app.repoUrl;
  const tags = app.tags || [];
  view.replaceChildren(
    h('div', { class: 'app-head' },
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/', 'data-link': '' }, '← All apps')),
      h('div', { class: 'app-title' }, h('h1', { id: 'app-name' }, app.name || app.id), badge(app.status)),
      app.description ? h('p', { class: 'app-desc' }, app.description) : null,
      h('div', { class: 'app-actions', id: 'app-actions' }, actionButtons(app)),
      app.status === 'failed' && app.errorMessage ? h('p', { class: 'err-text', id: 'ingest-error' }, app.errorMessage) : null),
    h('div', { class: 'app-grid' },
      h('div', { class: 'main-col' },
        h('section', { class: 'panel', 'aria-labelledby': 'readme-h' },
          h('h2', { id: 'readme-h', class: 'visually-hidden' }, 'README'),
          h('div', { class: 'readme', id: 'readme' }, h('p', { class: 'muted' }, 'Loading the README…'))),
        h('section', { class: 'panel', id: 'builds', 'aria-labelledby': 'builds-h', hidden: true },
          h('h2', { id: 'builds-h' }, 'Builds'), h('div', { id: 'builds-body' })),
        h('section', { class: 'panel', id: 'launches', 'aria-labelledby': 'launches-h', hidden: true },
          h('h2', { id: 'launches-h' }, 'Launches'), h('div', { id: 'launches-body' }))),
      h('div', { class: 'side' },
        h('section', { class: 'panel', 'aria-labelledby': 'about-h' },
          h('h2', { id: 'about-h' }, 'About'),
          h('dl', { class: 'facts' },
            h('dt', {}, 'Id'), h('dd', {}, app.id),
            h('dt', {}, 'Repo'), h('dd', {}, repo),
            h('dt', {}, 'Dockerfile'), h('dd', {}, app.dockerfilePath || '—'),
            h('dt', {}, 'Commit'), h('dd', { title: app.commitSha || '' }, app.commitSha ? app.commitSha.slice(0, 12) : '—'),
            h('dt', {}, 'Ingested'), h('dd', {}, app.lastIngestedAt ? timeEl(app.lastIngestedAt) : 'not yet'))),
        h('section', { class: 'panel', 'aria-labelledby': 'tags-h' },
          h('h2', { id: 'tags-h' }, 'Tags'),
          tags.length ? h('ul', { class: 'tags-list' }, tags.map((t) => tagChip(t, { label: `${t.key}:${t.value} (${t.source})` })))
            : h('p', { class: 'muted' }, 'No tags yet.')),
        h('section', { class: 'panel', 'aria-labelledby': 'history-h' },
          h('h2', { id: 'history-h' }, 'Ingestion history'),
          h('ol', { class: 'timeline', id: 'history' })))));
}

function actionButtons(app) {
  const out = [];
  if (app.status === 'failed') {
    out.push(h('button', { type: 'button', class: 'button primary', id: 'retry', onclick: () => retry(app.id) }, 'Retry ingestion'));
  }
  const launch = findOp(['launches.create', 'launch.run', 'launch.start', 'launch.create', 'launch'], /^POST \/apps\/\{[^}]+\}\/launch(es)?$/);
  if (launch) {
    out.push(h('button', { type: 'button', class: 'button primary', id: 'launch', onclick: (ev) => doLaunch(app.id, launch, ev.currentTarget) }, 'Launch'));
  }
  const build = findOp(['builds.create', 'build.run', 'build.create'], /^POST \/apps\/\{[^}]+\}\/builds$/);
  if (build && app.status === 'ready') {
    out.push(h('button', {
      type: 'button', class: 'button', id: 'build', onclick: async (ev) => {
        const btn = ev.currentTarget;
        btn.disabled = true;
        try { await withToken(() => callOp(build, app.id, app.id, {})); toast('Build queued'); } catch (e) { toast(e.message); }
        btn.disabled = false;
        loadBuilds(app.id);
      },
    }, 'Build'));
  }
  if (isWebUrl(app.repoUrl)) out.push(h('a', { class: 'button', href: app.repoUrl, rel: 'noopener noreferrer', target: '_blank' }, 'Repository ↗'));
  return out;
}

async function retry(id) {
  const btn = $('#retry');
  if (btn) btn.disabled = true;
  try {
    await withToken(() => api('POST', `/apps/${encodeURIComponent(id)}/retry`));
    toast('Queued for ingestion');
  } catch (e) {
    toast(e.message);
  } finally {
    if (btn) btn.disabled = false;
  }
  refreshApp(id);
}

async function loadReadme(app) {
  const el = $('#readme');
  const op = ops.get('apps.readme');
  try {
    if (op) {
      const r = await api('GET', fill(op.path, app.id));
      if (!current || current.id !== app.id) return;
      if (r.html) {
        // Rendered by cmark on the server with raw HTML left out.
        el.innerHTML = r.html;
        for (const a of el.querySelectorAll('a[href]')) {
          if (/^https?:/i.test(a.getAttribute('href'))) { a.target = '_blank'; a.rel = 'noopener noreferrer'; }
        }
        return;
      }
    } else if (app.readme) {
      el.replaceChildren(h('pre', {}, app.readme));
      return;
    }
    el.replaceChildren(h('p', { class: 'muted' }, app.status === 'ready' ? 'This repository has no README.' : 'The README appears once the app is ingested.'));
  } catch (e) {
    el.replaceChildren(h('p', { class: 'err-text' }, e.message));
  }
}

const MESSAGES = { pending: 'Queued for ingestion', processing: 'Ingestion started', ready: 'Ingestion succeeded', failed: 'Ingestion failed' };

async function loadHistory(id) {
  let r;
  try { r = await api('GET', `/apps/${encodeURIComponent(id)}/history`); } catch { return; }
  const ol = $('#history');
  if (!ol || !current || current.id !== id) return;
  const items = r.data || [];
  if (!items.length) { ol.replaceChildren(h('li', {}, h('span', { class: 'muted' }, 'Nothing yet.'))); return; }
  ol.replaceChildren(...items.map((e) => h('li', { 'data-status': e.status },
    h('div', { class: 'msg' }, e.status === 'failed' ? 'Ingestion failed' : (e.message || MESSAGES[e.status] || e.status)),
    h('div', { class: 'when' }, timeEl(e.createdAt),
      e.attempt ? ` · attempt ${e.attempt}` : '', e.durationMs != null ? ` · ${e.durationMs} ms` : ''),
    e.commitSha ? h('div', { class: 'detail' }, e.commitSha.slice(0, 12)) : null,
    e.status === 'failed' && e.message ? h('div', { class: 'detail err-text' }, e.message) : null)));
}

function when(rec) {
  return timeEl(rec.completedAt || rec.startedAt || rec.updatedAt || rec.createdAt);
}

async function loadBuilds(id) {
  const list = findOp(['builds.list', 'build.ls', 'builds.ls', 'build.list'], /^GET \/apps\/\{[^}]+\}\/builds$/);
  const section = $('#builds');
  if (!list || !section) return;
  const logs = findOp(['builds.logs', 'build.logs'], /^GET \/builds\/\{[^}]+\}\/logs?$/);
  let r;
  try { r = await callOp(list, id, id); } catch { return; }
  if (!current || current.id !== id) return;
  section.hidden = false;
  const items = r.data || r.builds || [];
  const body = $('#builds-body');
  if (!items.length) { body.replaceChildren(h('p', { class: 'muted' }, 'No build yet.')); return; }
  body.replaceChildren(h('ul', { class: 'rows' }, items.slice(0, 10).map((b) => {
    const det = h('details', { class: 'log' }, h('summary', {}, 'Log'), h('pre', { tabindex: '0' }, b.logsPreview || ''));
    if (logs) {
      det.addEventListener('toggle', async () => {
        if (!det.open || det.dataset.loaded) return;
        det.dataset.loaded = '1';
        try {
          const res = await fetch(fill(logs.path, id, b.id), { headers: { Accept: 'text/plain, application/json' } });
          const text = await res.text();
          let out = text;
          try { const j = JSON.parse(text); out = j.logs ?? j.log ?? j.data ?? text; } catch { /* text */ }
          det.querySelector('pre').textContent = typeof out === 'string' ? out : JSON.stringify(out, null, 2);
        } catch { /* keep the preview */ }
      });
    }
    return h('li', { 'data-build': b.id },
      h('div', { class: 'row-head' },
        h('span', { class: 'id' }, b.imageTag || b.id), badge(b.status), h('span', { class: 'when' }, when(b))),
      b.errorMessage ? h('p', { class: 'err-text' }, b.errorMessage) : null,
      det);
  })));
}

async function loadLaunches(id) {
  const list = findOp(['launches.list', 'launch.ls', 'launches.ls', 'launch.list'], /^GET \/apps\/\{[^}]+\}\/launches$/);
  const section = $('#launches');
  if (!list || !section) return;
  const stop = findOp(['launches.stop', 'launch.stop'], /^POST .*\/stop$/);
  let r;
  try { r = await callOp(list, id, id); } catch { return; }
  if (!current || current.id !== id) return;
  section.hidden = false;
  const items = r.data || r.launches || [];
  const body = $('#launches-body');
  if (!items.length) { body.replaceChildren(h('p', { class: 'muted' }, 'Not launched yet.')); return; }
  body.replaceChildren(h('ul', { class: 'rows' }, items.slice(0, 10).map((l) => {
    const live = ['running', 'starting'].includes(l.status);
    return h('li', { 'data-launch': l.id },
      h('div', { class: 'row-head' },
        h('span', { class: 'id' }, l.id), badge(l.status), h('span', { class: 'when' }, when(l))),
      h('div', { class: 'app-actions' },
        l.previewUrl && live ? h('a', { class: 'button small primary', href: l.previewUrl, target: '_blank', rel: 'noopener noreferrer' }, 'Open preview ↗') : null,
        stop && (live || l.status === 'stopping') ? h('button', {
          type: 'button', class: 'button small danger', onclick: async (ev) => {
            ev.currentTarget.disabled = true;
            try { await withToken(() => callOp(stop, id, l.id)); toast('Stopping'); } catch (e) { toast(e.message); }
            loadLaunches(id);
          },
        }, 'Stop') : null),
      l.errorMessage ? h('p', { class: 'err-text' }, l.errorMessage) : null);
  })));
}

async function doLaunch(id, op, btn) {
  // The tab opens now, inside the click, so no pop-up blocker stops it.
  const tab = window.open('', '_blank');
  if (tab) tab.document.write('<title>Launching…</title><p style="font:16px system-ui;padding:2em">Launching…</p>');
  btn.disabled = true;
  try {
    // wait: answer once the launch runs (or failed), so the tab has its URL;
    // the list below follows starting and running live meanwhile.
    const l = await withToken(() => callOp(op, id, id, { wait: true }));
    const url = l.previewUrl || l.launch?.previewUrl;
    const failed = l.status === 'failed';
    if (url && tab && !failed) tab.location = url; else if (tab) tab.close();
    toast(failed ? `Launch failed: ${l.errorMessage || 'see its log'}` : url ? `Launched: ${url}` : 'Launch requested');
  } catch (e) {
    if (tab) tab.close();
    toast(e.message);
  } finally {
    btn.disabled = false;
    loadLaunches(id);
  }
}

async function refreshApp(id) {
  if (!current || current.id !== id) return;
  let app;
  try { app = await api('GET', `/apps/${encodeURIComponent(id)}`); } catch { return; }
  if (!current || current.id !== id) return;
  const b = $('#view-app [data-role="status"]');
  const readmeAgain = b?.dataset.status !== app.status && app.status === 'ready';
  // What loads in the background keeps showing until its new content arrives.
  const keep = ['history', 'builds', 'launches', ...(readmeAgain ? [] : ['readme'])]
    .map((k) => [k, document.getElementById(k)]).filter(([, el]) => el);
  renderApp(app);
  for (const [k, el] of keep) document.getElementById(k).replaceWith(el);
  loadHistory(id);
  loadBuilds(id);
  loadLaunches(id);
  if (readmeAgain) loadReadme(app);
}

// --------------------------------------------------------------- register

function openRegister() {
  const dlg = $('#register');
  $('#register-form').reset();
  clearErrors();
  dlg.showModal();
  $('#f-repoUrl').focus();
}

const FIELDS = ['repoUrl', 'id', 'name', 'description', 'dockerfilePath', 'tags'];

function clearErrors() {
  for (const f of [...FIELDS, 'form']) {
    const e = $(`#e-${f}`);
    e.hidden = true;
    e.textContent = '';
    $(`#f-${f}`)?.removeAttribute('aria-invalid');
  }
}

function showError(field, msg) {
  const e = $(`#e-${field}`) || $('#e-form');
  e.textContent = msg;
  e.hidden = false;
  const inp = $(`#f-${field}`);
  if (inp) { inp.setAttribute('aria-invalid', 'true'); inp.focus(); }
}

async function submitRegister(ev) {
  ev.preventDefault();
  clearErrors();
  const form = new FormData($('#register-form'));
  const body = {};
  for (const f of FIELDS) {
    const v = String(form.get(f) || '').trim();
    if (!v) continue;
    body[f] = f === 'tags' ? v.split(/[\s,]+/).filter(Boolean) : v;
  }
  if (!body.repoUrl) { showError('repoUrl', 'The repository URL is required.'); return; }
  const btn = $('#register-submit');
  btn.disabled = true;
  try {
    const app = await withToken(() => api('POST', '/apps', body));
    $('#register').close();
    toast(`Registered ${app.id}: queued for ingestion`);
    navigate(`/apps/${encodeURIComponent(app.id)}`);
  } catch (e) {
    // "invalid repoUrl 'x': ..." names the field.
    const m = /^invalid ([A-Za-z]+)/.exec(e.message);
    const field = m && FIELDS.includes(m[1]) ? m[1] : (e.status === 409 ? 'id' : 'form');
    showError(field, e.message);
  } finally {
    btn.disabled = false;
  }
}

// ------------------------------------------------------------------- live

const STATUS_OF = {
  'app.ingest.queued': 'pending', 'app.ingest.started': 'processing',
  'app.ingest.succeeded': 'ready', 'app.ingest.failed': 'failed',
};

function follow() {
  if (!window.EventSource) return;
  const es = new EventSource('/events');
  const researchSoon = debounce(() => { if (location.pathname === '/') search(); }, 300);
  const onEvent = (ev) => {
    let e;
    try { e = JSON.parse(ev.data); } catch { return; }
    const type = e.type || ev.type, subject = e.subject;
    const status = STATUS_OF[type];
    if (status && subject) {
      for (const b of document.querySelectorAll(`[data-app="${CSS.escape(subject)}"] [data-role="status"]`)) {
        b.dataset.status = status;
        b.textContent = status;
      }
    }
    if (type === 'app.registered' || type === 'app.removed' || status === 'ready' || status === 'failed') researchSoon();
    if (current) {
      const appId = e.data?.repositoryId || subject;
      if (appId === current.id || subject === current.id) refreshSoon(current.id);
    }
  };
  es.onmessage = onEvent;
  // The operator pages' events go to their listeners (core.js).
  const onOps = (ev) => {
    let e;
    try { e = JSON.parse(ev.data); } catch { return; }
    e.type ||= ev.type;
    emit(e);
  };
  for (const t of OPS_EVENTS) es.addEventListener(t, onOps);
  for (const t of ['app.registered', 'app.removed', 'app.updated', ...Object.keys(STATUS_OF),
    'build.queued', 'build.running', 'build.succeeded', 'build.failed',
    'launch.starting', 'launch.running', 'launch.stopped', 'launch.failed']) es.addEventListener(t, onEvent);
  document.documentElement.dataset.live = 'on';
}

const refreshSoon = debounce((id) => refreshApp(id), 150);

// ----------------------------------------------------------------- routing

function navigate(url, run = true) {
  history.pushState(null, '', url);
  if (run) route();
}

function route() {
  const sec = sectionOf(location.pathname);
  showSection(sec);
  if (sec.id !== 'apps') {
    current = null;
    closeList();
    $('#view-app').hidden = true;
    $('#view-search').hidden = true;
    return;
  }
  const m = /^\/apps\/([^/]+)\/?$/.exec(location.pathname);
  if (m) { showApp(decodeURIComponent(m[1])); return; }
  current = null;
  $('#view-app').hidden = true;
  $('#view-search').hidden = false;
  const p = new URLSearchParams(location.search);
  setQuery(p.get('q') || '');
  state.status = p.get('status') || '';
  search();
}

function init() {
  const el = input();
  el.addEventListener('keydown', onKey);
  el.addEventListener('input', () => {
    chipify();
    suggest();
    leaveApp();
    searchSoon();
  });
  el.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== el) closeList(); }, 0));
  $('#searchbox').addEventListener('click', (ev) => { if (ev.target === ev.currentTarget) el.focus(); });
  $('#search-form').addEventListener('submit', (ev) => { ev.preventDefault(); });
  $('#more').addEventListener('click', () => { state.offset = $('#cards').children.length; search({ append: true }); });
  $('#register-open').addEventListener('click', openRegister);
  $('#register-form').addEventListener('submit', submitRegister);
  for (const b of document.querySelectorAll('dialog [data-close]')) b.addEventListener('click', (ev) => ev.target.closest('dialog').close());

  document.addEventListener('keydown', (ev) => {
    if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t.closest?.('input, textarea, select, [contenteditable], dialog')) return;
    ev.preventDefault();
    // On an operator page, its own search box (data-slash) if it has one.
    const own = sectionOf(location.pathname).id !== 'apps' && document.querySelector('#view-ops [data-slash]');
    if (own) { own.focus(); own.select?.(); return; }
    if (location.pathname !== '/') { navigate('/'); }
    el.focus();
    el.select();
  });
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest?.('a[data-link]');
    if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    navigate(a.getAttribute('href'));
    window.scrollTo(0, 0);
  });
  window.addEventListener('popstate', route);
  window.addEventListener('apphub:route', route);
  initNav();
  loadOps();
  route();
  follow();
}

init();
