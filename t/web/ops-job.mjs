// A job run from the form made of its parametersSchema: bad input refused
// before anything is sent, then the run followed live to its result, its
// log followed while it runs, its file downloadable.
import { BASE, withPage, check } from './lib.mjs';

const errorOf = (page, name) => page.evaluate((n) => {
  const el = document.querySelector(`#run-dialog [data-param="${n}"]`);
  const e = el && document.getElementById(el.getAttribute('aria-describedby'));
  return e && !e.hidden ? e.textContent : '';
}, name);

await withPage('ops-job', async (page, { shot }) => {
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
  await page.goto(`${BASE}/jobs`);
  await page.waitForSelector('#jobs-table [data-job="report"]');
  const row = await page.textContent('#jobs-table [data-job="report"]');
  check(row.includes('1.0.0') && row.includes('0.9.0'), `versions listed: ${row}`);
  check(row.includes('unsigned'), 'the signer column says unsigned');
  await page.click('#jobs-table a[href="/jobs/report"]');
  await page.waitForSelector('#versions [data-version="1.0.0"]');
  const sum = await page.getAttribute('#versions [data-version="1.0.0"] code[title]', 'title');
  check(/^[0-9a-f]{64}$/.test(sum), `the checksum is there in full: ${sum}`);
  await shot('job');

  await page.click('#run-open');
  await page.waitForSelector('#run-dialog[open] [data-param="count"]');
  check(await page.evaluate(() => document.querySelector('#run-dialog [data-param="mode"]').tagName) === 'SELECT', 'the enum is a select');
  check(await page.getAttribute('#run-dialog [data-param="count"]', 'type') === 'number', 'an integer is a number field');
  check(await page.getAttribute('#run-dialog [data-param="count"]', 'aria-required') === 'true', 'count is required');
  // Nothing filled: the required fields say so, nothing is sent.
  await page.click('#run-dialog [data-role="submit"]');
  check(/Required/.test(await errorOf(page, 'count')), 'count is required');
  check(/Required/.test(await errorOf(page, 'mode')), 'mode is required');
  await shot('form-required');
  await page.fill('#run-dialog [data-param="count"]', '1.5');
  await page.selectOption('#run-dialog [data-param="mode"]', { label: 'slow' });
  await page.click('#run-dialog [data-role="submit"]');
  check(/whole number/.test(await errorOf(page, 'count')), 'not an integer');
  check(await errorOf(page, 'mode') === '', 'mode is fine now');
  await page.fill('#run-dialog [data-param="count"]', '0');
  await page.click('#run-dialog [data-role="submit"]');
  check(/at least 1/.test(await errorOf(page, 'count')), 'below the minimum');
  await page.fill('#run-dialog [data-param="count"]', '3');
  await page.fill('#run-dialog [data-param="label"]', 'x'.repeat(21));
  await page.click('#run-dialog [data-role="submit"]');
  check(/at most 20/.test(await errorOf(page, 'label')), 'too long');
  await shot('form-refused');
  check(posts.length === 0, `nothing was sent: ${posts}`);
  check(await page.evaluate(() => document.activeElement.dataset.param) === 'label', 'the bad field has focus');

  await page.fill('#run-dialog [data-param="label"]', 'hello');
  await page.selectOption('#run-dialog [data-param="dry"]', 'false');
  await page.click('#run-dialog [data-role="submit"]');
  await page.waitForURL(/\/job-runs\/r-[0-9a-f]{12}$/);
  check(posts.length === 1 && posts[0].endsWith('/jobs/report%401.0.0/run'), `one run was queued: ${posts}`);
  const runId = new URL(page.url()).pathname.split('/').pop();

  // While it runs: its log so far, followed.
  await page.waitForFunction(() => document.querySelector('#run-status [data-status]')?.dataset.status === 'running'
    && document.querySelector('#run-log')?.textContent.includes('step 1'), null, { timeout: 15000 });
  check(!(await page.textContent('#run-log')).includes('step 2'), 'the log is followed as it is written');
  check(await page.isVisible('#run-cancel'), 'a running run can be canceled');
  await shot('running');

  // Its end arrives live: status, result, the rest of the log, the file.
  await page.waitForSelector('#run-status [data-status="succeeded"]', { timeout: 20000 });
  await page.waitForFunction(() => document.querySelector('#run-log').textContent.includes('step 2'));
  const result = JSON.parse(await page.textContent('#run-result pre'));
  check(result.double === 6 && result.mode === 'slow' && result.label === 'hello', `the result: ${JSON.stringify(result)}`);
  const params = JSON.parse(await page.textContent('#run-params pre'));
  check(params.count === 3 && params.dry === false, `the parameters: ${JSON.stringify(params)}`);
  const href = await page.getAttribute('#run-files a[data-file="report.txt"]', 'href');
  check(href === `/job-runs/${runId}/file?name=report.txt`, `the download link: ${href}`);
  const text = await page.evaluate((u) => fetch(u).then((r) => r.text()), href);
  check(text.trim() === 'report for hello', `the file: ${text}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#run-files a[data-file="report.txt"]')]);
  check(download.suggestedFilename() === 'report.txt', `downloaded as ${download.suggestedFilename()}`);
  check(!(await page.isVisible('#run-cancel')), 'no Cancel once it ended');
  await shot('succeeded');

  // The job's page lists it.
  await page.click('.crumbs a[href="/jobs/report"]');
  await page.waitForSelector(`#runs-body [data-run="${runId}"] [data-status="succeeded"]`);
  await shot('job-runs');
});
console.log('ok');
