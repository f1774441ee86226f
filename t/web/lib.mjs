// Shared by the browser tests of t/8500-web.bats: Debian's chromium driven
// by playwright-core, never a downloaded browser.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = process.env.SERVE_URL;
export const OUT = process.env.WEB_OUT || 't/out/web';
if (!BASE) throw new Error('SERVE_URL is not set');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// A browser with a fresh profile and a page; run(page, ctx) does the rest.
// ignore: a pattern of console errors the test provokes on purpose.
export async function withPage(name, run, { width = 1280, height = 860, colorScheme = 'light', ignore = null } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'apphub-chromium-'));
  mkdirSync(OUT, { recursive: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ARGS, headless: true, viewport: { width, height }, colorScheme,
    timeout: 30000,
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  let step = 0;
  // shot(what[, other]): a screenshot of the page, or of another tab.
  const shot = async (what, of = page) => {
    step++;
    await of.screenshot({ path: join(OUT, `${name}-${String(step).padStart(2, '0')}-${what}.png`), fullPage: true });
  };
  try {
    await run(page, { shot, ctx, errors });
  } catch (e) {
    await shot('failure').catch(() => {});
    throw e;
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
  // Resource errors a test provokes on purpose (a 4xx from the API) are not page errors.
  const real = errors.filter((e) => !/Failed to load resource/.test(e) && !(ignore && ignore.test(e)));
  if (real.length) throw new Error(`errors in the page:\n${real.join('\n')}`);
}

export function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
}

export async function cardIds(page) {
  return page.$$eval('#cards [data-app]', (els) => els.map((e) => e.dataset.app).sort());
}

// Waits until the cards are exactly ids (sorted).
export async function waitCards(page, ids) {
  const want = [...ids].sort().join(',');
  await page.waitForFunction((w) => [...document.querySelectorAll('#cards [data-app]')]
    .map((e) => e.dataset.app).sort().join(',') === w, want);
}
