// Workflows: the definitions with their schedules and next run times, the
// DAG, runs whose steps colour the DAG live with a timeline below, cancel,
// run with a parameters form, and the assets, fresh or stale.
import {
  h, put, enc, call, badge, json, timeEl, duration, toast, errorBox, onEvent, debounce, navigate,
} from './core.js';
import { formDialog } from './forms.js';
import { graph, drawDag, recolour, drawGantt } from './dag.js';

const FINAL = new Set(['succeeded', 'failed', 'canceled']);
const link = (href, text, attrs = {}) => h('a', { href, 'data-link': '', ...attrs }, text);

function crumbs(...parts) {
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, parts.map((x, i) => [i ? ' / ' : '', x]));
}

export function render(ctx) {
  const p = ctx.url.pathname;
  let m;
  if ((m = /^\/workflow-runs\/([^/]+)\/?$/.exec(p))) return showRun(ctx, decodeURIComponent(m[1]));
  if ((m = /^\/workflows\/([^/]+)\/?$/.exec(p))) return showWorkflow(ctx, decodeURIComponent(m[1]));
  return showList(ctx);
}

// A button per open fan-out, to close it again.
function closers(expanded, toggle) {
  if (!expanded.size) return null;
  return h('div', { class: 'dag-tools' }, [...expanded].map((id) => h('button', {
    type: 'button', class: 'button small', 'data-collapse': id, onclick: () => toggle(id),
  }, `Close the fan-out ${id}`)));
}

function live(ctx, test, fn, ms = 150) {
  const soon = debounce(fn, ms);
  ctx.onLeave(onEvent((e) => { if (ctx.alive() && test(e)) soon(); }));
}

// ---------------------------------------------------------------- the list

