// With APPHUB_TOKENS set, registering asks for a token once, keeps it.
import { BASE, withPage, check } from './lib.mjs';

await withPage('token', async (page, { shot }) => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#cards [data-app]');
  await page.click('#register-open');
  await page.fill('#f-repoUrl', 'https://example.com/repos/echo.git');
  await page.click('#register-submit');
  await page.waitForSelector('#token[open]');
  check(await page.evaluate(() => document.activeElement.id) === 'f-token', 'the token field has focus');
  await shot('asked');

  await page.fill('#f-token', 'wrong-token');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /refused/.test(document.querySelector('#token-why').textContent)
    && document.querySelector('#token').open);
  await shot('refused');

  await page.fill('#f-token', process.env.WEB_TOKEN);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${BASE}/apps/echo`);
  check(await page.evaluate(() => sessionStorage.getItem('apphub.token')) === process.env.WEB_TOKEN, 'the token is kept for the session');
  await shot('registered');

  // The next write does not ask again.
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#cards [data-app]');
  await page.click('#register-open');
  await page.fill('#f-repoUrl', 'https://example.com/repos/foxtrot.git');
  await page.click('#register-submit');
  await page.waitForURL(`${BASE}/apps/foxtrot`);
  check(!(await page.locator('#token').evaluate((d) => d.open)), 'no second prompt');
});
console.log('ok');
