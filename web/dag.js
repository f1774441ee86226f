// A workflow's DAG as SVG, layered left to right, and a run's steps as a
// Gantt-like timeline. A fan-out's children are one node with their count
// until it is clicked open.
import { s, duration } from './core.js';

const W = 168, H = 46, GX = 64, GY = 18, PAD = 12;

const short = (t, n = 22) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

function kindOf(st) {
  if (st.type === 'job') return `job ${st.jobSlug || ''}`;
  if (st.type === 'service') {
    try { return `${st.method || 'GET'} ${decodeURIComponent(new URL(st.url).pathname)}`; } catch { return `${st.method || 'GET'} ${st.app || st.url || ''}`; }
  }
  if (st.type === 'fanout') return 'fan-out';
  return st.type || '';
}

// The status of many children as one: failed, else running, else all done.
function aggregate(list) {
  if (!list.length) return 'pending';
  const has = (x) => list.some((c) => c.status === x);
  if (has('failed')) return 'failed';
  if (has('running')) return 'running';
  if (has('retrying')) return 'retrying';
  if (list.every((c) => c.status === 'succeeded')) return 'succeeded';
  if (list.every((c) => ['succeeded', 'skipped', 'canceled'].includes(c.status))) return list.some((c) => c.status === 'succeeded') ? 'succeeded' : list[0].status;
  return has('succeeded') ? 'running' : 'pending';
}

// The nodes and edges: steps (the definition's), runSteps (a run's, or
// none), expanded (the fan-outs shown open).
export function graph(steps, runSteps = [], expanded = new Set()) {
  const byId = new Map(runSteps.map((r) => [r.stepId, r]));
  const nodes = [], edges = [];
  const outOf = new Map();	// a step id -> the node ids its dependents hang from
  for (const st of steps) {
    const r = byId.get(st.id);
    nodes.push({ id: st.id, label: st.name || st.id, sub: kindOf(st), status: r ? r.status : (runSteps.length ? 'pending' : null), step: st, run: r });
    outOf.set(st.id, [st.id]);
    if (st.type !== 'fanout') continue;
    const tmpl = st.template || {};
    let kids = runSteps.filter((x) => x.parent === st.id).sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      .map((x) => ({ id: x.stepId, label: `${tmpl.id || 'item'} #${x.index ?? ''}`, sub: kindOf(tmpl), status: x.status, run: x, step: tmpl }));
    if (!kids.length && !runSteps.length && Array.isArray(st.collection)) {
      kids = st.collection.map((item, i) => ({ id: `${st.id}:${tmpl.id}:${i + 1}`, label: `${tmpl.id || 'item'} #${i + 1}`, sub: short(JSON.stringify(item), 24), status: null, step: tmpl }));
    }
    if (expanded.has(st.id) && kids.length) {
      for (const k of kids) { nodes.push({ ...k, parent: st.id }); edges.push([st.id, k.id]); }
      outOf.set(st.id, kids.map((k) => k.id));
    } else {
      const n = kids.length;
      const done = kids.filter((k) => k.status === 'succeeded').length;
      const gid = `${st.id}/*`;
      nodes.push({
        id: gid, group: st.id, count: n,
        label: `${tmpl.id || 'item'} ×${n || (runSteps.length ? 0 : '?')}`,
        sub: runSteps.length ? `${done}/${n} done` : (n ? 'click to expand' : 'items from a template'),
        status: runSteps.length ? aggregate(kids) : null, kids,
      });
      edges.push([st.id, gid]);
      outOf.set(st.id, [gid]);
    }
  }
  for (const st of steps) for (const d of st.dependsOn || []) for (const from of outOf.get(d) || []) edges.push([from, st.id]);
  return { nodes, edges };
}

// Layers: the longest path from a root; in each layer, ordered by where
// their predecessors sit (one barycentre pass), then drawn.
function layout(nodes, edges) {
  const preds = new Map(nodes.map((n) => [n.id, []]));
  for (const [a, b] of edges) preds.get(b)?.push(a);
  const layer = new Map();
  const depth = (id, seen = new Set()) => {
    if (layer.has(id)) return layer.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const l = Math.max(-1, ...preds.get(id).map((p) => depth(p, seen))) + 1;
    layer.set(id, l);
    return l;
  };
  for (const n of nodes) depth(n.id);
  const layers = [];
  for (const n of nodes) (layers[layer.get(n.id)] ||= []).push(n);
  const pos = new Map();
  layers.forEach((ns, l) => {
    if (l > 0) {
      const bary = (n) => {
        const ps = preds.get(n.id).map((p) => pos.get(p)).filter((x) => x !== undefined);
        return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : 0;
      };
      ns.sort((a, b) => bary(a) - bary(b));
    }
    ns.forEach((n, i) => pos.set(n.id, i));
  });
  const tallest = Math.max(1, ...layers.map((ns) => ns?.length || 0));
  const height = tallest * (H + GY) - GY + 2 * PAD;
  const xy = new Map();
  layers.forEach((ns, l) => {
    const top = (height - (ns.length * (H + GY) - GY)) / 2;
    ns.forEach((n, i) => xy.set(n.id, { x: PAD + l * (W + GX), y: top + i * (H + GY) }));
  });
  return { xy, width: PAD * 2 + layers.length * (W + GX) - GX, height };
}

