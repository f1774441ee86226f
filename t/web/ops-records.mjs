// Records: a namespace searched with q (field names and values suggested as
// they are typed), a record's versions and their diff, an edit saved with
// expectedVersion, and one that meets a newer version: the 409 shown as a
// conflict, then kept on purpose.
import { execFileSync } from 'node:child_process';
import { BASE, withPage, check } from './lib.mjs';

const apphub = (...args) => execFileSync(process.env.APPHUB_BIN || 'apphub', args, { stdio: ['ignore', 'ignore', 'inherit'] });
const options = (page) => page.$$eval('#rq-list [role=option]', (els) => els.map((e) => e.dataset.value));
const keys = (page) => page.$$eval('#records [data-key]', (els) => els.map((e) => e.dataset.key).sort().join(','));

await withPage('ops-records', async (page, { shot }) => {
  await page.goto(`${BASE}/records`);
  await page.waitForSelector('#namespaces [data-namespace="other"]');
  await shot('namespaces');
  await page.click('#namespaces a[href="/records/demo"]');
  await page.waitForFunction(() => document.querySelectorAll('#records [data-key]').length === 2);

  // "/" comes to the search box; "na" suggests the field name; Tab takes it
  // and the values seen follow.
  await page.click('#view-ops h1');
  await page.keyboard.press('/');
  check(await page.evaluate(() => document.activeElement.id) === 'rq', '/ focuses the record search');
  await page.keyboard.type('na');
  await page.waitForSelector('#rq-list [role=option]');
  check((await options(page)).includes('name:'), `name is suggested: ${await options(page)}`);
  await shot('suggest-field');
  await page.keyboard.press('Tab');
  check(await page.inputValue('#rq') === 'name:', 'Tab takes the field');
  await page.waitForSelector('#rq-list [data-value="name:alpha"]');
  await shot('suggest-value');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => [...document.querySelectorAll('#records [data-key]')].map((e) => e.dataset.key).join() === 'alpha');
  check(new URL(page.url()).searchParams.get('q') === 'name:alpha', `the query is in the URL: ${page.url()}`);
  await shot('search');

  // A nested field, named as the filter names it.
  await page.fill('#rq', '');
  await page.keyboard.type('tea');
  await page.waitForSelector('#rq-list [data-value="metadata.owner.team:"]');
  await page.keyboard.press('Tab');
  await page.keyboard.type('y');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => [...document.querySelectorAll('#records [data-key]')].map((e) => e.dataset.key).join() === 'alpha');
  await page.fill('#rq', 'size>3');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#records [data-key]').length === 2);
  check(await keys(page) === 'alpha,beta', 'size>3');
  // A query that does not parse is said so, plainly.
  await page.fill('#rq', 'size>');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#records-body .error-box');
  check((await page.textContent('#records-body .error-box')).includes('400'), 'the 400 is shown');
  await shot('bad-query');

  // The record: its JSON, its versions, the diff between them.
  await page.goto(`${BASE}/records/demo/alpha`);
  await page.waitForSelector('#record-version[data-version="2"]');
  await page.waitForSelector('#diff [data-path="metadata.size"]');
  check((await page.textContent('#diff')).includes('~ metadata.size: 3 → 4'), 'the diff of version 1 and 2');
  check(await page.locator('#audit-table [data-version]').count() === 2, 'two versions in the audit trail');
  await shot('record');

  // An edit: saved with the version it was made from.
  const edit = async (fn) => {
    await page.click('#edit-open');
    const doc = JSON.parse(await page.inputValue('#edit-text'));
    fn(doc);
    await page.fill('#edit-text', JSON.stringify(doc, null, 2));
  };
  await edit((d) => { d.metadata.size = 50; });
  await page.click('#edit-save');
  await page.waitForSelector('#record-version[data-version="3"]');
  check(await page.isHidden('#editor'), 'the editor closes once saved');
  await page.waitForSelector('#diff [data-path="metadata.size"]');
  check((await page.textContent('#diff')).includes('~ metadata.size: 4 → 50'), 'the diff follows the newest version');

  // Another edit, while someone else writes the record: a conflict.
  await edit((d) => { d.metadata.size = 99; d.metadata.note = 'from the page'; });
  apphub('metastore', 'put', 'demo', 'alpha', '--metadata-json', '{"name":"alpha","size":77,"owner":{"team":"z"}}', '--tag', 't1', '--expected-version', '3');
  await page.waitForSelector('#record-version[data-version="4"]');
  check(await page.isVisible('#editor'), 'the open editor stays open as the record changes');
  await page.click('#edit-save');
  await page.waitForSelector('#conflict');
  const text = await page.textContent('#conflict');
  check(/Version conflict/.test(text), 'said to be a version conflict');
  check(/You edited version 3, but the record is at version 4 now/.test(text), `which versions: ${text}`);
  check(/409/.test(text), 'the status is shown');
  check(/size: 50 → 77/.test(text), `what changed meanwhile: ${text}`);
  await shot('conflict');

  // Keep the edit on purpose: based on version 4 now.
  await page.click('#conflict-overwrite');
  check((await page.textContent('#edit-h')).includes('version 4'), 'the edit is based on version 4');
  await page.click('#edit-save');
  await page.waitForSelector('#record-version[data-version="5"]');
  await page.waitForSelector('#diff [data-path="metadata.note"]');
  check((await page.textContent('#diff')).includes('+ metadata.note: "from the page"'), 'the diff of 4 and 5');
  // Any two versions: from 1 to 5.
  await page.check('#audit-table [data-version="1"] input[name="from"]');
  await page.waitForFunction(() => document.querySelector('#diff-box').textContent.includes('From version 1 to version 5'));
  await shot('saved');
});
console.log('ok');
