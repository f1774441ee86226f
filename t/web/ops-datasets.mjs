// Datasets: without the timestore's routes the page says so plainly.
import { BASE, withPage, check } from './lib.mjs';

await withPage('ops-datasets', async (page, { shot }) => {
  await page.goto(`${BASE}/datasets`);
  await page.waitForSelector('#datasets-body :is(#datasets-none, #datasets-table, .empty)');
  const has = await page.evaluate(() => fetch('/openapi.json').then((r) => r.json()).then((d) => Boolean(d.paths['/datasets'])));
  if (!has) check(/no timestore/.test(await page.textContent('#datasets-none')), 'it says there is no timestore');
  check(await page.evaluate(() => document.querySelector('#nav [aria-current="page"]').dataset.section) === 'datasets', 'Datasets is current');
  await shot('datasets');
});
console.log('ok');
