// Records (the metastore): namespaces with their counts; search with the q
// shorthand, its field names suggested as they are typed; a record's JSON,
// its versions and audit trail with a diff between two versions; editing
// with expectedVersion, a version conflict (409) said plainly.
import {
  h, put, enc, call, badge, json, timeEl, toast, errorBox, onEvent, debounce,
} from './core.js';

const COLUMNS = ['key', 'owner', 'tags', 'version', 'createdAt', 'updatedAt', 'createdBy', 'updatedBy', 'schemaHash', 'deletedAt'];
const OPS = [':', '=', '!=', '>=', '<=', '>', '<'];
const link = (href, text, attrs = {}) => h('a', { href, 'data-link': '', ...attrs }, text);

function crumbs(...parts) {
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, parts.map((x, i) => [i ? ' / ' : '', x]));
}

export function render(ctx) {
  const parts = ctx.url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  if (parts.length >= 2) return showRecord(ctx, parts[0], parts[1]);
  if (parts.length === 1) return showNamespace(ctx, parts[0]);
  return showNamespaces(ctx);
}

function live(ctx, test, fn, ms = 200) {
  const soon = debounce(fn, ms);
  ctx.onLeave(onEvent((e) => { if (ctx.alive() && test(e)) soon(); }));
}

// ----------------------------------------------------------- namespaces

async function showNamespaces(ctx) {
  const body = h('div', { id: 'namespaces-body' }, h('p', { class: 'muted' }, 'Loading…'));
  put(ctx.view, h('div', { class: 'ops-head' }, h('h1', {}, 'Records')),
    h('section', { class: 'panel', 'aria-labelledby': 'ns-h' }, h('h2', { id: 'ns-h' }, 'Namespaces'), body));
  const load = async () => {
    let r;
    try { r = await call('GET', '/namespaces'); } catch (e) { if (ctx.alive()) put(body, errorBox(e, 'Cannot list the namespaces')); return; }
    if (!ctx.alive()) return;
    const list = r.namespaces || r.data || [];
    put(body, list.length ? h('table', { class: 'grid', id: 'namespaces' },
      h('thead', {}, h('tr', {}, ['Namespace', 'Records', 'Deleted', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((n) => h('tr', { 'data-namespace': n.namespace },
        h('td', {}, link(`/records/${enc(n.namespace)}`, n.namespace)),
        h('td', { 'data-role': 'count' }, String(n.records)),
        h('td', {}, String(n.deleted ?? 0)),
        h('td', {}, timeEl(n.updatedAt))))))
      : h('p', { class: 'empty' }, 'No record yet. Create one with apphub metastore create NS KEY.'));
  };
  load();
  live(ctx, (e) => e.type.startsWith('metastore.record.'), load, 400);
}

// ------------------------------------------------------------- a search

// Field paths of a record's metadata, dotted, up to a depth; values seen.
function collect(records) {
  const fields = new Map();
  const walk = (v, path, depth) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && depth < 4) {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k, depth + 1);
      return;
    }
    if (!path) return;
    const name = COLUMNS.includes(path.split('.')[0]) ? `metadata.${path}` : path;
    if (!fields.has(name)) fields.set(name, new Map());
    const seen = fields.get(name);
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x === null || typeof x === 'object') continue;
      seen.set(String(x), (seen.get(String(x)) || 0) + 1);
    }
  };
  for (const r of records) {
    walk(r.metadata, '', 0);
    for (const [c, v] of [['key', r.key], ['owner', r.owner], ['tags', r.tags], ['version', r.version]]) {
      if (!fields.has(c)) fields.set(c, new Map());
      for (const x of Array.isArray(v) ? v : [v]) if (x !== null && x !== undefined) fields.get(c).set(String(x), (fields.get(c).get(String(x)) || 0) + 1);
    }
  }
  for (const c of COLUMNS) if (!fields.has(c)) fields.set(c, new Map());
  return fields;
}

