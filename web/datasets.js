// Datasets (the timestore): the list from GET /datasets; a dataset's schema,
// partitions and size, and its numeric columns as a line chart over a range,
// downsampled by the server to about a point a pixel of the chart's width,
// with a crosshair (pointer or arrow keys), the same rows as a table, and as
// CSV. The range, columns and view are in the URL, so a link shows the same.
import { h, s, put, enc, call, ops, errorBox, timeEl, navigate } from './core.js';

const bytes = (n) => (n == null ? '' : n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB`
  : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / (1 << 30)).toFixed(2)} GiB`);
const NONE = 'This hub has no timestore: GET /datasets is not one of its routes.';
const WIDTH = 800, HEIGHT = 260, PAD = 36;
// A series' colour: its stroke here, .c0 ... .c5 in app.css for its text (no style attributes under the page's CSP).
const COLOURS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];
// The intervals a downsample may take, shortest first: [unit, size, ms].
const STEPS = [['second', 1, 1e3], ['second', 5, 5e3], ['second', 15, 15e3], ['second', 30, 30e3],
  ['minute', 1, 6e4], ['minute', 5, 3e5], ['minute', 15, 9e5], ['minute', 30, 18e5], ['hour', 1, 36e5],
  ['hour', 3, 108e5], ['hour', 6, 216e5], ['hour', 12, 432e5], ['day', 1, 864e5], ['week', 1, 6048e5],
  ['month', 1, 2592e6]];
const PRESETS = [['hour', 36e5], ['day', 864e5], ['week', 6048e5], ['month', 2592e6]];

// The interval whose buckets come nearest a point a pixel without more points than pixels.
export function stepFor(spanMs, pixels) {
  const want = spanMs / Math.max(1, pixels);
  return STEPS.find((st) => st[2] >= want) || STEPS[STEPS.length - 1];
}

