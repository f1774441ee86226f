// A phone's width: one column, nothing wider than the screen; dark too.
import { BASE, withPage, check, waitCards } from './lib.mjs';

for (const scheme of ['light', 'dark']) {
  await withPage(`phone-${scheme}`, async (page, { shot }) => {
    await page.goto(`${BASE}/`);
    await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `no horizontal scroll: ${width}px`);
    const xs = await page.$$eval('#cards .card', (els) => els.map((e) => Math.round(e.getBoundingClientRect().x)));
    check(new Set(xs).size === 1, `one column of cards: ${xs}`);
    const box = await page.locator('#q').boundingBox();
    check(box && box.width > 200, 'the search box is usable');
    await shot('catalogue');
    await page.click('#q');
    await page.keyboard.type('lang');
    await page.waitForSelector('#suggestions [role=option]');
    await shot('suggest');
    await page.keyboard.press('Escape');
    await page.goto(`${BASE}/apps/xss-demo`);
    await page.waitForSelector('#readme h1');
    const w2 = await page.evaluate(() => document.documentElement.scrollWidth);
    check(w2 <= 390, `app page fits: ${w2}px`);
    await shot('app');
    await page.click('#register-open');
    await shot('register');
  }, { width: 390, height: 844, colorScheme: scheme });
}
console.log('ok');
