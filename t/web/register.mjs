// Registration errors are shown by the field they concern.
import { BASE, withPage, check } from './lib.mjs';

await withPage('register', async (page, { shot }) => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#cards [data-app]');
  await page.keyboard.press('Tab');	// the skip link first
  await page.click('#register-open');

  await page.click('#register-submit');
  await page.waitForSelector('#e-repoUrl:not([hidden])');
  check(await page.getAttribute('#f-repoUrl', 'aria-invalid') === 'true', 'an empty URL is refused');

  await page.fill('#f-repoUrl', 'not a url');
  await page.click('#register-submit');
  await page.waitForFunction(() => /invalid repoUrl/.test(document.querySelector('#e-repoUrl').textContent));
  check(await page.evaluate(() => document.activeElement.id) === 'f-repoUrl', 'focus goes to the field in error');
  check(await page.getAttribute('#f-repoUrl', 'aria-describedby') === 'e-repoUrl', 'the error describes the field');
  await shot('bad-url');

  await page.fill('#f-repoUrl', 'https://example.com/repos/node-hello.git');
  await page.fill('#f-id', 'node-hello');
  await page.click('#register-submit');
  await page.waitForSelector('#e-id:not([hidden])');
  check(await page.locator('#e-repoUrl').isHidden(), 'the URL error is gone');
  await shot('taken-id');

  await page.fill('#f-id', 'Bad Id');
  await page.click('#register-submit');
  await page.waitForFunction(() => /invalid id/.test(document.querySelector('#e-id').textContent));

  await page.fill('#f-id', 'echo-app');
  await page.fill('#f-dockerfilePath', '../Dockerfile');
  await page.click('#register-submit');
  await page.waitForSelector('#e-dockerfilePath:not([hidden])');
  await shot('bad-dockerfile');

  await page.keyboard.press('Escape');
  check(!(await page.locator('#register').evaluate((d) => d.open)), 'Escape closes the dialog');
});
console.log('ok');
