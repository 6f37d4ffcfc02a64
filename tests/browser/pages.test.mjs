// Pages that know who is looking, in a real browser: registration offered only where it is
// open, the signed-in menu everywhere, no registering over a live sign-in, a form sent after
// its session ended, the audit log's columns and filter, unique button names, and the hidden
// username that password managers need.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, launchChromium, register, signIn, startServer } from './support.mjs';

let open;
let closed;
let browser;

before(async () => {
  [open, closed] = await Promise.all([startServer(), startServer({ LATCHKEY_REGISTRATION: 'closed' })]);
  open.createAdmin('root');
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  for (const server of [open, closed]) if (server) server.stop();
});

async function page(options = {}) {
  const context = await browser.newContext(options);
  const tab = await context.newPage();
  tab.setDefaultTimeout(10000);
  return { context, tab };
}

test('5. with registration closed no page offers an account, and /register says why', async () => {
  const { context, tab } = await page();
  await tab.goto(closed.base + '/login');
  assert.equal(await tab.locator('a[href="/register"]').count(), 0);
  const response = await tab.goto(closed.base + '/register');
  assert.equal(response.status(), 403);
  assert.match(await tab.textContent('.alert'), /Registration is closed/);
  assert.equal(await tab.locator('form[action="/register"]').count(), 0);
  await context.close();
});

test('6. signed in, the 404 page shows the menu and /register leads to the account', async () => {
  const { context, tab } = await page();
  await register(tab, open.base, 'nora');
  await tab.goto(open.base + '/no-such-page');
  assert.match(await tab.textContent('nav'), /Sign out/);
  await tab.goto(open.base + '/register');
  assert.equal(tab.url(), open.base + '/');
  assert.equal(await tab.textContent('[data-testid=username]'), 'nora');
  await context.close();
});

test('7. a form sent after the session ended elsewhere leads to sign-in and back to the form', async () => {
  const { context, tab } = await page();
  await register(tab, open.base, 'otto');
  await tab.goto(open.base + '/account/password');
  // Signed out elsewhere: another sign-in signs out every other device.
  const login = await fetch(open.base + '/api/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'otto', password: PASSWORD }),
  });
  const { access_token: access } = await login.json();
  await fetch(open.base + '/api/sessions', { method: 'DELETE', headers: { Authorization: `Bearer ${access}` } });

  await tab.fill('#current_password', PASSWORD);
  await tab.fill('#new_password', 'a completely new passphrase 2027');
  await tab.fill('#new_password_confirm', 'a completely new passphrase 2027');
  await Promise.all([tab.waitForURL(/\/login\?/), tab.click('form.form button[type=submit]')]);
  assert.match(await tab.textContent('.flash, .alert, main'), /nothing was changed/);
  await tab.fill('#username', 'otto');
  await tab.fill('#password', PASSWORD);
  await Promise.all([tab.waitForURL(open.base + '/account/password'), tab.click('form.form button[type=submit]')]);
  await context.close();
});

test('9, 10. the audit log names who acted and leaves routine renewals out unless asked', async () => {
  const { context, tab } = await page();
  await signIn(tab, open.base, 'root');
  await tab.goto(open.base + '/admin/events');
  const headers = await tab.locator('thead th').allTextContents();
  assert.ok(headers.includes('By'), headers.join(','));
  assert.equal(await tab.isChecked('input[name=routine]'), false);
  await tab.selectOption('#exclude', 'login_succeeded');
  await Promise.all([tab.waitForURL(/exclude=login_succeeded/), tab.click('form.filter button[type=submit]')]);
  const shown = await tab.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.dataset.event));
  assert.ok(!shown.includes('login_succeeded'), shown.join(','));
  await context.close();
});

test('14. sessions from the same kind of browser, address and minute get buttons with different names', async () => {
  const first = await page();
  await register(first.tab, open.base, 'pia');
  const others = [await page(), await page()];
  for (const other of others) await signIn(other.tab, open.base, 'pia');
  await first.tab.goto(open.base + '/sessions');
  const names = await first.tab.locator('li.session button').allTextContents();
  assert.equal(names.length, 3);
  assert.equal(new Set(names).size, 3, names.join(' | '));
  for (const context of [first, ...others].map((p) => p.context)) await context.close();
});

test('16. the change-password form names the account for password managers', async () => {
  const { context, tab } = await page();
  await register(tab, open.base, 'quinn');
  await tab.goto(open.base + '/account/password');
  const field = tab.locator('input[autocomplete=username]');
  assert.equal(await field.inputValue(), 'quinn');
  assert.equal(await field.isVisible(), false);
  await context.close();
});
