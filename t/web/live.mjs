// Register from the page, run `apphub ingest` from the test, and watch the
// status badge change live, without a reload.
import { execFileSync } from 'node:child_process';
import { BASE, withPage, check } from './lib.mjs';

const repo = process.env.LIVE_REPO;
check(repo, 'LIVE_REPO is set');

await withPage('live', async (page, { shot }) => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#cards [data-app]');
  await page.click('#register-open');
  check(await page.evaluate(() => document.activeElement.id) === 'f-repoUrl', 'the dialog focuses the URL field');
  await page.fill('#f-repoUrl', repo);
  await page.fill('#f-tags', 'owner:web team:live');
  await shot('register-form');
  await page.click('#register-submit');
  await page.waitForURL(`${BASE}/apps/delta`);
  await page.waitForSelector('#app-name');
  check(await page.getAttribute('#view-app [data-role=status]', 'data-status') === 'pending', 'registered: pending');
  await page.evaluate(() => { window.__sameDocument = true; });
  await shot('registered-pending');

  // Back to the catalogue: the new card is pending.
  await page.click('.crumbs a');
  await page.waitForSelector('[data-app="delta"] [data-status="pending"]');
  await shot('card-pending');

  execFileSync(process.env.APPHUB_BIN || 'apphub', ['ingest'], { stdio: 'inherit' });
  await page.waitForSelector('[data-app="delta"] [data-status="ready"]');
  check(await page.evaluate(() => window.__sameDocument === true), 'no reload happened');
  await shot('card-ready-live');

  // The app page follows too: queue a retry through the API, ingest again.
  await page.click('[data-app="delta"] h2 a');
  await page.waitForSelector('#readme h1');
  await page.waitForFunction(() => document.querySelectorAll('#history li').length === 3);
  await page.evaluate(() => fetch('/apps/delta/retry', { method: 'POST' }));
  execFileSync(process.env.APPHUB_BIN || 'apphub', ['ingest'], { stdio: 'inherit' });
  await page.waitForFunction(() => document.querySelectorAll('#history li').length > 3);
  check(await page.evaluate(() => window.__sameDocument === true), 'still no reload');
  await shot('app-history-live');
});
console.log('ok');