function csvOf(columns, rows) {
  const cell = (v) => {
    const t = v == null ? '' : String(v);
    return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  return [columns.map((c) => cell(c.name)).join(','),
    ...rows.map((r) => columns.map((c) => cell(r[c.name])).join(','))].join('\r\n') + '\r\n';
}

export async function render(ctx) {
  const { view } = ctx;
  const m = /^\/datasets\/([^/]+)\/?$/.exec(ctx.url.pathname);
  const body = h('div', { id: 'datasets-body' }, h('p', { class: 'muted' }, 'Loading…'));
  put(view, h('div', { class: 'ops-head' }, h('h1', {}, m ? decodeURIComponent(m[1]) : 'Datasets')), body);
  if (!ops.has('timestore.datasets')) {
    put(body, h('p', { class: 'empty', id: 'datasets-none' }, NONE));
    return;
  }
  let r;
  try {
    // a dataset's own GET lists every partition and manifest (megabytes at
    // thousands); the list's entry has what the page shows
    r = await call('GET', '/datasets');
    if (m) {
      const slug = decodeURIComponent(m[1]);
      r = (r.datasets || []).find((d) => d.slug === slug);
      if (!r) throw Object.assign(new Error(`dataset '${slug}': not found`), { status: 404 });
    }
  } catch (e) {
    if (!ctx.alive()) return;
    put(body, h('p', { class: 'empty', id: 'datasets-none' },
      e.status === 404 ? (m ? 'No such dataset:' : NONE) : 'The timestore did not answer:'), errorBox(e, 'GET /datasets'));
    return;
  }
  if (!ctx.alive()) return;
  if (m) return dataset(ctx, body, r);
  const list = r.datasets || [];
  put(body, list.length ? h('table', { class: 'grid', id: 'datasets-table' },
    h('thead', {}, h('tr', {}, ['Dataset', 'Rows', 'Size', 'Partitions', 'From', 'To'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((d) => h('tr', { 'data-dataset': d.slug },
      h('td', {}, h('a', { href: `/datasets/${enc(d.slug)}`, 'data-link': '' }, d.slug)),
      h('td', {}, d.rows ?? ''), h('td', {}, bytes(d.bytes)), h('td', {}, d.partitions ?? ''),
      h('td', {}, d.start ? timeEl(d.start) : ''), h('td', {}, d.end ? timeEl(d.end) : '')))))
    : h('p', { class: 'empty' }, 'No dataset yet.'));
}

// A dataset: what it is, then the chart or table of the range the URL asks for.
function dataset(ctx, body, d) {
  const q = ctx.url.searchParams;
  const numeric = d.fields.filter((f) => f.type === 'double' || f.type === 'integer').map((f) => f.name);
  const end = d.end ? Date.parse(d.end) + 1000 : Date.now();
  const span = (PRESETS.find((p) => p[0] === q.get('last')) || PRESETS[1])[1];
  const from = q.get('from') || new Date(end - span).toISOString().replace('.000', '');
  const to = q.get('to') || new Date(end).toISOString().replace('.000', '');
  const cols = (q.get('cols') || numeric.slice(0, 2).join(',')).split(',').filter((c) => numeric.includes(c));
  const mode = q.get('view') === 'table' ? 'table' : 'chart';
  const go = (change) => {
    const u = new URL(ctx.url);
    for (const [k, v] of Object.entries(change)) if (v == null) u.searchParams.delete(k); else u.searchParams.set(k, v);
    navigate(u.pathname + u.search);
  };

  const info = h('dl', { class: 'kv', id: 'dataset-info' },
    h('dt', {}, 'Rows'), h('dd', {}, String(d.rows ?? 0)),
    h('dt', {}, 'Size'), h('dd', {}, bytes(d.bytes)),
    h('dt', {}, 'Partitions'), h('dd', { id: 'dataset-partitions' }, String(d.partitions ?? 0)),
    h('dt', {}, 'Range'), h('dd', {}, d.start ? `${d.start} .. ${d.end}` : 'empty'),
    h('dt', {}, 'Schema'), h('dd', { id: 'dataset-schema' }, `version ${d.schemaVersion}: `,
      d.fields.map((f) => h('code', { 'data-field': f.name }, `${f.name} ${f.type}`)).flatMap((c, i) => (i ? [', ', c] : [c]))));
  const presets = h('div', { class: 'presets', role: 'group', 'aria-label': 'Range' },
    PRESETS.map(([name, ms]) => h('button', {
      type: 'button', class: 'button', 'data-last': name,
      onclick: () => go({ last: name, from: null, to: null }),
    }, `last ${name}`)));
  const fromIn = h('input', { id: 'ds-from', value: from, 'aria-label': 'From (RFC 3339)', size: 22 });
  const toIn = h('input', { id: 'ds-to', value: to, 'aria-label': 'To (RFC 3339)', size: 22 });
  const range = h('form', { class: 'range', onsubmit: (e) => { e.preventDefault(); go({ from: fromIn.value, to: toIn.value, last: null }); } },
    fromIn, ' to ', toIn, h('button', { class: 'button', type: 'submit' }, 'Show'));
  const picks = h('fieldset', { class: 'columns', id: 'ds-columns' }, h('legend', {}, 'Columns'),
    numeric.map((c) => h('label', {}, h('input', {
      type: 'checkbox', value: c, checked: cols.includes(c),
      onchange: () => go({ cols: [...picks.querySelectorAll('input:checked')].map((i) => i.value).join(',') || null }),
    }), ` ${c}`)));
  const views = h('div', { class: 'views', role: 'group', 'aria-label': 'View' },
    h('button', { type: 'button', class: 'button', id: 'ds-view-chart', 'aria-pressed': String(mode === 'chart'), onclick: () => go({ view: null }) }, 'Chart'),
    h('button', { type: 'button', class: 'button', id: 'ds-view-table', 'aria-pressed': String(mode === 'table'), onclick: () => go({ view: 'table' }) }, 'Table'));
  const out = h('div', { id: 'ds-out' }, h('p', { class: 'muted' }, 'Loading…'));
  put(body, info, h('div', { class: 'ds-controls' }, presets, range, picks, views), out);
  if (!cols.length) {
    put(out, h('p', { class: 'empty' }, numeric.length ? 'Pick a column to chart.' : 'This dataset has no number column to chart.'));
    return;
  }
  return show(ctx, out, d, { from, to, cols, mode });
}

async function show(ctx, out, d, { from, to, cols, mode }) {
  const spanMs = Date.parse(to) - Date.parse(from);
  if (!(spanMs > 0)) {
    put(out, h('p', { class: 'empty' }, 'The range ends before it starts.'));
    return;
  }
  const [unit, size] = stepFor(spanMs, WIDTH - 2 * PAD);
  const req = {
    timeRange: { start: from, end: to },
    downsample: { intervalUnit: unit, intervalSize: size, aggregations: cols.map((c) => ({ fn: 'avg', column: c, alias: c })) },
  };
  let r;
  try {
    r = await call('POST', `/datasets/${enc(d.slug)}/query`, req);
  } catch (e) {
    if (!ctx.alive()) return;
    put(out, errorBox(e, 'POST /datasets/:slug/query'));
    return;
  }
  if (!ctx.alive()) return;
  const csv = csvOf(r.columns, r.rows);
  const link = h('a', {
    class: 'button', id: 'ds-csv', download: `${d.slug}.csv`,
    href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })),
  }, 'Download CSV');
  const note = h('p', { class: 'muted', id: 'ds-note' },
    `${r.rows.length} points, the average of each ${size} ${unit}${size > 1 ? 's' : ''}, `, link);
  if (!r.rows.length) {
    put(out, h('p', { class: 'empty', id: 'ds-empty' }, 'No rows in this range.'));
    return;
  }
  put(out, note, mode === 'table' ? table(r) : chart(r, cols, Date.parse(from), Date.parse(to)));
}

