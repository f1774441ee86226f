// The page of serve writes (its cookie goes with it); a page of another
// origin on the same host (another port: the same site, so the browser
// sends serve's SameSite=Strict cookie along) tries what a browser lets any
// page send without asking: a no-cors text/plain fetch, a text/plain form
// and a urlencoded form, plus a JSON fetch (preflighted) and a read.
// None of it may register an app or read the API.
import { createServer } from 'node:http';
import { BASE, withPage, check } from './lib.mjs';

const json = (id) => JSON.stringify({ repoUrl: `https://example.com/repos/${id}.git`, id });
const evilPage = `<!doctype html><meta charset="utf-8"><title>evil</title>
<form id="plain" method="POST" action="${BASE}/apps" enctype="text/plain">
<input name='{"repoUrl":"https://example.com/repos/evil-form.git","id":"evil-form","x":"' value='"}'>
</form>
<form id="urlenc" method="POST" action="${BASE}/apps">
<input name="repoUrl" value="https://example.com/repos/evil-urlenc.git"><input name="id" value="evil-urlenc">
</form>
<script>
window.results = [];
(async () => {
  try {
    await fetch('${BASE}/apps', { method: 'POST', mode: 'no-cors',
      headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(json('evil-fetch'))} });
    results.push('no-cors sent');
  } catch (e) { results.push('no-cors failed'); }
  try {
    const r = await fetch('${BASE}/apps', { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(json('evil-cors'))} });
    results.push('cors ' + r.status);
  } catch (e) { results.push('cors blocked'); }
  try {
    const r = await fetch('${BASE}/apps');
    results.push('read ' + r.status + ' ' + (await r.text()).slice(0, 40));
  } catch (e) { results.push('read blocked'); }
  document.title = 'done';
})();
</script>`;

const evil = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(evilPage);
});
await new Promise((ok) => evil.listen(0, '127.0.0.1', ok));
const EVIL = `http://127.0.0.1:${evil.address().port}`;

try {
  await withPage('crosssite', async (page, { shot }) => {
    // The page of serve: it sets the cookie, and its write is accepted.
    await page.goto(`${BASE}/`);
    await page.waitForSelector('#cards [data-app]');
    await page.click('#register-open');
    await page.fill('#f-repoUrl', 'https://example.com/repos/good.git');
    await page.click('#register-submit');
    await page.waitForURL(`${BASE}/apps/good`);
    await shot('same-site-registered');
    const cookies = await page.context().cookies(BASE);
    check(cookies.some((c) => c.name.startsWith('apphub-page-') && c.httpOnly && c.sameSite === 'Strict'),
      'the page set its HttpOnly, SameSite=Strict cookie');

    // Another origin of the same host: fetches.
    await page.goto(`${EVIL}/`);
    await page.waitForFunction(() => document.title === 'done');
    const results = await page.evaluate(() => window.results);
    await shot('other-origin-fetches');
    check(results[0] === 'no-cors sent', `the no-cors POST went out: ${results}`);
    check(results[1] === 'cors blocked', `the JSON POST was stopped at its preflight: ${results}`);
    check(results[2] === 'read blocked', `the read was not let through: ${results}`);

    // Its forms navigate to serve, which refuses them.
    for (const form of ['plain', 'urlenc']) {
      await page.goto(`${EVIL}/`);
      await page.waitForFunction(() => document.title === 'done');
      await Promise.all([
        page.waitForURL(`${BASE}/apps`),
        page.evaluate((id) => document.getElementById(id).submit(), form),
      ]);
      const text = await page.textContent('body');
      await shot(`form-${form}-refused`);
      check(/cross-origin request refused/.test(text), `the ${form} form was refused: ${text}`);
    }
  }, { ignore: /has been blocked by CORS policy/ });
} finally {
  evil.close();
}
console.log('ok');
