// The first render of each page: for each "path selector" line of PAGES,
// ROUNDS fresh loads in chromium; the median of first-contentful-paint,
// DOMContentLoaded, and the moment the page's content (selector) is in the
// document, all from the navigation's start (chromium's performance
// timings). Printed, never judged: t/perf/p8600-pages.sh reports them.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = process.env.SERVE_URL;
const ROUNDS = Number(process.env.ROUNDS || 5);
const pages = (process.env.PAGES || '').split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
  const i = l.indexOf(' ');
  return { path: l.slice(0, i), sel: l.slice(i + 1) };
});
const profile = mkdtempSync(join(tmpdir(), 'apphub-perf-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  viewport: { width: 1280, height: 860 },
});
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(30000);
await page.addInitScript(() => {
  // The moment the selector (set below, per load) first matches.
  const sel = sessionStorage.getItem('perf.sel');
  if (!sel) return;
  const look = () => {
    if (window.__contentAt || !document.querySelector(sel)) return;
    window.__contentAt = performance.now();
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true, attributes: true });
});
console.log(`${'page'.padEnd(34)} ${'FCP'.padStart(7)} ${'DCL'.padStart(7)} ${'content'.padStart(8)}  (ms, median of ${ROUNDS})`);
try {
  for (const { path, sel } of pages) {
    const fcp = [], dcl = [], content = [];
    for (let i = 0; i < ROUNDS; i++) {
      await page.goto(`${BASE}/favicon.svg`);
      await page.evaluate((s) => sessionStorage.setItem('perf.sel', s), sel);
      await page.goto(`${BASE}${path}`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => window.__contentAt, null, { polling: 50 });
      const t = await page.evaluate(() => ({
        fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
        dcl: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? NaN,
        content: window.__contentAt,
      }));
      fcp.push(t.fcp); dcl.push(t.dcl); content.push(t.content);
    }
    const c = median(content);
    console.log(`${path.padEnd(34)} ${median(fcp).toFixed(0).padStart(7)} ${median(dcl).toFixed(0).padStart(7)} ${c.toFixed(0).padStart(8)}${c < 200 ? '' : '  (over 200 ms)'}`);
  }
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