async function showList(ctx) {
  const defs = h('div', { id: 'workflows-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const runs = h('div', { id: 'runs-body' });
  const assets = h('div', { id: 'assets-body' });
  put(ctx.view, h('div', { class: 'ops-head' }, h('h1', {}, 'Workflows')),
    h('section', { class: 'panel', 'aria-labelledby': 'defs-h' }, h('h2', { id: 'defs-h' }, 'Definitions'), defs),
    h('section', { class: 'panel', 'aria-labelledby': 'runs-h' }, h('h2', { id: 'runs-h' }, 'Recent runs'), runs),
    h('section', { class: 'panel', 'aria-labelledby': 'assets-h' }, h('h2', { id: 'assets-h' }, 'Assets'), assets));
  const loadDefs = async () => {
    let r;
    try { r = await call('GET', '/workflows'); } catch (e) { if (ctx.alive()) put(defs, errorBox(e, 'Cannot list the workflows')); return; }
    if (!ctx.alive()) return;
    const list = r.data || [];
    if (!list.length) { put(defs, h('p', { class: 'empty' }, 'No workflow yet. Add one with apphub workflow add FILE.')); return; }
    // The schedules of each, for their next run times.
    const scheds = await Promise.all(list.map((w) => (w.schedules ? call('GET', `/workflows/${enc(w.slug)}/schedules`).then((x) => x.data || [], () => []) : [])));
    if (!ctx.alive()) return;
    put(defs, h('table', { class: 'grid', id: 'workflows-table' },
      h('thead', {}, h('tr', {}, ['Workflow', 'Version', 'Steps', 'Schedules', 'Next run'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((w, i) => {
        const active = scheds[i].filter((x) => !x.paused && x.nextRunAt).sort((a, b) => a.nextRunAt.localeCompare(b.nextRunAt));
        return h('tr', { 'data-workflow': w.slug },
          h('td', {}, link(`/workflows/${enc(w.slug)}`, w.slug), w.name && w.name !== w.slug ? h('div', { class: 'muted small' }, w.name) : null),
          h('td', {}, String(w.version)),
          h('td', {}, String(w.steps)),
          h('td', {}, scheds[i].length ? scheds[i].map((x) => h('div', { class: 'small' }, h('code', {}, x.cron), ` ${x.name}${x.paused ? ' (paused)' : ''}`)) : h('span', { class: 'muted' }, 'none')),
          h('td', { 'data-role': 'next' }, active.length ? [timeEl(active[0].nextRunAt), h('div', { class: 'muted small' }, active[0].nextRunAt)] : '—'));
      }))));
  };
  loadDefs();
  runList(ctx, runs, '/workflow-runs?limit=25', true);
  loadAssets(ctx, assets);
  live(ctx, (e) => /^workflow\.(created|updated|removed|schedule)/.test(e.type), loadDefs);
  live(ctx, (e) => e.type.startsWith('workflow.run.'), () => runList(ctx, runs, '/workflow-runs?limit=25', true));
  live(ctx, (e) => e.type.startsWith('asset.'), () => loadAssets(ctx, assets));
}

async function runList(ctx, el, path, withSlug) {
  let r;
  try { r = await call('GET', path); } catch (e) { if (ctx.alive()) put(el, errorBox(e, 'Cannot list the runs')); return; }
  if (!ctx.alive()) return;
  const runs = r.data || [];
  if (!runs.length) { put(el, h('p', { class: 'muted' }, 'No run yet.')); return; }
  put(el, h('table', { class: 'grid runs' },
    h('thead', {}, h('tr', {}, ['Run', withSlug ? 'Workflow' : null, 'Status', 'Steps', 'Trigger', 'Started', 'Took'].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, runs.map((x) => h('tr', { 'data-run': x.id },
      h('td', {}, link(`/workflow-runs/${enc(x.id)}`, x.id, { class: 'mono' })),
      withSlug ? h('td', {}, link(`/workflows/${enc(x.workflowSlug)}`, x.workflowSlug)) : null,
      h('td', {}, badge(x.status)),
      h('td', {}, x.metrics?.totalSteps ? `${x.metrics.completedSteps ?? 0}/${x.metrics.totalSteps}` : ''),
      h('td', {}, x.trigger?.type || ''),
      h('td', {}, timeEl(x.startedAt || x.createdAt)),
      h('td', {}, duration(x.durationMs)))))));
}

async function loadAssets(ctx, el) {
  let r;
  try { r = await call('GET', '/assets'); } catch (e) { if (ctx.alive()) put(el, errorBox(e, 'Cannot list the assets')); return; }
  if (!ctx.alive()) return;
  const list = r.data || [];
  if (!list.length) { put(el, h('p', { class: 'muted' }, 'No asset produced yet.')); return; }
  put(el, h('table', { class: 'grid', id: 'assets-table' },
    h('thead', {}, h('tr', {}, ['Asset', 'State', 'Produced by', 'Produced', 'Consumers'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((a) => h('tr', { 'data-asset': a.assetId },
      h('td', {}, h('code', {}, a.assetId)),
      h('td', {}, h('span', { class: `pill ${a.fresh ? 'fresh' : 'stale'}`, 'data-fresh': String(!!a.fresh) }, a.fresh ? 'fresh' : 'stale'),
        a.ttlMs ? h('span', { class: 'muted small' }, ` ttl ${duration(a.ttlMs)}`) : null),
      h('td', {}, link(`/workflows/${enc(a.workflowSlug)}`, a.workflowSlug), ' ', a.stepId ? h('span', { class: 'muted small' }, `step ${a.stepId}`) : null,
        a.runId ? [' · ', link(`/workflow-runs/${enc(a.runId)}`, a.runId, { class: 'mono small' })] : null),
      h('td', {}, timeEl(a.producedAt)),
      h('td', {}, (a.consumers || []).join(', ') || '—'))))));
}

// ------------------------------------------------------------- a workflow

async function showWorkflow(ctx, slug) {
  put(ctx.view, h('p', { class: 'muted' }, 'Loading…'));
  let wf, sched = [];
  try {
    [wf, sched] = await Promise.all([call('GET', `/workflows/${enc(slug)}`),
      call('GET', `/workflows/${enc(slug)}/schedules`).then((x) => x.data || [], () => [])]);
  } catch (e) {
    if (ctx.alive()) put(ctx.view, crumbs(link('/workflows', 'Workflows'), slug), errorBox(e, e.status === 404 ? 'No such workflow' : 'Cannot load this workflow'));
    return;
  }
  if (!ctx.alive()) return;
  document.title = `${wf.slug} · Workflows · apphub`;
  const def = wf.definition || {};
  const steps = def.steps || wf.steps || [];
  const expanded = new Set();
  const dag = h('div', { class: 'dag-wrap', id: 'dag' });
  const toggle = (id) => { if (expanded.has(id)) expanded.delete(id); else expanded.add(id); drawDef(); dag.querySelector(`[data-step^="${CSS.escape(id)}"]`)?.focus(); };
  const drawDef = () => put(dag, closers(expanded, toggle), drawDag(graph(steps, [], expanded), { label: `Steps of ${wf.slug}`, onToggle: toggle }));
  drawDef();
  const runs = h('div', { id: 'runs-body' }, h('p', { class: 'muted' }, 'Loading…'));
  put(ctx.view,
    crumbs(link('/workflows', 'Workflows'), wf.slug),
    h('div', { class: 'ops-head' },
      h('h1', { id: 'workflow-name' }, wf.name || wf.slug), h('span', { class: 'pill' }, `version ${wf.version}`),
      h('div', { class: 'app-actions' },
        h('button', { type: 'button', class: 'button primary', id: 'run-open', onclick: () => openRun(ctx, wf, def) }, 'Run…'))),
    wf.description ? h('p', { class: 'app-desc' }, wf.description) : null,
    h('section', { class: 'panel', 'aria-labelledby': 'dag-h' }, h('h2', { id: 'dag-h' }, 'Steps'), dag),
    h('section', { class: 'panel', 'aria-labelledby': 'sched-h' }, h('h2', { id: 'sched-h' }, 'Schedules'),
      sched.length ? h('table', { class: 'grid', id: 'schedules' },
        h('thead', {}, h('tr', {}, ['Name', 'Cron', 'Time zone', 'Next run', 'State', 'Parameters'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, sched.map((x) => h('tr', { 'data-schedule': x.name },
          h('td', {}, x.name), h('td', {}, h('code', {}, x.cron)), h('td', {}, x.timezone || 'UTC'),
          h('td', {}, x.nextRunAt ? [timeEl(x.nextRunAt), h('div', { class: 'muted small' }, x.nextRunAt)] : '—'),
          h('td', {}, x.paused ? 'paused' : 'active'),
          h('td', {}, h('code', {}, JSON.stringify(x.parameters || {})))))))
        : h('p', { class: 'muted' }, 'No schedule: runs only when asked.')),
    h('section', { class: 'panel', 'aria-labelledby': 'runs-h' }, h('h2', { id: 'runs-h' }, 'Runs'), runs));
  const load = () => runList(ctx, runs, `/workflows/${enc(wf.slug)}/runs?limit=50`, false);
  load();
  live(ctx, (e) => e.type.startsWith('workflow.run.') && e.subject === wf.slug, load);
}

function openRun(ctx, wf, def) {
  formDialog({
    title: `Run ${wf.slug}`,
    intro: def.parametersSchema ? 'Parameters, checked against the workflow\u2019s schema before they are sent.' : 'This workflow has no parameters schema: any JSON object.',
    schema: def.parametersSchema || null,
    initial: def.defaultParameters || {},
    submit: async (parameters) => {
      const r = await call('POST', `/workflows/${enc(wf.slug)}/run`, { parameters });
      toast(`Queued ${r.id}`);
      if (ctx.alive()) navigate(`/workflow-runs/${enc(r.id)}`);
    },
  }).id = 'run-dialog';
}

// ------------------------------------------------------------------ a run

async function showRun(ctx, id) {
  put(ctx.view, h('p', { class: 'muted' }, 'Loading…'));
  const expanded = new Set();
  let run, steps = [], selected = null;
  const dag = h('div', { class: 'dag-wrap', id: 'dag' });
  const gantt = h('div', { id: 'gantt' });
  const detail = h('div', { id: 'step-detail' });
  const head = h('div', { class: 'ops-head' });
  const facts = h('div', {});
  const redraw = (force) => {
    const g = graph(steps, run.steps || [], expanded);
    const toggle = (sid) => {
      if (expanded.has(sid)) expanded.delete(sid); else expanded.add(sid);
      redraw(true);
      dag.querySelector(`[data-step^="${CSS.escape(sid)}"]`)?.focus();
    };
    if (force || !recolour(dag.querySelector('svg'), g)) {
      put(dag, closers(expanded, toggle), drawDag(g, {
        label: `Steps of run ${run.id}`, onToggle: toggle,
        onSelect: (n) => { selected = n.id; showStep(); },
      }));
    }
    // The timeline: a row per node of the DAG (an open fan-out's children each).
    const rows = g.nodes.map((n) => {
      if (n.group) {
        const kids = n.kids.filter((k) => k.run?.startedAt);
        return {
          id: n.id, label: n.label, status: n.status,
          startedAt: kids.length ? kids.map((k) => k.run.startedAt).sort()[0] : null,
          completedAt: kids.length && kids.every((k) => k.run.completedAt) ? kids.map((k) => k.run.completedAt).sort().at(-1) : null,
        };
      }
      return { id: n.id, label: n.label, status: n.status, startedAt: n.run?.startedAt, completedAt: n.run?.completedAt };
    });
    put(gantt, drawGantt(rows));
    showStep();
  };
  const showStep = () => {
    const r = selected && (run.steps || []).find((x) => x.stepId === selected);
    if (!r) { put(detail, h('p', { class: 'muted' }, 'Choose a step in the graph to see its result.')); return; }
    put(detail, h('h3', {}, r.stepId, ' ', badge(r.status)),
      h('p', { class: 'muted small' }, `attempt ${r.attempt ?? ''}`, r.jobRunId ? [' · job run ', link(`/job-runs/${enc(r.jobRunId)}`, r.jobRunId, { class: 'mono' })] : null),
      r.errorMessage ? h('p', { class: 'err-text' }, r.errorMessage) : null,
      r.result !== null && r.result !== undefined ? json(r.result) : null);
  };
  const draw = async (first) => {
    try {
      run = await call('GET', `/workflow-runs/${enc(id)}`);
      if (first) {
        const wf = await call('GET', `/workflows/${enc(run.workflowSlug)}?version=${run.version}`);
        steps = wf.definition?.steps || wf.steps || [];
      }
    } catch (e) {
      if (ctx.alive() && first) put(ctx.view, crumbs(link('/workflows', 'Workflows'), id), errorBox(e, e.status === 404 ? 'No such run' : 'Cannot load this run'));
      return;
    }
    if (!ctx.alive()) return;
    const ended = FINAL.has(run.status);
    put(head, h('h1', { id: 'run-id', class: 'mono' }, run.id), h('span', { id: 'run-status' }, badge(run.status)),
      h('div', { class: 'app-actions' }, ended ? null : h('button', {
        type: 'button', class: 'button danger', id: 'run-cancel', onclick: async (ev) => {
          ev.currentTarget.disabled = true;
          try { await call('POST', `/workflow-runs/${enc(run.id)}/cancel`, {}); toast('Canceling'); } catch (e) { put(facts, facts.firstChild, errorBox(e, 'Cancel refused')); }
          draw();
        },
      }, 'Cancel')));
    put(facts, h('dl', { class: 'facts wide' },
      h('dt', {}, 'Workflow'), h('dd', {}, link(`/workflows/${enc(run.workflowSlug)}`, `${run.workflowSlug} (version ${run.version})`)),
      h('dt', {}, 'Trigger'), h('dd', {}, run.trigger?.type || ''),
      h('dt', {}, 'Parameters'), h('dd', {}, JSON.stringify(run.parameters || {})),
      h('dt', {}, 'Steps'), h('dd', {}, run.metrics?.totalSteps ? `${run.metrics.completedSteps ?? 0} of ${run.metrics.totalSteps} done` : ''),
      h('dt', {}, 'Started'), h('dd', {}, run.startedAt ? timeEl(run.startedAt) : 'not yet'),
      h('dt', {}, 'Took'), h('dd', {}, run.durationMs != null ? duration(run.durationMs) : ended ? '—' : 'running…')),
    run.errorMessage ? h('p', { class: 'err-text', id: 'run-error' }, run.errorMessage) : null);
    if (first) {
      document.title = `${run.id} · ${run.workflowSlug} · apphub`;
      put(ctx.view,
        crumbs(link('/workflows', 'Workflows'), link(`/workflows/${enc(run.workflowSlug)}`, run.workflowSlug), run.id),
        head, facts,
        h('section', { class: 'panel', 'aria-labelledby': 'dag-h' }, h('h2', { id: 'dag-h' }, 'Steps'), dag,
          h('div', { class: 'legend', 'aria-hidden': 'true' }, ['pending', 'running', 'retrying', 'succeeded', 'failed', 'skipped'].map(badge))),
        h('section', { class: 'panel', 'aria-labelledby': 'gantt-h' }, h('h2', { id: 'gantt-h' }, 'Timeline'), gantt),
        h('section', { class: 'panel', 'aria-labelledby': 'detail-h' }, h('h2', { id: 'detail-h' }, 'Step'), detail),
        run.output && Object.keys(run.output).length ? h('section', { class: 'panel' }, h('h2', {}, 'Output'), json(run.output)) : null);
    }
    redraw(first);
  };
  await draw(true);
  live(ctx, (e) => e.data?.runId === id && /^workflow\.(run|step)\./.test(e.type), () => draw(), 80);
  // Besides the events, a slow look while the run goes on (and the bars grow).
  const timer = setInterval(() => { if (ctx.alive() && run && !FINAL.has(run.status)) draw(); }, 2000);
  ctx.onLeave(() => clearInterval(timer));
}