// The SVG; onToggle(fanoutId) opens or closes a fan-out, onSelect(node) shows a step.
export function drawDag(g, { onToggle, onSelect, label = 'Workflow steps' } = {}) {
  const { xy, width, height } = layout(g.nodes, g.edges);
  const svg = s('svg', {
    class: 'dag', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': label,
    'data-key': g.nodes.map((n) => n.id).join(' '),
  });
  for (const [a, b] of g.edges) {
    const p = xy.get(a), q = xy.get(b);
    if (!p || !q) continue;
    const x1 = p.x + W, y1 = p.y + H / 2, x2 = q.x, y2 = q.y + H / 2, mx = (x1 + x2) / 2;
    svg.append(s('path', { class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'data-from': a, 'data-to': b }));
  }
  for (const n of g.nodes) {
    const { x, y } = xy.get(n.id);
    const act = () => (n.group ? onToggle?.(n.group) : onSelect?.(n));
    const node = s('g', {
      class: `node${n.group ? ' group' : ''}${n.parent ? ' child' : ''}`, transform: `translate(${x},${y})`,
      'data-step': n.id, 'data-status': n.status || 'none', tabindex: '0', role: 'button',
      'aria-label': `${n.label}${n.status ? `: ${n.status}` : ''}${n.group ? (n.count ? `, ${n.count} items, press to expand` : '') : ''}`,
      'aria-expanded': n.group ? 'false' : null,
      onclick: act,
      onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); act(); } },
    },
    s('title', {}, `${n.id}${n.status ? ` — ${n.status}` : ''}`),
    s('rect', { width: W, height: H, rx: 9 }),
    s('text', { x: 12, y: 19, 'font-weight': 600 }, short(n.label)),
    s('text', { x: 12, y: 35, class: 'sub' }, short(`${n.sub || ''}${n.status && !n.group ? ` · ${n.status}` : ''}`, 26)));
    if (n.parent) {
      // An open fan-out's child: a click on it closes the group again.
      node.addEventListener('dblclick', () => onToggle?.(n.parent));
    }
    svg.append(node);
  }
  return svg;
}

// Updates the statuses of an SVG drawn from the same nodes; false when the nodes differ.
export function recolour(svg, g) {
  if (!svg || svg.dataset.key !== g.nodes.map((n) => n.id).join(' ')) return false;
  for (const n of g.nodes) {
    const el = svg.querySelector(`[data-step="${CSS.escape(n.id)}"]`);
    if (!el) return false;
    el.setAttribute('data-status', n.status || 'none');
    const texts = el.querySelectorAll('text');
    texts[0].textContent = short(n.label);
    texts[1].textContent = short(`${n.sub || ''}${n.status && !n.group ? ` · ${n.status}` : ''}`, 26);
    el.querySelector('title').textContent = `${n.id}${n.status ? ` — ${n.status}` : ''}`;
  }
  return true;
}

// The timeline: a bar per step from its start to its end (now while it runs).
export function drawGantt(rows, now = Date.now()) {
  const LABEL = 170, WIDTH = 900, ROW = 24, TOP = 22;
  const t = (iso) => (iso ? new Date(iso).getTime() : null);
  const started = rows.filter((r) => r.startedAt);
  const t0 = Math.min(...started.map((r) => t(r.startedAt)));
  const t1 = Math.max(t0 + 1, ...started.map((r) => t(r.completedAt) ?? now));
  const scale = (ms) => LABEL + ((ms - t0) / (t1 - t0)) * (WIDTH - LABEL - 10);
  const height = TOP + rows.length * ROW + 6;
  const svg = s('svg', { class: 'gantt', width: '100%', viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': 'Timeline of the steps' });
  if (started.length) {
    for (let i = 0; i <= 4; i++) {
      const x = LABEL + (i / 4) * (WIDTH - LABEL - 10);
      svg.append(s('line', { class: 'axis', x1: x, x2: x, y1: 14, y2: height }),
        s('text', { class: 'tick', x, y: 11, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, `+${duration(Math.round(((t1 - t0) * i) / 4))}`));
    }
  }
  rows.forEach((r, i) => {
    const y = TOP + i * ROW;
    svg.append(s('text', { x: 0, y: y + 15 }, short(r.label, 24)));
    if (!r.startedAt) return;
    const x1 = scale(t(r.startedAt)), x2 = Math.max(x1 + 3, scale(t(r.completedAt) ?? now));
    svg.append(s('rect', { class: 'bar', x: x1, y: y + 4, width: x2 - x1, height: ROW - 8, rx: 3, 'data-step': r.id, 'data-status': r.status },
      s('title', {}, `${r.label}: ${r.status}${r.completedAt ? `, ${duration(t(r.completedAt) - t(r.startedAt))}` : ''}`)));
  });
  return svg;
}
