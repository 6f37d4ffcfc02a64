// Account recovery in a real browser, with a real SMTP server: register with an address,
// confirm it from the mail, forget the password, reset it from the mail, sign in again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PASSWORD, SHOTS, launchChromium, linkIn, mailTo, startMailServer, startServer } from './support.mjs';

const NEW_PASSWORD = 'a new passphrase after forgetting';
let mail;
let server;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  mail = await startMailServer();
  server = await startServer({ LATCHKEY_SMTP_URL: mail.url });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
  if (mail) mail.stop();
});

test('forgot password: the link from a real mail sets a new password, and the old one stops working', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const base = server.base;
  const email = `forgetful-${Date.now()}@example.com`;

  await page.goto(base + '/register');
  await page.fill('#username', 'forgetful');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);

  // Confirm the address: opening the link shows a button; pressing it confirms.
  await page.goto(linkIn(await mailTo(mail.spool, email, 1), '/verify'));
  await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
  assert.match(await page.textContent('main'), /is confirmed/);

  // Sign out, then "Forgot your password?" from the sign-in page.
  await page.goto(base + '/sessions');
  await context.clearCookies();
  await page.goto(base + '/login');
  await Promise.all([page.waitForURL(base + '/forgot'), page.click('a[href="/forgot"]')]);
  await page.screenshot({ path: path.join(SHOTS, 'forgot.png'), fullPage: true });
  await page.fill('#identifier', email);
  await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
  assert.match(await page.textContent('main'), /we have sent it a link/);

  const link = linkIn(await mailTo(mail.spool, email, 2), '/reset');
  await page.goto(link);
  await page.screenshot({ path: path.join(SHOTS, 'reset.png'), fullPage: true });
  assert.match(await page.textContent('main'), /forgetful/);
  await page.fill('#new_password', NEW_PASSWORD);
  await page.fill('#new_password_confirm', NEW_PASSWORD);
  await Promise.all([page.waitForURL(base + '/login'), page.click('form.form button[type=submit]')]);
  assert.match(await page.textContent('main'), /Your password is set/);

  await page.fill('#username', 'forgetful');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
  assert.match(await page.textContent('.alert'), /Invalid username or password/);
  await page.fill('#username', 'forgetful');
  await page.fill('#password', NEW_PASSWORD);
  await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);

  // The used link says so.
  await page.goto(link);
  assert.match(await page.textContent('main'), /does not work any more/);
  assert.match(await mailTo(mail.spool, email, 3), /password of your account was just reset/);
  await context.close();
});
