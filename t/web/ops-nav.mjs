// The sections by keyboard (g a, g j, g w, g r, g d), each at its own URL;
// back and forward; ? lists the keys; a shared link opens its page.
import { BASE, withPage, check } from './lib.mjs';

const path = (page) => new URL(page.url()).pathname;
const current = (page) => page.evaluate(() => document.querySelector('#nav [aria-current="page"]')?.dataset.section);

async function press(page, ...keys) {
  for (const k of keys) await page.keyboard.press(k);
}

await withPage('ops-nav', async (page, { shot }) => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#results-heading');
  check(await current(page) === 'apps', 'Apps is the current section');
  await page.evaluate(() => { window.__sameDocument = 1; });

  await press(page, 'g', 'j');
  await page.waitForSelector('#jobs-table [data-job="report"]');
  check(path(page) === '/jobs', `g j: ${page.url()}`);
  check(await current(page) === 'jobs', 'Jobs is marked current');
  check(!(await page.isVisible('#q')), 'the apps search is not shown on Jobs');
  await shot('jobs');

  await press(page, 'g', 'w');
  await page.waitForSelector('#workflows-body p, #workflows-table');
  check(path(page) === '/workflows', `g w: ${page.url()}`);
  await shot('workflows');

  await press(page, 'g', 'r');
  await page.waitForSelector('#namespaces [data-namespace="demo"]');
  check(path(page) === '/records', `g r: ${page.url()}`);
  check((await page.textContent('[data-namespace="demo"] [data-role="count"]')).trim() === '2', 'demo holds 2 records');
  await shot('records');

  await press(page, 'g', 'd');
  await page.waitForSelector('#datasets-body :is(#datasets-none, #datasets-table, .empty)');
  check(path(page) === '/datasets', `g d: ${page.url()}`);
  await shot('datasets');

  await press(page, 'g', 'a');
  await page.waitForSelector('#results-heading');
  check(path(page) === '/', `g a: ${page.url()}`);
  check(await page.isVisible('#q'), 'the apps search is back');
  check(await page.evaluate(() => window.__sameDocument === 1), 'no reload on the way');

  // Back and forward walk the sections again.
  await page.goBack();
  await page.waitForSelector('#datasets-body');
  check(path(page) === '/datasets', `back: ${page.url()}`);
  await page.goBack();
  await page.waitForSelector('#namespaces');
  check(path(page) === '/records' && await current(page) === 'records', `back again: ${page.url()}`);
  await page.goForward();
  await page.waitForSelector('#datasets-body');
  check(path(page) === '/datasets', `forward: ${page.url()}`);
  check(await page.evaluate(() => window.__sameDocument === 1), 'back and forward did not reload');

  // Keys typed into a text field are text, not navigation.
  await press(page, 'g', 'a');
  await page.waitForSelector('#results-heading');
  await page.click('#q');
  await page.keyboard.type('gj');
  check(path(page) === '/', 'g j typed in the search box stays on Apps');
  await page.fill('#q', '');
  await page.click('main');

  // ? lists the keys; Escape closes the list.
  await press(page, '?');
  await page.waitForSelector('#keys[open]');
  const keys = await page.textContent('#keys');
  for (const k of ['Apps', 'Jobs', 'Workflows', 'Records', 'Datasets']) check(keys.includes(k), `the keys list ${k}`);
  await shot('keys');
  await press(page, 'Escape');
  check(!(await page.locator('#keys').evaluate((d) => d.open)), 'Escape closes the keys');

  // The links of the bar, by mouse.
  await page.click('#nav a[data-section="jobs"]');
  await page.waitForSelector('#jobs-table');
  check(path(page) === '/jobs', 'the Jobs link');
  await page.click('#jobs-table a[href="/jobs/report"]');
  await page.waitForSelector('#versions [data-version="1.0.0"]');
  check(path(page) === '/jobs/report', 'a job has its URL');

  // Shared links open their pages directly.
  await page.goto(`${BASE}/records/demo/alpha`);
  await page.waitForSelector('#record-version[data-version="2"]');
  check(await current(page) === 'records', 'a record link opens in Records');
  await shot('record-direct');
  await page.goto(`${BASE}/records/demo?q=size>3`);
  await page.waitForFunction(() => document.querySelectorAll('#records [data-key]').length === 2);
  check(await page.inputValue('#rq') === 'size>3', 'the shared query is in the box');
  await page.goto(`${BASE}/jobs/report`);
  await page.waitForSelector('#versions');
  await shot('job-direct');
});
console.log('ok');
