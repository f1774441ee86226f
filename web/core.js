// What every part of the page shares: building elements, time, toasts, the
// API with its token, the operations of this serve, the event stream.
// Plain ES module, no dependencies.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const TOKEN_KEY = 'apphub.token';

// ------------------------------------------------------------------ helpers

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// The same for SVG elements.
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces el's children, leaving out null, undefined and false.
export function put(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
  return el;
}

export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

export function timeAgo(iso) {
  if (!iso) return '';
  const d = new Date(iso), s = (Date.now() - d.getTime()) / 1000;
  if (!isFinite(s)) return iso;
  if (s < -45) return `in ${timeIn(-s)}`;
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.round(s / 86400)} d ago`;
  return d.toISOString().slice(0, 10);
}

function timeIn(s) {
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function timeEl(iso) {
  return iso ? h('time', { datetime: iso, title: iso }, timeAgo(iso)) : '';
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

let toastTimer;
export function toast(msg) {
  const t = $('#toast');
  t.textContent = msg;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 3500);
}

export function isWebUrl(u) { return /^https?:\/\//i.test(u || ''); }

export function badge(status) {
  return h('span', { class: 'badge', 'data-status': status || 'unknown', 'data-role': 'status' }, status || 'unknown');
}

export function json(v) {
  return h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(v, null, 2));
}

// An error said plainly, with what the hub answered.
export function errorBox(e, what = '') {
  const why = e.status === 401 ? 'This hub needs a token for this.'
    : e.status === 403 ? 'The token was refused for this.'
      : e.status === 409 ? 'Conflict.' : '';
  return h('div', { class: 'error-box', role: 'alert', 'data-status': e.status || '' },
    h('strong', {}, `${what ? `${what}: ` : ''}${e.status ? `${e.status} ` : ''}${e.code || 'error'}`),
    why ? h('p', {}, why) : null,
    h('p', {}, e.message));
}

// ---------------------------------------------------------------------- API

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// auth: send the token on a read too (the operator pages' routes need scopes).
export async function api(method, path, body, { auth = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const t = token();
  if (t && (method !== 'GET' || auth)) headers.Authorization = `Bearer ${t}`;
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    throw new ApiError(res.status, data?.error?.code || 'http',
      data?.error?.message || `${method} ${path}: ${res.status} ${res.statusText}`);
  }
  return data;
}

// An operator page's call: the token sent, asked for when refused.
export function call(method, path, body) {
  return withToken(() => api(method, path, body, { auth: true }));
}

// The routes this serve has, from /openapi.json: operationId -> {method, path}.
export const ops = new Map();
let opsLoading = null;
export function loadOps() {
  opsLoading ||= (async () => {
    try {
      const doc = await api('GET', '/openapi.json');
      for (const [path, item] of Object.entries(doc.paths || {}))
        for (const [method, op] of Object.entries(item))
          if (op && op.operationId) ops.set(op.operationId, { method: method.toUpperCase(), path });
    } catch { /* an older serve: only the catalogue */ }
    return ops;
  })();
  return opsLoading;
}

// The first operation that exists among names, or one whose method and path
// match the pattern; null when the serve has none.
export function findOp(names, pattern) {
  for (const n of names) if (ops.has(n)) return ops.get(n);
  if (pattern) for (const op of ops.values()) if (pattern.test(`${op.method} ${op.path}`)) return op;
  return null;
}

// ------------------------------------------------------------------- tokens

// Runs fn; on 401 or 403 asks for a token (once per refusal) and runs it again.
export async function withToken(fn) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ApiError) || (e.status !== 401 && e.status !== 403) || i >= 3) throw e;
      const ok = await askToken(e);
      if (!ok) throw e;
    }
  }
}

// The token is kept for this tab's session only (sessionStorage).
export function askToken(err) {
  const dlg = $('#token'), form = $('#token-form'), input = $('#f-token'), msg = $('#e-token');
  const had = token();
  const scope = /scope '([^']+)'/.exec(err.message)?.[1] || 'apps:write';
  $('#token-why').textContent = err.status === 403 && had
    ? `The saved token was refused: ${err.message}. Paste a token with the ${scope} scope.`
    : `This needs a token with the ${scope} scope. It is kept for this browser session only and sent as a bearer token.`;
  input.value = '';
  msg.hidden = true;
  input.removeAttribute('aria-invalid');
  return new Promise((resolve) => {
    const done = (v) => { form.removeEventListener('submit', onSubmit); dlg.removeEventListener('close', onClose); resolve(v); };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (!v) {
        msg.textContent = 'Paste a token first.';
        msg.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, v);
      dlg.close('saved');
    };
    const onClose = () => done(dlg.returnValue === 'saved');
    form.addEventListener('submit', onSubmit);
    dlg.addEventListener('close', onClose);
    dlg.returnValue = '';
    dlg.showModal();
    input.focus();
  });
}

// ------------------------------------------------------------------- events

// Every event of the stream app.js follows goes to these listeners.
const listeners = new Set();
export function onEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function emit(e) { for (const fn of listeners) { try { fn(e); } catch (err) { console.error(err); } } }

// The types the operator pages follow (the stream names each event's type).
export const OPS_EVENTS = [
  'job.bundle.published', 'job.bundle.removed',
  'job.run.queued', 'job.run.running', 'job.run.succeeded', 'job.run.failed', 'job.run.canceled',
  'workflow.created', 'workflow.updated', 'workflow.removed', 'workflow.schedule.added',
  'workflow.run.pending', 'workflow.run.running', 'workflow.run.succeeded', 'workflow.run.failed',
  'workflow.run.canceled',
  'workflow.step.running', 'workflow.step.succeeded', 'workflow.step.failed', 'workflow.step.retrying',
  'workflow.step.skipped',
  'asset.produced', 'asset.expired',
  'metastore.record.created', 'metastore.record.updated', 'metastore.record.deleted',
  'metastore.record.purged', 'metastore.record.restored',
  'timestore.partition.created', 'timestore.partition.removed',
];

// The page's own paths.
export function navigate(url) {
  history.pushState(null, '', url);
  window.dispatchEvent(new Event('apphub:route'));
}

export const enc = encodeURIComponent;
