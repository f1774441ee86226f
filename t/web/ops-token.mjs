// With tokens configured: the operator pages ask for one when a read is
// refused (401), say a refused write (403) plainly, ask again for a token
// with the scope, and keep it for this tab's session only.
import { BASE, withPage, check } from './lib.mjs';

await withPage('ops-token', async (page, { shot, ctx }) => {
  await page.goto(`${BASE}/jobs`);
  await page.waitForSelector('#token[open]');
  check((await page.textContent('#token-why')).includes('jobs:read'), 'the scope a read needs is named');
  await shot('asked');
  await page.fill('#f-token', 'read-only-1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#jobs-table [data-job="report"]');

  // A write the token may not make: refused, asked again, said plainly.
  await page.click('#jobs-table a[href="/jobs/report"]');
  await page.click('#run-open');
  await page.fill('#run-dialog [data-param="count"]', '2');
  await page.selectOption('#run-dialog [data-param="mode"]', { label: 'fast' });
  await page.click('#run-dialog [data-role="submit"]');
  await page.waitForFunction(() => document.querySelector('#token').open && /refused/.test(document.querySelector('#token-why').textContent));
  check((await page.textContent('#token-why')).includes('jobs:run'), 'the scope a run needs is named');
  await page.click('#token [data-close]');
  await page.waitForSelector('#run-dialog .form-error:not([hidden])');
  const said = await page.textContent('#run-dialog .form-error');
  check(/^403 forbidden: authorization: token of 'ro' lacks scope 'jobs:run'/.test(said), `the 403 is said plainly: ${said}`);
  await shot('refused');

  // Again, with a token that may run jobs.
  await page.click('#run-dialog [data-role="submit"]');
  await page.waitForSelector('#token[open]');
  await page.fill('#f-token', 'runner-1');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/job-runs\/r-[0-9a-f]{12}$/);
  await page.waitForSelector('#run-status [data-status="succeeded"]', { timeout: 20000 });
  check(await page.evaluate(() => sessionStorage.getItem('apphub.token')) === 'runner-1', 'kept for the session');
  check(await page.evaluate(() => localStorage.getItem('apphub.token')) === null, 'not kept beyond it');
  await shot('ran');

  // Another tab is another session: it asks again.
  const other = await ctx.newPage();
  await other.goto(`${BASE}/jobs`);
  await other.waitForSelector('#token[open]');
  await shot('other-tab', other);
  await other.close();
});
console.log('ok');