function table(r) {
  return h('table', { class: 'grid', id: 'ds-table' },
    h('thead', {}, h('tr', {}, r.columns.map((c) => h('th', { scope: 'col' }, c.name)))),
    h('tbody', {}, r.rows.map((row) => h('tr', {}, r.columns.map((c) => h('td', {}, row[c.name] == null ? '' : String(row[c.name])))))));
}

// The chart: a polyline a column over time; a crosshair shows the values of
// the point nearest the pointer, or moved with the arrow keys.
function chart(r, cols, t0, t1) {
  const tcol = r.columns[0].name;
  const xs = r.rows.map((row) => Date.parse(row[tcol]));
  const vals = cols.flatMap((c) => r.rows.map((row) => row[c]).filter((v) => v != null));
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (lo === hi) { lo -= 1; hi += 1; }
  const x = (t) => PAD + (t - t0) / (t1 - t0) * (WIDTH - 2 * PAD);
  const y = (v) => HEIGHT - PAD - (v - lo) / (hi - lo) * (HEIGHT - 2 * PAD);
  const lines = cols.map((c, i) => s('polyline', {
    class: 'series', 'data-column': c, fill: 'none', stroke: COLOURS[i % COLOURS.length], 'stroke-width': 1.5,
    points: r.rows.map((row, k) => (row[c] == null ? null : `${x(xs[k]).toFixed(1)},${y(row[c]).toFixed(1)}`)).filter(Boolean).join(' '),
  }));
  const cross = s('line', { id: 'ds-cross', y1: PAD / 2, y2: HEIGHT - PAD, stroke: 'currentColor', 'stroke-dasharray': '3 3', visibility: 'hidden' });
  const readout = h('p', { id: 'ds-readout', class: 'readout', 'aria-live': 'polite' }, 'Point at the chart, or focus it and use the arrow keys.');
  const svg = s('svg', {
    id: 'ds-chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, tabindex: 0, role: 'img',
    'aria-label': `${cols.join(', ')} over time`, 'data-points': r.rows.length,
  },
  s('text', { x: 4, y: y(hi) + 4, class: 'axis' }, String(+hi.toPrecision(6))),
  s('text', { x: 4, y: y(lo) + 4, class: 'axis' }, String(+lo.toPrecision(6))),
  s('text', { x: PAD, y: HEIGHT - 8, class: 'axis' }, new Date(t0).toISOString().replace('.000Z', 'Z')),
  s('text', { x: WIDTH - PAD, y: HEIGHT - 8, class: 'axis', 'text-anchor': 'end' }, new Date(t1).toISOString().replace('.000Z', 'Z')),
  s('line', { x1: PAD, x2: WIDTH - PAD, y1: HEIGHT - PAD, y2: HEIGHT - PAD, stroke: 'currentColor', 'stroke-opacity': 0.3 }),
  ...lines, cross);
  let at = -1;
  const point = (k) => {
    at = Math.max(0, Math.min(r.rows.length - 1, k));
    const row = r.rows[at];
    cross.setAttribute('x1', x(xs[at]));
    cross.setAttribute('x2', x(xs[at]));
    cross.setAttribute('visibility', 'visible');
    svg.dataset.at = at;
    put(readout, h('span', { class: 'when' }, row[tcol]),
      ...cols.map((c, i) => h('span', { class: `value c${i % COLOURS.length}`, 'data-column': c },
        ` ${c} ${row[c] == null ? '–' : +Number(row[c]).toPrecision(8)}`)));
  };
  const nearest = (t) => {
    let best = 0;
    for (let k = 1; k < xs.length; k++) if (Math.abs(xs[k] - t) < Math.abs(xs[best] - t)) best = k;
    return best;
  };
  svg.addEventListener('pointermove', (e) => {
    const box = svg.getBoundingClientRect();
    const px = (e.clientX - box.left) * WIDTH / box.width;
    point(nearest(t0 + (px - PAD) / (WIDTH - 2 * PAD) * (t1 - t0)));
  });
  svg.addEventListener('keydown', (e) => {
    const step = { ArrowRight: 1, ArrowLeft: -1, PageDown: 10, PageUp: -10 }[e.key];
    if (e.key === 'Home') point(0);
    else if (e.key === 'End') point(r.rows.length - 1);
    else if (step) point(at < 0 ? 0 : at + step);
    else return;
    e.preventDefault();
  });
  const legend = h('p', { class: 'legend' }, cols.map((c, i) => h('span', { class: `c${i % COLOURS.length}` }, `■ ${c} `)));
  return h('div', { class: 'ds-chart' }, legend, svg, readout);
}

