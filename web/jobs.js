// Jobs: the published jobs with their versions, signers and checksums; a
// job's runs, live; a run's parameters, result, outputs and log (followed
// while it runs); Run from a form made of the job's parametersSchema.
import {
  h, put, enc, call, token, badge, json, timeEl, duration, toast, errorBox, onEvent, debounce,
  navigate,
} from './core.js';
import { formDialog } from './forms.js';

const FINAL = new Set(['succeeded', 'failed', 'canceled']);

export function render(ctx) {
  const p = ctx.url.pathname;
  let m;
  if ((m = /^\/job-runs\/([^/]+)\/?$/.exec(p))) return showRun(ctx, decodeURIComponent(m[1]));
  if ((m = /^\/jobs\/([^/]+)\/?$/.exec(p))) return showJob(ctx, decodeURIComponent(m[1]));
  return showJobs(ctx);
}

function crumbs(...parts) {
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' },
    parts.map((x, i) => [i ? ' / ' : '', x]));
}

const link = (href, text, attrs = {}) => h('a', { href, 'data-link': '', ...attrs }, text);
const short = (sum) => (sum ? h('code', { title: sum }, sum.slice(0, 12)) : '—');

function signer(s) {
  if (!s) return h('span', { class: 'muted' }, 'unsigned');
  if (typeof s === 'string') return h('code', { title: s }, s.length > 24 ? `${s.slice(0, 24)}…` : s);
  return h('code', { title: JSON.stringify(s) }, s.name || s.keyId || s.fingerprint || JSON.stringify(s).slice(0, 24));
}

// ---------------------------------------------------------------- the list