function quote(v) {
  return /^[^\s"]+$/.test(v) && !/^(null|true|false|-?\d+(\.\d+)?)$/.test(v) ? v : /^(-?\d+(\.\d+)?)$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

async function showNamespace(ctx, ns) {
  const q0 = ctx.url.searchParams.get('q') || '';
  const input = h('input', {
    id: 'rq', type: 'text', value: q0, 'data-slash': '', role: 'combobox', 'aria-expanded': 'false',
    'aria-controls': 'rq-list', 'aria-autocomplete': 'list', spellcheck: 'false', autocomplete: 'off',
    placeholder: 'q shorthand, e.g. status:active size>3 owner.team:"ops"', 'aria-label': `Search ${ns} with the q shorthand`,
  });
  const list = h('ul', { id: 'rq-list', class: 'suggestions', role: 'listbox', 'aria-label': 'Field suggestions', hidden: true });
  const count = h('p', { class: 'muted', id: 'records-count', 'aria-live': 'polite' });
  const results = h('div', { id: 'records-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const more = h('button', { type: 'button', class: 'button', id: 'records-more', hidden: true }, 'Show more');
  put(ctx.view, crumbs(link('/records', 'Records'), ns),
    h('div', { class: 'ops-head' }, h('h1', {}, ns)),
    h('form', { class: 'record-search', role: 'search', onsubmit: (ev) => { ev.preventDefault(); } }, input, list,
      h('p', { class: 'muted small' }, 'Terms field op value, all ANDed; ops : = != >= <= > <; press / to come back here.')),
    count, results, h('div', { class: 'more-row' }, more));
  document.title = `${ns} · Records · apphub`;

  // Suggestions: the fields of a sample of the namespace's records.
  let fields = new Map();
  call('POST', '/records/search', { namespace: ns, limit: 100 }).then((r) => { fields = collect(r.records || []); }, () => {});

  const combo = { items: [], active: -1, open: false };
  const term = () => {
    const v = input.value, end = input.selectionStart ?? v.length;
    const start = v.slice(0, end).search(/\S*$/);
    return { start, end, text: v.slice(start, end) };
  };
  const close = () => { combo.open = false; combo.active = -1; list.hidden = true; list.replaceChildren(); input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); };
  const setActive = (i) => {
    if (combo.active >= 0) list.children[combo.active]?.setAttribute('aria-selected', 'false');
    combo.active = i;
    const li = list.children[i];
    if (!li) return;
    li.setAttribute('aria-selected', 'true');
    input.setAttribute('aria-activedescendant', li.id);
  };
  const suggest = () => {
    const { text } = term();
    let items = [];
    const m = /^([A-Za-z0-9_.]+)(!=|>=|<=|[:=<>])(.*)$/.exec(text);
    if (m) {
      const seen = fields.get(m[1]);
      if (seen) {
        items = [...seen.entries()].sort((a, b) => (b[1] - a[1]) || a[0].localeCompare(b[0])).map(([v]) => v)
          .filter((v) => v.toLowerCase().startsWith(m[3].replace(/^"/, '').toLowerCase()))
          .slice(0, 8).map((v) => ({ value: `${m[1]}${m[2]}${quote(v)}`, label: v, kind: 'value' }));
      }
    } else if (text) {
      items = [...fields.keys()].filter((f) => f.toLowerCase().startsWith(text.toLowerCase()) || f.toLowerCase().includes(`.${text.toLowerCase()}`))
        .sort((a, b) => (COLUMNS.includes(a) - COLUMNS.includes(b)) || a.localeCompare(b)).slice(0, 10)
        .map((f) => ({ value: `${f}:`, label: f, kind: COLUMNS.includes(f) ? 'column' : 'field', field: true }));
    }
    combo.items = items;
    combo.active = -1;
    if (!items.length || document.activeElement !== input) { close(); return; }
    list.replaceChildren(...items.map((it, i) => h('li', {
      id: `rq-${i}`, role: 'option', 'aria-selected': 'false', 'data-value': it.value,
      onmousedown: (ev) => { ev.preventDefault(); accept(i); },
    }, h('span', {}, it.label), h('span', { class: 'kind' }, it.kind))));
    list.hidden = false;
    combo.open = true;
    input.setAttribute('aria-expanded', 'true');
  };
  const accept = (i) => {
    const it = combo.items[i];
    if (!it) return;
    const { start, end } = term();
    const v = input.value;
    const ins = it.field ? it.value : `${it.value} `;
    input.value = v.slice(0, start) + ins + v.slice(end);
    const pos = start + ins.length;
    input.setSelectionRange(pos, pos);
    close();
    if (it.field) suggest(); else run();
  };

  let offset = 0, seq = 0;
  const run = async (append = false) => {
    const q = input.value.trim();
    const url = `/records/${enc(ns)}${q ? `?q=${enc(q)}` : ''}`;
    if (!append && url !== location.pathname + location.search) history.replaceState(null, '', url);
    if (!append) offset = 0;
    const me = ++seq;
    let r;
    try {
      r = await call('POST', '/records/search', { namespace: ns, ...(q ? { q } : {}), limit: 50, offset });
    } catch (e) {
      if (ctx.alive() && me === seq) { put(results, errorBox(e, 'The search was refused')); count.textContent = ''; more.hidden = true; }
      return;
    }
    if (!ctx.alive() || me !== seq) return;
    const recs = r.records || [];
    const total = r.pagination?.total ?? recs.length;
    const rows = recs.map((x) => h('tr', { 'data-key': x.key },
      h('td', {}, link(`/records/${enc(ns)}/${enc(x.key)}`, x.key, { class: 'mono' })),
      h('td', {}, String(x.version)),
      h('td', {}, x.owner || ''),
      h('td', {}, (x.tags || []).join(', ')),
      h('td', { class: 'small mono' }, JSON.stringify(x.metadata).slice(0, 120)),
      h('td', {}, timeEl(x.updatedAt))));
    if (append && results.querySelector('tbody')) results.querySelector('tbody').append(...rows);
    else put(results, recs.length ? h('table', { class: 'grid', id: 'records' },
      h('thead', {}, h('tr', {}, ['Key', 'Version', 'Owner', 'Tags', 'Metadata', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)) : h('p', { class: 'empty' }, q ? 'No record matches.' : 'No record in this namespace.'));
    const shown = results.querySelectorAll('tbody tr').length;
    count.textContent = `${total} record${total === 1 ? '' : 's'}${q ? ` matching ${q}` : ''}`;
    more.hidden = shown >= total;
    offset = shown;
  };
  const runSoon = debounce(() => run(), 250);
  more.addEventListener('click', () => run(true));
  input.addEventListener('input', () => { suggest(); runSoon(); });
  input.addEventListener('blur', () => setTimeout(close, 0));
  input.addEventListener('keydown', (ev) => {
    switch (ev.key) {
    case 'ArrowDown': ev.preventDefault(); if (!combo.open) suggest(); else setActive((combo.active + 1) % combo.items.length); break;
    case 'ArrowUp': if (combo.open) { ev.preventDefault(); setActive(combo.active <= 0 ? combo.items.length - 1 : combo.active - 1); } break;
    case 'Tab': if (combo.open && !ev.shiftKey) { ev.preventDefault(); accept(Math.max(combo.active, 0)); } break;
    case 'Enter': ev.preventDefault(); if (combo.open && combo.active >= 0) accept(combo.active); else { close(); run(); } break;
    case 'Escape': if (combo.open) { ev.preventDefault(); close(); } break;
    default:
    }
  });
  run();
  live(ctx, (e) => e.type.startsWith('metastore.record.') && e.data?.namespace === ns, () => run(), 400);
}

// -------------------------------------------------------------- a record

// The differences between two JSON values, by path: [{op: + - ~, path, a, b}].
export function diff(a, b, path = '') {
  const out = [];
  const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in b)) out.push({ op: '-', path: p, a: a[k] });
      else if (!(k in a)) out.push({ op: '+', path: p, b: b[k] });
      else out.push(...diff(a[k], b[k], p));
    }
    return out;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ op: '~', path: path || '(all)', a, b });
  return out;
}

function diffView(a, b) {
  const strip = (r) => (r ? { metadata: r.metadata, tags: r.tags, owner: r.owner, schemaHash: r.schemaHash, deletedAt: r.deletedAt } : {});
  const d = diff(strip(a), strip(b));
  if (!d.length) return h('p', { class: 'muted', id: 'diff' }, 'No difference.');
  const v = (x) => JSON.stringify(x);
  return h('pre', { class: 'diff', id: 'diff' }, d.map((x) => h('div', { class: x.op === '+' ? 'add' : x.op === '-' ? 'del' : 'chg', 'data-path': x.path },
    x.op === '+' ? `+ ${x.path}: ${v(x.b)}` : x.op === '-' ? `- ${x.path}: ${v(x.a)}` : `~ ${x.path}: ${v(x.a)} → ${v(x.b)}`)));
}

async function showRecord(ctx, ns, key) {
  const base = `/records/${enc(ns)}/${enc(key)}`;
  let rec = null, entries = [], editing = null;	// editing: {version, text} while the editor is open
  const head = h('div', { class: 'ops-head' });
  const facts = h('div', {});
  const body = h('div', { id: 'record-json' });
  const editor = h('section', { class: 'panel', id: 'editor', hidden: true, 'aria-labelledby': 'edit-h' });
  const audit = h('div', { id: 'audit' });
  const diffBox = h('div', { id: 'diff-box' });
  let from = null, to = null;
  put(ctx.view, crumbs(link('/records', 'Records'), link(`/records/${enc(ns)}`, ns), key), head, facts, editor,
    h('section', { class: 'panel', 'aria-labelledby': 'json-h' }, h('h2', { id: 'json-h' }, 'Record'), body),
    h('section', { class: 'panel', 'aria-labelledby': 'audit-h' }, h('h2', { id: 'audit-h' }, 'Versions and audit trail'), audit,
      h('h3', {}, 'Difference'), diffBox));
  document.title = `${key} · ${ns} · apphub`;

  const version = (n) => entries.find((e) => e.version === n && e.record)?.record;
  const drawDiff = async () => {
    if (from === null || to === null) { put(diffBox, h('p', { class: 'muted' }, 'Choose two versions.')); return; }
    const get = async (n) => version(n) || (n ? call('GET', `${base}?version=${n}&includeDeleted=true`).catch(() => null) : null);
    const [a, b] = await Promise.all([get(from), get(to)]);
    if (!ctx.alive()) return;
    put(diffBox, h('p', { class: 'muted small' }, `From version ${from || '(none)'} to version ${to}`), diffView(a, b));
  };
  const drawAudit = () => {
    if (!entries.length) { put(audit, h('p', { class: 'muted' }, 'No audit entry.')); return; }
    const radio = (name, n, checked, set) => h('input', {
      type: 'radio', name, value: String(n), checked, 'aria-label': `${name === 'from' ? 'Diff from' : 'Diff to'} version ${n}`,
      onchange: () => { set(n); drawDiff(); },
    });
    put(audit, h('table', { class: 'grid', id: 'audit-table' },
      h('thead', {}, h('tr', {}, ['From', 'To', 'Version', 'Action', 'Actor', 'When'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, entries.map((e) => h('tr', { 'data-version': e.version, 'data-action': e.action },
        h('td', {}, radio('from', e.version, e.version === from, (n) => { from = n; })),
        h('td', {}, radio('to', e.version, e.version === to, (n) => { to = n; })),
        h('td', {}, String(e.version)), h('td', {}, e.action), h('td', {}, e.actor || ''), h('td', {}, timeEl(e.createdAt)))))));
  };
  const load = async (first) => {
    try {
      [rec, entries] = await Promise.all([
        call('GET', `${base}?includeDeleted=true`),
        call('GET', `${base}/audit?limit=200`).then((r) => r.entries || []),
      ]);
    } catch (e) {
      if (ctx.alive() && first) put(ctx.view, crumbs(link('/records', 'Records'), link(`/records/${enc(ns)}`, ns), key), errorBox(e, e.status === 404 ? 'No such record' : 'Cannot load this record'));
      return;
    }
    if (!ctx.alive()) return;
    put(head, h('h1', { id: 'record-key', class: 'mono' }, key), h('span', { class: 'pill', id: 'record-version', 'data-version': rec.version }, `version ${rec.version}`),
      rec.deletedAt ? badge('deleted') : null,
      h('div', { class: 'app-actions' }, h('button', { type: 'button', class: 'button primary', id: 'edit-open', onclick: () => openEditor() }, 'Edit')));
    put(facts, h('dl', { class: 'facts wide' },
      h('dt', {}, 'Owner'), h('dd', {}, rec.owner || '—'),
      h('dt', {}, 'Tags'), h('dd', {}, (rec.tags || []).join(', ') || '—'),
      h('dt', {}, 'Updated'), h('dd', {}, timeEl(rec.updatedAt), rec.updatedBy ? ` by ${rec.updatedBy}` : ''),
      h('dt', {}, 'Created'), h('dd', {}, timeEl(rec.createdAt), rec.createdBy ? ` by ${rec.createdBy}` : '')));
    put(body, json(rec));
    // The diff follows the newest change unless two versions were chosen.
    const versions = entries.map((e) => e.version);
    if (first || (to !== null && !versions.includes(to)) || to === versions[1]) {
      to = versions[0] ?? rec.version;
      from = versions[1] ?? null;
    }
    drawAudit();
    drawDiff();
  };

  const openEditor = (text, at) => {
    editing = { version: at ?? rec.version };
    const area = h('textarea', { class: 'editor', id: 'edit-text', spellcheck: 'false', 'aria-label': 'The record as JSON: metadata, tags, owner' });
    area.value = text ?? JSON.stringify({ metadata: rec.metadata, tags: rec.tags, ...(rec.owner ? { owner: rec.owner } : {}) }, null, 2);
    const msg = h('div', { id: 'edit-msg', 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'button primary', id: 'edit-save' }, 'Save');
    put(editor, h('h2', { id: 'edit-h' }, `Edit (from version ${editing.version})`),
      h('form', {
        onsubmit: async (ev) => {
          ev.preventDefault();
          let doc;
          try { doc = JSON.parse(area.value); } catch (e) { put(msg, h('p', { class: 'error', role: 'alert' }, `Not JSON: ${e.message}`)); area.focus(); return; }
          if (!doc || typeof doc !== 'object' || Array.isArray(doc) || typeof (doc.metadata ?? {}) !== 'object') {
            put(msg, h('p', { class: 'error', role: 'alert' }, 'Must be an object with metadata (an object), and tags and owner if you want them.'));
            return;
          }
          save.disabled = true;
          try {
            const r = await call('PUT', base, { ...doc, expectedVersion: editing.version });
            toast(`Saved: version ${r.record?.version ?? ''}`);
            editing = null;
            editor.hidden = true;
            put(editor);
            await load();
          } catch (e) {
            if (e.status === 409) conflict(msg, area.value, e);
            else put(msg, errorBox(e, 'Not saved'));
          } finally {
            save.disabled = false;
          }
        },
      }, area, msg,
      h('div', { class: 'row-actions' }, save,
        h('button', { type: 'button', class: 'button', onclick: () => { editing = null; editor.hidden = true; put(editor); } }, 'Cancel'))));
    editor.hidden = false;
    area.focus();
  };

  // A version conflict: what happened, what is there now, and the ways on.
  const conflict = async (msg, text, e) => {
    let now = null;
    try { now = await call('GET', `${base}?includeDeleted=true`); } catch { /* said below anyway */ }
    if (!ctx.alive()) return;
    let mine = null;
    try { mine = JSON.parse(text); } catch { /* shown as text */ }
    const base0 = version(editing.version) || null;
    put(msg, h('div', { class: 'conflict', role: 'alert', id: 'conflict' },
      h('strong', {}, `Version conflict: not saved.`),
      h('p', {}, `You edited version ${editing.version}, but the record is at version ${now?.version ?? '?'} now`,
        now?.updatedBy ? ` (changed by ${now.updatedBy}, ${new Date(now.updatedAt).toLocaleString()})` : '', '.'),
      h('p', { class: 'small' }, `The hub said: 409 ${e.code}: ${e.message}`),
      now ? [h('p', { class: 'small' }, 'What changed meanwhile:'), diffView(base0, now)] : null,
      mine && now ? [h('p', { class: 'small' }, 'Your edit against the record now:'), diffView(now, { ...now, ...mine })] : null,
      h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'button', id: 'conflict-reload', onclick: async () => { await load(); openEditor(); } }, 'Start again from the latest'),
        now ? h('button', { type: 'button', class: 'button danger', id: 'conflict-overwrite', onclick: () => { openEditor(text, now.version); } }, `Keep my edit, based on version ${now.version}`) : null)));
    // The diff boxes inside are not the page's #diff.
    for (const d of msg.querySelectorAll('#diff')) d.removeAttribute('id');
  };

  await load(true);
  live(ctx, (e) => e.type.startsWith('metastore.record.') && e.subject === `${ns}/${key}`, () => load(), 150);
}

