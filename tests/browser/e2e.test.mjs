// Real-browser end-to-end tests: playwright-core drives Debian's Chromium against the real
// server (the debug binary cargo builds), with a 3 s access-token lifetime.
//
// Run: npm test (from this folder), after `cargo build`. LATCHKEY_BIN overrides the binary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as support from './support.mjs';
import { SHOTS, launchChromium, startServer } from './support.mjs';

const ACCESS_TTL_MS = 3000;

let server;
let base;
let browser;
const createAdmin = (username) => server.createAdmin(username);
const register = (page, username) => support.register(page, base, username);
const signIn = (page, username) => support.signIn(page, base, username);

async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  return { context, page };
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function callApi(page) {
  await page.evaluate(() => { document.getElementById('api-result').textContent = ''; });
  await page.click('[data-latchkey-call]');
  await page.waitForFunction(() => document.getElementById('api-result').textContent.length > 0);
  return page.textContent('#api-result');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ LATCHKEY_ACCESS_TTL: '3s' });
  base = server.base;
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

test('1. registering lands on the account page, which renews no token until an API call needs one', async () => {
  const { context, page } = await newPage();
  await page.goto(base + '/login');
  await screenshot(page, 'login');
  await page.goto(base + '/register');
  await screenshot(page, 'register');
  const refreshes = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/auth/refresh')) refreshes.push(request.url());
  });
  await register(page, 'ada');
  assert.equal(await page.textContent('[data-testid=username]'), 'ada');
  assert.equal(await page.locator('[data-latchkey-call], [data-latchkey-countdown]').count(), 0,
    'the account page is for people, not a token console');
  await screenshot(page, 'account');
  await page.goto(base + '/developer');
  await sleep(500);
  assert.equal(refreshes.length, 0, 'viewing pages refreshed the token');
  assert.match(await callApi(page), /^200/);
  assert.equal(refreshes.length, 1, 'the first call fetched the token');
  await page.waitForFunction(() => /expires in/.test(document.querySelector('[data-latchkey-countdown]').textContent));
  await screenshot(page, 'developer');
  await context.close();
});

test('2. after the access token expires, the API button still works with one refresh', async () => {
  const { context, page } = await newPage();
  await register(page, 'grace');
  await page.goto(base + '/developer');
  assert.match(await callApi(page), /^200/);
  await sleep(ACCESS_TTL_MS + 800);

  const refreshes = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/auth/refresh')) refreshes.push(request.url());
  });
  const output = await callApi(page);

  assert.match(output, /^200/);
  assert.match(output, /"username": "grace"/);
  assert.equal(refreshes.length, 1, `expected one /auth/refresh, saw ${refreshes.length}`);
  await screenshot(page, 'account-api-call');
  await context.close();
});

test('3. a device revoked from another device lands on the login page at its next API call', async () => {
  const a = await newPage();
  const b = await newPage();
  await register(a.page, 'bea');
  await signIn(b.page, 'bea');
  await b.page.goto(base + '/developer');

  await a.page.goto(base + '/sessions');
  assert.equal(await a.page.locator('li.session').count(), 2);
  await screenshot(a.page, 'sessions');
  // The button asks first, in a dialog named by what it will do.
  await a.page.click('li.session:not(.current) button[type=submit]');
  assert.match(await a.page.textContent('dialog.confirm p'), /^Revoke .+ signed in .+\?$/);
  await Promise.all([
    a.page.waitForURL(base + '/sessions'),
    a.page.click('dialog.confirm button.danger'),
  ]);
  assert.match(await a.page.textContent('.flash'), /Session revoked/);
  assert.equal(await a.page.locator('li.session').count(), 1);

  // B's page is still open; its next call must get an access token by refresh, which now fails.
  await b.page.click('[data-latchkey-call]');
  await b.page.waitForURL(/\/login\?/);
  assert.match(b.page.url(), /reason=ended/);
  await a.context.close();
  await b.context.close();
});

test('4. two tabs refreshing at the same moment keep the session alive', async () => {
  const { context, page } = await newPage();
  await register(page, 'cat');
  const second = await context.newPage();
  await second.goto(base + '/');
  for (let round = 0; round < 4; round += 1) {
    await sleep(ACCESS_TTL_MS + 200);
    const statuses = await Promise.all(
      [page, second].map((tab) => tab.evaluate(() => window.latchkey.fetch('/api/me').then((r) => r.status))),
    );
    assert.deepEqual(statuses, [200, 200], `round ${round}`);
  }
  await page.goto(base + '/sessions');
  assert.equal(page.url(), base + '/sessions', 'still signed in');
  assert.equal(await page.locator('li.session').count(), 1);
  await context.close();
});

