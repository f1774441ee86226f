// Type a query, accept a suggestion with the keyboard, see the cards filter.
import { BASE, withPage, check, waitCards } from './lib.mjs';

await withPage('search', async (page, { shot }) => {
  await page.goto(`${BASE}/`);
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);
  await shot('all-apps');

  // "/" focuses the search box.
  await page.locator('body').press('/');
  check(await page.evaluate(() => document.activeElement.id) === 'q', '/ focuses the search input');
  const q = page.locator('#q');
  check(await q.getAttribute('role') === 'combobox', 'the input is a combobox');
  check(await q.getAttribute('aria-controls') === 'suggestions', 'aria-controls names the listbox');

  await page.keyboard.type('runt');
  await page.waitForSelector('#suggestions [role=option][data-value="runtime"]');
  check(await q.getAttribute('aria-expanded') === 'true', 'aria-expanded while the list is open');
  check(await page.locator('#suggestions').getAttribute('role') === 'listbox', 'the list is a listbox');
  await shot('key-suggested');

  // Arrow down, Enter: the key completes to "runtime:" and its values follow.
  await page.keyboard.press('ArrowDown');
  check(await q.getAttribute('aria-activedescendant') === 'sug-0', 'arrow down activates the first option');
  check(await page.locator('#sug-0').getAttribute('aria-selected') === 'true', 'the active option is selected');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#q').value === 'runtime:');
  await page.waitForSelector('#suggestions [role=option][data-value="runtime:python311"]');
  await shot('values-suggested');

  // Down to runtime:python311, Tab accepts it as a chip.
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('ArrowDown');
    const v = await page.evaluate(() => document.querySelector('[role=option][aria-selected=true]')?.dataset.value);
    if (v === 'runtime:python311') break;
  }
  await page.keyboard.press('Tab');
  await waitCards(page, ['python-notes']);
  check(await q.getAttribute('aria-expanded') === 'false', 'accepting closes the list');
  check(await page.evaluate(() => document.activeElement.id) === 'q', 'focus stays in the search box');
  const chips = await page.$$eval('#chips .chip', (els) => els.map((e) => e.textContent.replace('×', '')));
  check(chips.join() === 'runtime:python311', `one chip runtime:python311, not ${chips}`);
  check(new URL(page.url()).searchParams.get('q') === 'runtime:python311', `?q= in the URL: ${page.url()}`);
  await shot('filtered-by-chip');

  // Escape closes the list; Backspace on an empty box removes the chip.
  await page.keyboard.type('ca');
  await page.waitForSelector('#suggestions [role=option]');
  await page.keyboard.press('Escape');
  check(await q.getAttribute('aria-expanded') === 'false', 'Escape closes the list');
  check(await page.locator('#suggestions').isHidden(), 'the listbox is hidden after Escape');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);

  // "Tab to accept": with none highlighted, Tab accepts the first suggestion.
  await page.keyboard.type('runtime:');
  await page.waitForSelector('#suggestions [role=option][data-value^="runtime:"]');
  check(await q.getAttribute('aria-activedescendant') === null, 'no option is highlighted');
  const first = await page.locator('#sug-0').getAttribute('data-value');
  await page.keyboard.press('Tab');
  await page.waitForFunction((v) => [...document.querySelectorAll('#chips .chip')]
    .some((e) => e.textContent.replace('×', '') === v), first);
  check(await page.evaluate(() => document.activeElement.id) === 'q', 'Tab accepting keeps the focus');
  check(await q.inputValue() === '', `the accepted word leaves the box: "${await q.inputValue()}"`);
  check(new URL(page.url()).searchParams.get('q') === first, `?q=${first} in the URL: ${page.url()}`);
  await page.keyboard.press('Backspace');
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);
  // Shift-Tab still leaves the box, accepting nothing.
  await page.keyboard.type('ca');
  await page.waitForSelector('#suggestions [role=option]');
  await page.keyboard.press('Shift+Tab');
  check(await page.evaluate(() => document.activeElement.id) !== 'q', 'Shift-Tab leaves the search box');
  check(await page.locator('#chips .chip').count() === 0, 'Shift-Tab accepts nothing');
  check(await q.getAttribute('aria-expanded') === 'false', 'leaving closes the list');
  await q.focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);

  // Words filter too; a tag chip on a card adds itself to the search.
  await page.keyboard.type('greeting');
  await waitCards(page, ['node-hello']);
  await shot('filtered-by-word');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);
  await page.locator('[data-app="python-notes"] .chip', { hasText: 'topic:notes' }).click();
  await waitCards(page, ['python-notes']);
  check(new URL(page.url()).searchParams.get('q') === 'topic:notes', 'a card chip becomes the query');

  // A facet refines, and pressing it again undoes it.
  await page.locator('#chips .chip').click();
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);
  await page.locator('.facet button', { hasText: 'category:demo' }).click();
  await waitCards(page, ['node-hello', 'python-notes']);
  check(await page.locator('.facet button', { hasText: 'category:demo' }).getAttribute('aria-pressed') === 'true', 'the facet is pressed');
  await shot('facet');
  // Back goes to the previous search.
  await page.goBack();
  await waitCards(page, ['node-hello', 'python-notes', 'static-site', 'xss-demo']);
});
console.log('ok');