async function showJobs(ctx) {
  const { view } = ctx;
  const body = h('div', { id: 'jobs-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const runs = h('div', { id: 'runs-body' });
  put(view, h('div', { class: 'ops-head' }, h('h1', {}, 'Jobs')),
    h('section', { class: 'panel', 'aria-labelledby': 'jobs-h' }, h('h2', { id: 'jobs-h' }, 'Published jobs'), body),
    h('section', { class: 'panel', 'aria-labelledby': 'runs-h' }, h('h2', { id: 'runs-h' }, 'Recent runs'), runs));
  let r;
  try { r = await call('GET', '/jobs'); } catch (e) { if (ctx.alive()) put(body, errorBox(e, 'Cannot list the jobs')); return; }
  if (!ctx.alive()) return;
  const jobs = r.data || [];
  put(body, jobs.length ? h('table', { class: 'grid', id: 'jobs-table' },
    h('thead', {}, h('tr', {}, ['Job', 'Default version', 'Versions', 'Signer', 'Checksum', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, jobs.map((j) => {
      const v = (j.versions || []).find((x) => x.version === j.defaultVersion) || j.versions?.[0] || {};
      return h('tr', { 'data-job': j.slug },
        h('td', {}, link(`/jobs/${enc(j.slug)}`, j.slug), j.name && j.name !== j.slug ? h('div', { class: 'muted small' }, j.name) : null),
        h('td', {}, h('code', {}, j.defaultVersion || '—')),
        h('td', {}, (j.versions || []).map((x) => x.version).join(', ')),
        h('td', {}, signer(v.signer)),
        h('td', {}, short(v.checksum)),
        h('td', {}, timeEl(j.updatedAt)));
    }))) : h('p', { class: 'empty' }, 'No job is published yet. Publish one with apphub jobs publish DIR.'));
  const load = () => runList(ctx, runs, '/job-runs?limit=25', true);
  load();
  const soon = debounce(load, 200);
  ctx.onLeave(onEvent((e) => { if (ctx.alive() && e.type.startsWith('job.run.')) soon(); }));
}

// The runs at path, as a table; live through the caller's events.
async function runList(ctx, el, path, withJob) {
  let r;
  try { r = await call('GET', path); } catch (e) { if (ctx.alive()) put(el, errorBox(e, 'Cannot list the runs')); return; }
  if (!ctx.alive()) return;
  const runs = r.data || [];
  if (!runs.length) { put(el, h('p', { class: 'muted' }, 'No run yet.')); return; }
  put(el, h('table', { class: 'grid runs' },
    h('thead', {}, h('tr', {}, ['Run', withJob ? 'Job' : null, 'Version', 'Status', 'Trigger', 'Started', 'Took'].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, runs.map((x) => h('tr', { 'data-run': x.id },
      h('td', {}, link(`/job-runs/${enc(x.id)}`, x.id, { class: 'mono' })),
      withJob ? h('td', {}, link(`/jobs/${enc(x.jobSlug)}`, x.jobSlug)) : null,
      h('td', {}, h('code', {}, x.version)),
      h('td', {}, badge(x.status)),
      h('td', {}, x.trigger?.type || ''),
      h('td', {}, timeEl(x.startedAt || x.createdAt)),
      h('td', {}, duration(x.durationMs)))))),
  r.total > runs.length ? h('p', { class: 'muted small' }, `${runs.length} of ${r.total} runs`) : null);
}

// ------------------------------------------------------------------ a job

async function showJob(ctx, slug) {
  const { view } = ctx;
  put(view, h('p', { class: 'muted' }, 'Loading…'));
  let job;
  try { job = await call('GET', `/jobs/${enc(slug)}`); } catch (e) {
    if (ctx.alive()) put(view, crumbs(link('/jobs', 'Jobs'), slug), errorBox(e, e.status === 404 ? 'No such job' : 'Cannot load this job'));
    return;
  }
  if (!ctx.alive()) return;
  document.title = `${job.slug} · Jobs · apphub`;
  const runs = h('div', { id: 'runs-body' }, h('p', { class: 'muted' }, 'Loading…'));
  put(view, 
    crumbs(link('/jobs', 'Jobs'), job.slug),
    h('div', { class: 'ops-head' },
      h('h1', { id: 'job-name' }, job.name || job.slug),
      h('div', { class: 'app-actions' },
        h('button', { type: 'button', class: 'button primary', id: 'run-open', onclick: () => openRun(ctx, job) }, 'Run…'))),
    job.description ? h('p', { class: 'app-desc' }, job.description) : null,
    h('section', { class: 'panel', 'aria-labelledby': 'versions-h' }, h('h2', { id: 'versions-h' }, 'Versions'),
      h('table', { class: 'grid', id: 'versions' },
        h('thead', {}, h('tr', {}, ['Version', 'Checksum (SHA-256)', 'Signer', 'Size', 'Published'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, (job.versions || []).map((v) => h('tr', { 'data-version': v.version },
          h('td', {}, h('code', {}, v.version), v.version === job.defaultVersion ? h('span', { class: 'pill' }, 'default') : null),
          h('td', {}, short(v.checksum)),
          h('td', {}, signer(v.signer)),
          h('td', {}, v.size != null ? `${v.size} B` : ''),
          h('td', {}, timeEl(v.createdAt))))))),
    h('section', { class: 'panel', 'aria-labelledby': 'runs-h' }, h('h2', { id: 'runs-h' }, 'Runs'), runs));
  const load = () => runList(ctx, runs, `/jobs/${enc(job.slug)}/runs?limit=50`, false);
  load();
  const soon = debounce(load, 150);
  ctx.onLeave(onEvent((e) => { if (ctx.alive() && e.type.startsWith('job.run.') && e.subject === job.slug) soon(); }));
}

// Run: pick a version, fill its parametersSchema's form, queue the run, open it.
async function openRun(ctx, job) {
  const manifests = new Map([[job.version, job.manifest]]);
  const versions = (job.versions || []).map((v) => v.version);
  let version = job.defaultVersion || job.version;
  const sel = h('select', { id: 'run-version', name: 'version' }, versions.map((v) => h('option', { value: v, selected: v === version }, v)));
  const open = async (v) => {
    if (!manifests.has(v)) {
      try { manifests.set(v, (await call('GET', `/jobs/${enc(job.slug)}@${enc(v)}`)).manifest); } catch (e) { toast(e.message); return; }
    }
    const m = manifests.get(v) || {};
    const extra = { el: h('div', { class: 'field' }, h('label', { for: 'run-version' }, 'Version'), sel), read: () => sel.value };
    const dlg = formDialog({
      title: `Run ${job.slug}`,
      intro: m.parametersSchema ? 'Parameters, checked against the job\u2019s schema before they are sent.' : 'This version has no parameters schema: any JSON object.',
      schema: m.parametersSchema || null,
      extra,
      submit: async (parameters, ver) => {
        const r = await call('POST', `/jobs/${enc(`${job.slug}@${ver}`)}/run`, { parameters });
        toast(`Queued ${r.id}`);
        if (ctx.alive()) navigate(`/job-runs/${enc(r.id)}`);
      },
    });
    dlg.id = 'run-dialog';
    sel.onchange = () => { dlg.close(); version = sel.value; open(version); };
  };
  open(version);
}

// ------------------------------------------------------------------ a run

async function showRun(ctx, id) {
  const { view } = ctx;
  put(view, h('p', { class: 'muted' }, 'Loading…'));
  const log = h('pre', { class: 'log-view', id: 'run-log', tabindex: '0', 'aria-live': 'off' });
  let logOffset = 0, following = false;
  const followLog = async () => {
    if (following) return;
    following = true;
    try {
      for (;;) {
        const r = await call('GET', `/job-runs/${enc(id)}/logs?offset=${logOffset}`);
        if (!ctx.alive()) return;
        if (r.data) {
          const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
          log.append(r.data);
          if (atEnd) log.scrollTop = log.scrollHeight;
        }
        logOffset = r.nextOffset ?? logOffset;
        log.dataset.status = r.status;
        if (FINAL.has(r.status) && logOffset >= (r.size ?? 0)) return;
        await new Promise((res) => setTimeout(res, r.data ? 200 : 700));
        if (!ctx.alive()) return;
      }
    } catch (e) {
      if (ctx.alive()) log.after(errorBox(e, 'Cannot read the log'));
    } finally {
      following = false;
    }
  };
  const draw = async (first) => {
    let run;
    try { run = await call('GET', `/job-runs/${enc(id)}`); } catch (e) {
      if (ctx.alive() && first) put(view, crumbs(link('/jobs', 'Jobs'), id), errorBox(e, e.status === 404 ? 'No such run' : 'Cannot load this run'));
      return;
    }
    if (!ctx.alive()) return;
    document.title = `${run.id} · ${run.jobSlug} · apphub`;
    const live = !FINAL.has(run.status);
    const files = (run.outputs || []).filter((o) => o.type === 'file');
    const cancel = live ? h('button', {
      type: 'button', class: 'button danger', id: 'run-cancel', onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try {
          await call('POST', `/job-runs/${enc(run.id)}/cancel`, {});
          toast('Canceling');
          draw();
        } catch (e) {
          // Said where it was asked, and kept there (a 401 or 403 too).
          ev.target.disabled = false;
          ev.target.closest('.ops-head').after(errorBox(e, 'Cancel refused'));
        }
      },
    }, 'Cancel') : null;
    put(view, 
      crumbs(link('/jobs', 'Jobs'), link(`/jobs/${enc(run.jobSlug)}`, run.jobSlug), run.id),
      h('div', { class: 'ops-head' },
        h('h1', { id: 'run-id', class: 'mono' }, run.id), h('span', { id: 'run-status' }, badge(run.status)),
        h('div', { class: 'app-actions' }, cancel)),
      h('dl', { class: 'facts wide' },
        h('dt', {}, 'Job'), h('dd', {}, link(`/jobs/${enc(run.jobSlug)}`, `${run.jobSlug}@${run.version}`)),
        h('dt', {}, 'Attempt'), h('dd', {}, String(run.attempt ?? '')),
        h('dt', {}, 'Trigger'), h('dd', {}, run.trigger?.type || ''),
        h('dt', {}, 'Queued'), h('dd', {}, timeEl(run.createdAt)),
        h('dt', {}, 'Started'), h('dd', {}, run.startedAt ? timeEl(run.startedAt) : '—'),
        h('dt', {}, 'Took'), h('dd', {}, run.durationMs != null ? duration(run.durationMs) : live ? 'running…' : '—')),
      run.errorMessage ? h('p', { class: 'err-text', id: 'run-error' }, run.errorMessage) : null,
      h('div', { class: 'two' },
        h('section', { class: 'panel', 'aria-labelledby': 'params-h' }, h('h2', { id: 'params-h' }, 'Parameters'),
          h('div', { id: 'run-params' }, json(run.parameters ?? {}))),
        h('section', { class: 'panel', 'aria-labelledby': 'result-h' }, h('h2', { id: 'result-h' }, 'Result'),
          h('div', { id: 'run-result' }, run.result !== null && run.result !== undefined ? json(run.result)
            : h('p', { class: 'muted' }, live ? 'Not yet: the run has not ended.' : 'No result.')))),
      h('section', { class: 'panel', 'aria-labelledby': 'outputs-h' }, h('h2', { id: 'outputs-h' }, 'Outputs'),
        files.length ? h('ul', { class: 'files', id: 'run-files' }, files.map((f) => h('li', {},
          downloadLink(`/job-runs/${enc(run.id)}/file?name=${enc(f.name)}`, f.name),
          h('span', { class: 'muted small' }, ` ${f.size} B`))))
          : h('p', { class: 'muted' }, live ? 'Files appear when the run ends.' : 'No file was left in the work directory.'),
        Object.keys(run.metrics || {}).length ? [h('h3', {}, 'Metrics'), json(run.metrics)] : null),
      h('section', { class: 'panel', 'aria-labelledby': 'log-h' }, h('h2', { id: 'log-h' }, 'Log',
        live ? h('span', { class: 'pill live' }, 'following') : null), log));
    followLog();
  };
  await draw(true);
  const soon = debounce(() => draw(), 150);
  ctx.onLeave(onEvent((e) => { if (ctx.alive() && e.type.startsWith('job.run.') && e.data?.runId === id) soon(); }));
}

// A download that carries the token when there is one (a plain link cannot).
function downloadLink(href, name) {
  return h('a', {
    href, download: name, 'data-file': name, onclick: async (ev) => {
      if (!token()) return;
      ev.preventDefault();
      try {
        const res = await fetch(href, { headers: { Authorization: `Bearer ${token()}` } });
        if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
        const url = URL.createObjectURL(await res.blob());
        const a = h('a', { href: url, download: name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) { toast(`Download failed: ${e.message}`); }
    },
  }, name);
}

