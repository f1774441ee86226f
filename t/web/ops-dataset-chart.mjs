// A dataset: its chart's points are the query's rows (the same downsample
// asked of the CLI), the crosshair reads them from the keyboard and the
// pointer, the table holds the same rows, and the CSV download is them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BASE, withPage, check } from './lib.mjs';

const FROM = '2024-05-01T00:00:00Z', TO = '2024-05-02T00:00:00Z';
const cli = JSON.parse(execFileSync(process.env.APPHUB_BIN || 'apphub', ['--json', 'timestore', 'query', 'readings',
  '--from', FROM, '--to', TO, '--every', process.env.EVERY, '--agg', 'avg:temp', '--agg', 'avg:hum']));
const near = (a, b) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

await withPage('ops-dataset', async (page, { shot }) => {
  await page.goto(`${BASE}/datasets`);
  await page.waitForSelector('#datasets-table [data-dataset="readings"]');
  await shot('list');
  await page.click('#datasets-table a[href="/datasets/readings"]');
  await page.waitForSelector('#dataset-schema [data-field="temp"]');
  await page.goto(`${BASE}/datasets/readings?from=${FROM}&to=${TO}&cols=temp,hum`);
  await page.waitForSelector('#ds-chart');
  await shot('chart');

  // one point a bucket, in both series, at the CLI's values
  const points = await page.$$eval('#ds-chart polyline.series', (ls) => ls.map((l) => [l.dataset.column, l.getAttribute('points').trim().split(/\s+/).length]));
  check(points.length === 2 && points.every(([, n]) => n === cli.rows.length),
    `a point a row in each series: ${JSON.stringify(points)} for ${cli.rows.length} rows`);
  check(Number(await page.getAttribute('#ds-chart', 'data-points')) === cli.rows.length, 'the chart says its points');

  // the crosshair by keyboard: Home, then three to the right
  await page.focus('#ds-chart');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  check(await page.getAttribute('#ds-chart', 'data-at') === '3', 'the arrow keys move the crosshair');
  const shown = await page.$eval('#ds-readout', (e) => ({
    when: e.querySelector('.when').textContent,
    temp: Number(e.querySelector('[data-column="temp"]').textContent.trim().split(' ')[1]),
  }));
  check(shown.when === cli.rows[3].timestamp && near(shown.temp, cli.rows[3].avg_temp),
    `the crosshair reads the fourth row: ${JSON.stringify(shown)} vs ${JSON.stringify(cli.rows[3])}`);
  // by the pointer: the chart's right end is the last row
  const box = await page.$eval('#ds-chart', (e) => { const r = e.getBoundingClientRect(); return { x: r.right - 2, y: r.top + r.height / 2 }; });
  await page.mouse.move(box.x, box.y);
  check(await page.getAttribute('#ds-chart', 'data-at') === String(cli.rows.length - 1), 'the pointer at the end reads the last row');
  await shot('crosshair');

  // the table: the same rows
  await page.click('#ds-view-table');
  await page.waitForSelector('#ds-table');
  const cells = await page.$$eval('#ds-table tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
  check(cells.length === cli.rows.length && cells[0][0] === cli.rows[0].timestamp &&
    near(Number(cells[5][1]), cli.rows[5].avg_temp), `the table holds the rows: ${cells.length}`);
  check(new URL(page.url()).searchParams.get('view') === 'table', 'the view is in the URL');
  await shot('table');

  // the CSV: a header, then the rows
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ds-csv')]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r\n/);
  check(csv[0] === 'timestamp,temp,hum' && csv.length === cli.rows.length + 1, `the CSV: ${csv[0]}, ${csv.length} lines`);
  const last = csv[csv.length - 1].split(',');
  check(last[0] === cli.rows.at(-1).timestamp && near(Number(last[1]), cli.rows.at(-1).avg_temp), `the CSV's last row: ${last}`);

  // a range with no rows says so
  await page.goto(`${BASE}/datasets/readings?from=2023-01-01T00:00:00Z&to=2023-01-02T00:00:00Z`);
  await page.waitForSelector('#ds-empty');
});
console.log('ok');
