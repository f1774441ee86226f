// Launch an example from its app page and load its preview: the static-site
// example (busybox httpd), ingested and built before serve starts.
import { BASE, withPage, check } from './lib.mjs';

const APP = process.env.LAUNCH_APP || 'static-site';
const row = '#launches-body [data-launch]';

// The status badge of the newest launch, or '' when there is none.
const launchStatus = (page) => page.evaluate((sel) =>
  document.querySelector(`${sel} [data-role="status"]`)?.dataset.status || '', row);

await withPage('launch', async (page, { shot, ctx }) => {
  await page.goto(`${BASE}/apps/${APP}`);
  await page.waitForSelector('#readme h1');
  check((await page.textContent('#app-name')).trim() === APP, 'the app page is open');
  // The build is listed, and nothing is launched yet.
  await page.waitForSelector('#builds-body [data-build] [data-status="succeeded"]');
  await page.waitForSelector('#launches-body p.muted');
  check((await page.textContent('#launches-body')).includes('Not launched yet'), 'no launch yet');
  const launchBtn = page.locator('#launch');
  check(await launchBtn.isVisible(), 'the Launch button is shown');
  await shot('app');

  // Everything below happens without a reload: this mark stays.
  await page.evaluate(() => { window.__sameDocument = 1; });

  // Launch with the keyboard. The page opens a tab at once (inside the key
  // press, so no pop-up blocker stops it) and sends it to the preview.
  await launchBtn.focus();
  const launchTab = ctx.waitForEvent('page');
  await page.keyboard.press('Enter');
  const tab = await launchTab;

  // The launch shows up running, with its preview link, on the same page.
  await page.waitForFunction((sel) => {
    const li = document.querySelector(sel);
    return li && li.querySelector('[data-role="status"]')?.dataset.status === 'running' &&
      [...li.querySelectorAll('a')].some((a) => /Open preview/.test(a.textContent));
  }, row, { timeout: 20000 });
  check(await page.evaluate(() => window.__sameDocument === 1), 'the page was not reloaded');
  check(await page.locator(row).count() === 1, 'one launch is listed');
  const link = page.locator(`${row} a`, { hasText: 'Open preview' });
  const href = await link.getAttribute('href');
  check(/^http:\/\/127\.0\.0\.1:\d+\/$/.test(href), `the preview URL is a loopback port: ${href}`);
  check(await link.getAttribute('target') === '_blank', 'the preview opens in a new tab');
  check(new URL(href).port !== new URL(BASE).port, 'the preview is not serve itself');
  await page.waitForSelector(`${row} button:has-text("Stop")`);
  await shot('running');

  // The tab the Launch button opened went to the preview.
  await tab.waitForURL(href, { timeout: 20000 });
  await tab.waitForSelector('h1');
  check((await tab.textContent('h1')).trim() === 'Static site', 'the launch tab shows the site');
  await tab.close();

  // Follow the link: a new tab with the example's page.
  const opened = ctx.waitForEvent('page');
  await link.click();
  const preview = await opened;
  await preview.waitForLoadState('load');
  check(preview.url() === href, `the new tab is the preview: ${preview.url()}`);
  check(await preview.title() === 'Static site', 'the example page title');
  check((await preview.textContent('h1')).trim() === 'Static site', 'the example heading');
  check((await preview.textContent('main')).includes('Registered, built and launched by apphub.'),
    'the example text');
  // Its stylesheet came through the preview too.
  const bg = await preview.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg === 'rgb(244, 246, 250)', `style.css is applied: ${bg}`);
  await shot('preview', preview);
  await preview.close();

  // Stop: the row turns stopped live; the preview link and Stop go away.
  await page.bringToFront();
  const stop = page.locator(`${row} button`, { hasText: 'Stop' });
  await stop.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((sel) => {
    const li = document.querySelector(sel);
    return li && li.querySelector('[data-role="status"]')?.dataset.status === 'stopped';
  }, row, { timeout: 20000 });
  check(await page.locator(`${row} a`, { hasText: 'Open preview' }).count() === 0, 'no preview link once stopped');
  check(await page.locator(`${row} button`, { hasText: 'Stop' }).count() === 0, 'no Stop button once stopped');
  check(await launchStatus(page) === 'stopped', 'the launch is stopped');
  check(await page.evaluate(() => window.__sameDocument === 1), 'still the same page');
  await shot('stopped');

  // The preview does not answer any more.
  let answered = true;
  try { await fetch(href, { signal: AbortSignal.timeout(3000) }); } catch { answered = false; }
  check(!answered, 'the stopped preview no longer answers');
});
console.log('ok');
