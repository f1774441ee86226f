// A form made from a JSON Schema (a job's or a workflow's parametersSchema):
// a field per property by its type, required marked, an enum as a select;
// it refuses what the schema refuses before anything is sent.
import { h } from './core.js';

let seq = 0;

function typeOf(p) {
  if (Array.isArray(p.enum)) return 'enum';
  const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
  return t || (p.properties ? 'object' : 'string');
}

// One property's field: {el, read() -> {value, error, empty}}.
function field(name, p, required, initial) {
  const id = `pf-${++seq}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const type = typeOf(p);
  const err = h('p', { class: 'error', id: `${id}-e`, hidden: true });
  const label = h('label', { for: id }, p.title || name,
    required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : h('span', { class: 'opt' }, ' optional'),
    h('span', { class: 'opt' }, ` ${type === 'enum' ? 'one of' : type}`));
  const common = { id, name, 'aria-describedby': `${id}-e`, 'data-param': name, 'data-type': type };
  if (required) common['aria-required'] = 'true';
  let input;
  const init = initial !== undefined ? initial : p.default;
  if (type === 'enum') {
    input = h('select', common,
      required && init === undefined ? h('option', { value: '' }, 'Choose…') : null,
      !required ? h('option', { value: '' }, '(none)') : null,
      p.enum.map((v, i) => h('option', { value: String(i), selected: init !== undefined && JSON.stringify(init) === JSON.stringify(v) }, String(v))));
  } else if (type === 'boolean') {
    input = h('select', common, h('option', { value: '' }, required ? 'Choose…' : '(none)'),
      h('option', { value: 'true', selected: init === true }, 'true'),
      h('option', { value: 'false', selected: init === false }, 'false'));
  } else if (type === 'object' || type === 'array') {
    input = h('textarea', { ...common, rows: 3, spellcheck: 'false', placeholder: type === 'array' ? '[…] as JSON' : '{…} as JSON' });
    if (init !== undefined) input.value = JSON.stringify(init);
  } else {
    input = h('input', {
      ...common, type: type === 'integer' || type === 'number' ? 'number' : 'text',
      step: type === 'integer' ? '1' : type === 'number' ? 'any' : null,
      min: p.minimum, max: p.maximum, spellcheck: 'false', autocomplete: 'off',
    });
    if (init !== undefined) input.value = String(init);
  }
  const help = p.description ? h('p', { class: 'muted help' }, p.description) : null;
  const el = h('div', { class: 'field' }, label, input, help, err);
  const fail = (msg) => ({ error: msg });
  const read = () => {
    const raw = input.value.trim();
    if (raw === '') return required ? fail('Required.') : { empty: true };
    let v;
    switch (type) {
    case 'enum': v = p.enum[Number(raw)]; break;
    case 'boolean': v = raw === 'true'; break;
    case 'integer':
      if (!/^-?\d+$/.test(raw)) return fail('Must be a whole number.');
      v = Number(raw);
      break;
    case 'number':
      v = Number(raw);
      if (!isFinite(v)) return fail('Must be a number.');
      break;
    case 'object': case 'array':
      try { v = JSON.parse(raw); } catch { return fail(`Must be JSON (${type === 'array' ? 'an array' : 'an object'}).`); }
      if (type === 'array' ? !Array.isArray(v) : (typeof v !== 'object' || v === null || Array.isArray(v)))
        return fail(`Must be ${type === 'array' ? 'an array' : 'an object'}.`);
      break;
    default: v = input.value;
    }
    if (typeof v === 'number') {
      if (p.minimum !== undefined && v < p.minimum) return fail(`Must be at least ${p.minimum}.`);
      if (p.maximum !== undefined && v > p.maximum) return fail(`Must be at most ${p.maximum}.`);
      if (p.exclusiveMinimum !== undefined && v <= p.exclusiveMinimum) return fail(`Must be more than ${p.exclusiveMinimum}.`);
      if (p.exclusiveMaximum !== undefined && v >= p.exclusiveMaximum) return fail(`Must be less than ${p.exclusiveMaximum}.`);
    }
    if (typeof v === 'string') {
      if (p.minLength !== undefined && v.length < p.minLength) return fail(`Must be at least ${p.minLength} characters.`);
      if (p.maxLength !== undefined && v.length > p.maxLength) return fail(`Must be at most ${p.maxLength} characters.`);
      if (p.pattern) { try { if (!new RegExp(p.pattern, 'u').test(v)) return fail(`Must match ${p.pattern}.`); } catch { /* the server checks */ } }
    }
    return { value: v };
  };
  const show = (msg) => {
    err.textContent = msg || '';
    err.hidden = !msg;
    if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  };
  return { name, el, input, read, show };
}

// schemaForm(schema, initial) -> {el, read() -> parameters or null (errors shown), showError(msg)}.
export function schemaForm(schema, initial = {}) {
  const props = schema && typeof schema === 'object' && schema.properties ? schema.properties : null;
  const required = new Set(schema?.required || []);
  const formErr = h('p', { class: 'error form-error', role: 'alert', hidden: true });
  if (!props) {
    // No properties to go by: the parameters as JSON.
    const f = field('parameters', { type: 'object', title: 'Parameters (JSON)' }, false, Object.keys(initial).length ? initial : undefined);
    const el = h('div', { class: 'schema-form' }, f.el, formErr);
    return {
      el,
      read() {
        const r = f.read();
        f.show(r.error);
        if (r.error) { f.input.focus(); return null; }
        return r.empty ? {} : r.value;
      },
      showError(msg) { formErr.textContent = msg; formErr.hidden = !msg; },
    };
  }
  const fields = Object.entries(props).map(([k, p]) => field(k, p || {}, required.has(k), initial[k]));
  const el = h('div', { class: 'schema-form' }, fields.map((f) => f.el), formErr);
  return {
    el,
    read() {
      const out = {};
      let first = null;
      for (const f of fields) {
        const r = f.read();
        f.show(r.error);
        if (r.error) first ||= f;
        else if (!r.empty) out[f.name] = r.value;
      }
      if (first) { first.input.focus(); return null; }
      return out;
    },
    showError(msg) {
      // "parameters.n: ..." names the field: shown by it.
      const m = /parameters\.([A-Za-z0-9_-]+)/.exec(msg || '');
      const f = m && fields.find((x) => x.name === m[1]);
      if (f) { f.show(msg); f.input.focus(); formErr.hidden = true; return; }
      formErr.textContent = msg;
      formErr.hidden = !msg;
    },
  };
}

// A modal dialog with a schema form; submit(parameters) is awaited: it
// returns nothing to close, or throws to keep the dialog open with the error.
export function formDialog({ title, intro, schema, initial, submitLabel = 'Run', submit, extra }) {
  const form = schemaForm(schema, initial);
  const btn = h('button', { type: 'submit', class: 'button primary', 'data-role': 'submit' }, submitLabel);
  const dlg = h('dialog', { class: 'form-dialog', 'aria-label': title },
    h('form', {
      method: 'dialog', novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        form.showError('');
        const params = form.read();
        if (!params) return;
        btn.disabled = true;
        try {
          await submit(params, extra?.read?.());
          dlg.close();
        } catch (e) {
          form.showError(e.status ? `${e.status} ${e.code}: ${e.message}` : e.message);
        } finally {
          btn.disabled = false;
        }
      },
    },
    h('h2', {}, title),
    intro ? h('p', { class: 'muted' }, intro) : null,
    extra?.el || null,
    form.el,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'button', onclick: () => dlg.close() }, 'Cancel'), btn)));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  dlg.querySelector('input, select, textarea')?.focus();
  return dlg;
}
