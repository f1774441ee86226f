// The app page: README rendered by cmark with no raw HTML, tags, history.
import { BASE, withPage, check, waitCards } from './lib.mjs';

await withPage('app', async (page, { shot }) => {
  await page.goto(`${BASE}/`);
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);
  await page.click('[data-app="xss-demo"] h2 a');
  await page.waitForSelector('#readme h1');
  check(new URL(page.url()).pathname === '/apps/xss-demo', `the URL is the app's: ${page.url()}`);
  check((await page.textContent('#readme h1')).trim() === 'XSS demo', 'the README heading is rendered');
  check(await page.locator('#readme em').count() >= 1, 'emphasis is rendered');
  check(await page.locator('#readme pre code').count() === 1, 'the code block is rendered');
  check(await page.locator('#readme script, #readme img[onerror], #readme iframe').count() === 0, 'no raw HTML in the README');
  check(await page.evaluate(() => window.__pwned === undefined), 'the README script did not run');
  check(!(await page.locator('#readme a', { hasText: 'click me' }).getAttribute('href') || '').startsWith('javascript:'), 'no javascript: link');
  await page.waitForFunction(() => document.querySelectorAll('#history li').length === 3);
  check((await page.textContent('#history li:first-child .msg')).includes('Ingestion succeeded'), 'newest first');
  check(await page.locator('.tags-list .chip', { hasText: 'framework:nextjs' }).count() === 1, 'tags are listed');
  await shot('readme');

  // Opened directly (a browser asks for text/html), the page renders it too.
  await page.goto(`${BASE}/apps/python-notes`);
  await page.waitForSelector('#readme h1');
  check((await page.textContent('#app-name')).trim() === 'python-notes', 'direct load of an app page');
  await shot('direct');

  // A tag on the app page becomes a search.
  await page.locator('.tags-list .chip', { hasText: 'language:python' }).click();
  await waitCards(page, ['python-notes']);
  check(new URL(page.url()).searchParams.get('q') === 'language:python', 'the tag is the query');

  await page.goto(`${BASE}/apps/no-such-app`);
  await page.waitForSelector('#app-name');
  check((await page.textContent('#app-name')).includes('No such app'), 'an unknown app says so');
});
console.log('ok');
