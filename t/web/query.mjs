// Open ?q= directly: the chips, the words and the cards come from the URL.
import { BASE, withPage, check, waitCards } from './lib.mjs';

await withPage('query', async (page, { shot }) => {
  await page.goto(`${BASE}/?q=${encodeURIComponent('category:demo node')}`);
  await waitCards(page, ['node-hello']);
  const chips = await page.$$eval('#chips .chip', (els) => els.map((e) => e.textContent.replace('×', '')));
  check(chips.join() === 'category:demo', `chip category:demo, not ${chips}`);
  check(await page.inputValue('#q') === 'node', 'the words are in the box');
  await shot('shared-query');

  await page.goto(`${BASE}/?q=${encodeURIComponent('nothing-matches-this')}`);
  await page.waitForSelector('#empty:not([hidden])');
  await shot('no-results');

  await page.goto(`${BASE}/?status=ready&q=example:true`);
  await waitCards(page, ['node-hello', 'python-notes', 'static-site']);
  check(await page.locator('.facet button', { hasText: 'ready' }).getAttribute('aria-pressed') === 'true', 'the status facet is pressed');
  await shot('status-and-tag');
});
console.log('ok');