test('5. admin pages: a user gets 403, an admin sees and revokes everyone\'s sessions and reads the audit log', async () => {
  createAdmin('root');
  const user = await newPage();
  await register(user.page, 'dan');
  const response = await user.page.goto(base + '/admin/sessions');
  assert.equal(response.status(), 403);
  await screenshot(user.page, 'forbidden');

  const admin = await newPage();
  await signIn(admin.page, 'root');
  await admin.page.goto(base + '/admin/sessions');
  const rows = admin.page.locator('tbody tr');
  const users = await rows.locator('td:first-child').allTextContents();
  assert.ok(users.includes('dan') && users.includes('root'), users.join(','));
  await screenshot(admin.page, 'admin-sessions');
  const before = await rows.count();
  await admin.page.locator('tbody tr', { hasText: 'dan' }).first().locator('button').click();
  await Promise.all([
    admin.page.waitForURL(/\/admin\/sessions/),
    admin.page.click('dialog.confirm button.danger'),
  ]);
  assert.match(await admin.page.textContent('.flash'), /Session revoked/);
  assert.equal(await rows.count(), before - 1);
  await admin.page.goto(base + '/admin/users');
  await screenshot(admin.page, 'admin-users');
  // The audit log shows dan's refused visit and the admin's revocation of his session.
  await admin.page.goto(base + '/admin/events?user=dan');
  const events = await admin.page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.event));
  assert.ok(events.includes('access_denied') && events.includes('session_revoked'), events.join(','));
  await screenshot(admin.page, 'admin-events');

  const gone = await user.page.goto(base + '/');
  assert.match(gone.url(), /\/login\?/);
  await user.context.close();
  await admin.context.close();
});

test('6. after logout the old refresh cookie, replayed, is refused', async () => {
  const { context, page } = await newPage();
  await register(page, 'eve');
  const cookie = (await context.cookies()).find((c) => c.name === 'latchkey_refresh');
  assert.ok(cookie, 'refresh cookie present');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie.includes('latchkey_refresh')), false);

  await Promise.all([page.waitForURL(/\/login\?reason=signed_out/), page.click('nav button[type=submit]')]);
  assert.match(await page.textContent('.flash'), /signed out/);

  const replay = await fetch(base + '/auth/refresh', {
    method: 'POST',
    headers: { 'X-Latchkey-Refresh': '1', Cookie: `latchkey_refresh=${cookie.value}` },
  });
  assert.equal(replay.status, 401);
  await page.goto(base + '/no-such-page');
  await screenshot(page, 'not-found');
  await context.close();
});

test('7. Swagger UI renders offline under its CSP, with Authorize, and calls the API', async () => {
  const { context, page } = await newPage();
  const problems = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(String(error)));
  // Nothing may leave the machine: any request to another host fails the test.
  page.on('request', (request) => {
    if (!request.url().startsWith(base)) problems.push(`external request: ${request.url()}`);
  });
  await page.goto(base + '/docs');
  await page.waitForSelector('.swagger-ui .info .title');
  assert.match(await page.textContent('.swagger-ui .info .title'), /Latchkey/);
  await page.waitForSelector('button.authorize');
  assert.ok(await page.locator('.opblock-tag').count() >= 5);
  await screenshot(page, 'docs');
  assert.deepEqual(problems, []);
  await context.close();
});

test('8. a refresh whose answer never reached the browser leaves the page working 30 s later', async () => {
  const { context, page } = await newPage();
  await register(page, 'fay');
  await page.goto(base + '/developer');
  assert.match(await callApi(page), /^200/);
  // The next /auth/refresh reaches the server, which rotates the token, but its answer never
  // reaches the browser (as when a click or a closed tab aborts the fetch): the request is sent
  // from here with the browser's cookie, and the browser's own request fails.
  let lost = 0;
  await page.route('**/auth/refresh', async (route) => {
    lost += 1;
    const cookie = (await context.cookies()).find((c) => c.name === 'latchkey_refresh');
    const answer = await fetch(base + '/auth/refresh', {
      method: 'POST',
      headers: { 'X-Latchkey-Refresh': '1', Cookie: `latchkey_refresh=${cookie.value}` },
    });
    assert.equal(answer.status, 200, 'the server rotated the token');
    await route.abort('aborted');
    await page.unroute('**/auth/refresh');
  });
  await sleep(ACCESS_TTL_MS + 500);
  assert.match(await callApi(page), /^Request failed/);
  assert.equal(lost, 1);

  // Well past the 10 s reuse grace window: the old cookie gets the successor it missed.
  await sleep(30000);
  const output = await callApi(page);
  assert.match(output, /^200/);
  assert.match(output, /"username": "fay"/);
  await sleep(ACCESS_TTL_MS + 500);
  assert.match(await callApi(page), /^200/, 'and the session rotates on as usual');
  await context.close();
});
