// A workflow of service steps against a loopback server whose answers wait
// until this script releases them: the run's DAG colours each step as it
// runs and ends, live; the fan-out opens on click; the timeline fills in;
// the asset turns fresh; a second run is canceled.
import { BASE, withPage, check } from './lib.mjs';

const GATE = process.env.GATE_URL;
check(GATE, 'GATE_URL is set');
const release = (name) => fetch(`${GATE}/release/${name}`).then((r) => check(r.ok, `released ${name}`));
const waiting = async (name) => {
  for (let i = 0; i < 200; i++) {
    const w = await fetch(`${GATE}/waiting`).then((r) => r.json());
    if (w.waiting.includes(name)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing waits at ${name}`);
};
const node = (id) => `#dag [data-step="${id}"]`;
const statusIs = (page, id, status, timeout = 15000) => page.waitForSelector(`${node(id)}[data-status="${status}"]`, { timeout });
const fill = (page, id) => page.$eval(`${node(id)} rect`, (r) => getComputedStyle(r).fill);

await withPage('ops-workflow', async (page, { shot }) => {
  await page.goto(`${BASE}/workflows`);
  await page.waitForSelector('#workflows-table [data-workflow="gated"]');
  const next = await page.textContent('#workflows-table [data-workflow="gated"] [data-role="next"]');
  check(/T03:00:00\.000Z/.test(next), `the next run time of the schedule: ${next}`);
  await shot('list');

  // The definition's DAG: left to right, the fan-out as one node with its count.
  await page.click('#workflows-table a[href="/workflows/gated"]');
  await page.waitForSelector(`${node('each/*')}`);
  check((await page.textContent(`${node('each/*')}`)).includes('part ×3'), 'the fan-out shows its count');
  const x = async (id) => (await page.locator(node(id)).boundingBox()).x;
  check(await x('a') < await x('b') && await x('b') < await x('d'), 'layered left to right');
  check((await page.textContent('#schedules')).includes('0 3 * * *'), 'the schedule is listed');
  await page.click(node('each/*'));
  await page.waitForSelector(node('each:part:3'));
  check(await page.locator('#dag .node.child').count() === 3, 'the fan-out opens into its three items');
  await shot('definition');

  // Run it from its form; the schema's minimum is kept before sending.
  await page.click('#run-open');
  await page.fill('#run-dialog [data-param="label"]', 'one');
  await page.fill('#run-dialog [data-param="n"]', '0');
  await page.click('#run-dialog [data-role="submit"]');
  await page.waitForSelector('#run-dialog [aria-invalid="true"][data-param="n"]');
  await page.fill('#run-dialog [data-param="n"]', '1');
  await page.click('#run-dialog [data-role="submit"]');
  await page.waitForURL(/\/workflow-runs\/w-[0-9a-f]{12}$/);
  await page.evaluate(() => { window.__sameDocument = 1; });

  await waiting('a-one');
  await statusIs(page, 'a', 'running');
  const running = await fill(page, 'a');
  check(await page.getAttribute(node('b'), 'data-status') === 'pending', 'b waits');
  await shot('a-running');

  await release('a-one');
  await statusIs(page, 'a', 'succeeded');
  await statusIs(page, 'b', 'running');
  await statusIs(page, 'each/*', 'running');
  const succeeded = await fill(page, 'a');
  check(running !== succeeded, `a's colour changed: ${running} -> ${succeeded}`);
  check(await fill(page, 'b') === running, 'b has the running colour');
  await shot('b-running');

  await release('b-one');
  await statusIs(page, 'b', 'succeeded');
  check(await page.getAttribute(node('d'), 'data-status') === 'pending', 'd waits for the fan-out');
  // Open the fan-out: its items, each with its own colour.
  await page.click(node('each/*'));
  await statusIs(page, 'each:part:1', 'running');
  await release('c-1');
  await statusIs(page, 'each:part:1', 'succeeded');
  check(await page.getAttribute(node('each:part:2'), 'data-status') === 'running', 'the second item still runs');
  await shot('fanout-open');
  await release('c-2');
  await release('c-3');
  await statusIs(page, 'each:part:3', 'succeeded');
  await statusIs(page, 'd', 'running');
  await release('d-one');
  await page.waitForSelector('#run-status [data-status="succeeded"]', { timeout: 15000 });
  await statusIs(page, 'd', 'succeeded');
  check(await page.evaluate(() => window.__sameDocument === 1), 'all of it without a reload');
  const bars = await page.$$eval('#gantt rect.bar', (els) => els.map((e) => e.dataset.status));
  check(bars.length === 7 && bars.every((s) => s === 'succeeded'), `a bar per step on the timeline: ${bars}`);
  check(!(await page.isVisible('#run-cancel')), 'nothing to cancel once it ended');
  await page.click(node('b'));
  await page.waitForSelector('#step-detail pre');
  check((await page.textContent('#step-detail pre')).includes('b-one'), 'a step shows its result');
  await shot('succeeded');

  // The asset it produced is fresh.
  await page.click('.crumbs a[href="/workflows"]');
  await page.waitForSelector('#assets-table [data-asset="gated.raw"] [data-fresh="true"]');
  await shot('assets');

  // A second run, canceled while its first step waits.
  await page.click('#workflows-table a[href="/workflows/gated"]');
  await page.click('#run-open');
  await page.fill('#run-dialog [data-param="label"]', 'two');
  await page.fill('#run-dialog [data-param="n"]', '2');
  await page.click('#run-dialog [data-role="submit"]');
  await page.waitForURL(/\/workflow-runs\/w-[0-9a-f]{12}$/);
  await waiting('a-two');
  await statusIs(page, 'a', 'running');
  const canceled = page.waitForResponse((r) => r.url().endsWith('/cancel') && r.request().method() === 'POST');
  await page.click('#run-cancel');
  check((await canceled).status() === 200, 'the cancel was accepted');
  // The driver looks for the cancel every 100 ms and ends the run once the
  // call in flight answers (it does not cut a service call short): give it
  // time to see the mark, then let the calls go.
  await page.waitForTimeout(600);
  for (const g of ['a-two', 'b-two', 'd-two']) await release(g);
  await page.waitForSelector('#run-status [data-status="canceled"]', { timeout: 20000 });
  check(!(await page.isVisible('#run-cancel')), 'no Cancel once canceled');
  check(await page.getAttribute(node('d'), 'data-status') !== 'succeeded', 'the last step did not run');
  await shot('canceled');
});
console.log('ok');
