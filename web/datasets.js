// Datasets (the timestore): the list from GET /datasets when this serve has
// the timestore, else a plain word that it has not. The charts, tables and
// CSV of issue 17 come with the timestore's routes.
import { h, put, enc, call, ops, errorBox, timeEl, json } from './core.js';

const bytes = (n) => (n == null ? '' : n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB`
  : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / (1 << 30)).toFixed(2)} GiB`);

export async function render(ctx) {
  const { view } = ctx;
  const m = /^\/datasets\/([^/]+)\/?$/.exec(ctx.url.pathname);
  const body = h('div', { id: 'datasets-body' }, h('p', { class: 'muted' }, 'Loading…'));
  put(view, h('div', { class: 'ops-head' }, h('h1', {}, m ? decodeURIComponent(m[1]) : 'Datasets')), body);
  if (!ops.has('timestore.datasets')) {
    put(body, h('p', { class: 'empty', id: 'datasets-none' },
      'This hub has no timestore: GET /datasets is not one of its routes.'));
    return;
  }
  let r;
  try {
    r = await call('GET', m ? `/datasets/${enc(decodeURIComponent(m[1]))}` : '/datasets');
  } catch (e) {
    if (!ctx.alive()) return;
    put(body, h('p', { class: 'empty', id: 'datasets-none' },
      e.status === 404 && !m ? 'This hub has no timestore: GET /datasets is not one of its routes.'
        : 'The timestore did not answer:'), errorBox(e, 'GET /datasets'));
    return;
  }
  if (!ctx.alive()) return;
  if (m) { put(body, json(r)); return; }
  const list = r.data || r.datasets || [];
  put(body, list.length ? h('table', { class: 'grid', id: 'datasets-table' },
    h('thead', {}, h('tr', {}, ['Dataset', 'Rows', 'Size', 'From', 'To'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((d) => h('tr', { 'data-dataset': d.slug },
      h('td', {}, h('a', { href: `/datasets/${enc(d.slug)}`, 'data-link': '' }, d.slug)),
      h('td', {}, d.rows ?? ''), h('td', {}, bytes(d.bytes)),
      h('td', {}, timeEl(d.minTime || d.from)), h('td', {}, timeEl(d.maxTime || d.to))))))
    : h('p', { class: 'empty' }, 'No dataset yet.'));
}
