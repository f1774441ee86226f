import { h } from './core.js';
export function render(ctx) { ctx.view.replaceChildren(h('h1', {}, 'records')); }
