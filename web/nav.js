// The sections of the page (Apps, Jobs, Workflows, Records, Datasets), each
// at URLs of its own, and the keys that move between them: g a, g j, g w,
// g r, g d, and ? for the list of keys.
import { $, $$, navigate, loadOps } from './core.js';
import * as jobs from './jobs.js';
import * as workflows from './workflows.js';
import * as records from './records.js';
import * as datasets from './datasets.js';

export const SECTIONS = [
  { id: 'apps', name: 'Apps', key: 'a', href: '/', match: (p) => p === '/' || /^\/apps(\/|$)/.test(p) },
  { id: 'jobs', name: 'Jobs', key: 'j', href: '/jobs', match: (p) => /^\/(jobs|job-runs)(\/|$)/.test(p), mod: jobs },
  { id: 'workflows', name: 'Workflows', key: 'w', href: '/workflows', match: (p) => /^\/(workflows|workflow-runs)(\/|$)/.test(p), mod: workflows },
  { id: 'records', name: 'Records', key: 'r', href: '/records', match: (p) => /^\/records(\/|$)/.test(p), mod: records },
  { id: 'datasets', name: 'Datasets', key: 'd', href: '/datasets', match: (p) => /^\/datasets(\/|$)/.test(p), mod: datasets },
];

export function sectionOf(path) {
  return SECTIONS.find((s) => s.match(path)) || SECTIONS[0];
}

// The render under way: a newer one makes the older one's late answers void.
let shown = { alive: () => false, leave: [] };

export function showSection(sec) {
  document.body.dataset.section = sec.id;
  for (const a of $$('#nav a[data-section]')) {
    if (a.dataset.section === sec.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  for (const fn of shown.leave) fn();
  const view = $('#view-ops');
  if (sec.id === 'apps') {
    shown = { alive: () => false, leave: [] };
    view.hidden = true;
    view.replaceChildren();
    return;
  }
  view.hidden = false;
  const me = {
    view, url: new URL(location.href), leave: [],
    alive: () => shown === me,
    onLeave: (fn) => me.leave.push(fn),
  };
  shown = me;
  document.title = `${sec.name} · apphub`;
  loadOps().then(() => { if (me.alive()) sec.mod.render(me); });
}

function typing(t) {
  return t.closest?.('input, textarea, select, [contenteditable], dialog[open]') || document.querySelector('dialog[open]');
}

export function initNav() {
  let pendingG = 0;
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented || typing(ev.target)) return;
    if (ev.key === '?') {
      ev.preventDefault();
      $('#keys').showModal();
      return;
    }
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      const sec = SECTIONS.find((s) => s.key === ev.key);
      if (!sec) return;
      ev.preventDefault();
      if (location.pathname !== sec.href || location.search) navigate(sec.href);
      window.scrollTo(0, 0);
      $('#main').focus({ preventScroll: true });
      return;
    }
    if (ev.key === 'g') { pendingG = Date.now(); ev.preventDefault(); }
  });
  $('#keys-open').addEventListener('click', () => $('#keys').showModal());
}
