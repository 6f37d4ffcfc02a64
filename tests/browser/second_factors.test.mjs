// Two-factor sign-in in a real browser: set up an authenticator app from the account page
// (the code computed here from the key the page shows, as a phone would), sign in with it and
// with a recovery code, have an admin reset it for someone who lost the phone, and be asked to
// confirm who you are before a password change once the sign-in is no longer recent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PASSWORD, SHOTS, launchChromium, register, registerWithTotp, signIn, startServer, totp } from './support.mjs';

let server;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

async function passwordStep(page, base, username) {
  await page.goto(base + '/login');
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(base + '/login/second-factor'), page.click('form.form button[type=submit]')]);
}

test('an authenticator app set up on the account page is asked for at sign-in; a recovery code works once; an admin can reset it', async () => {
  const base = server.base;
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  await register(page, base, 'phoneowner');

  await page.click('a[href="/account/two-factor"]');
  await page.screenshot({ path: path.join(SHOTS, 'two-factor-off.png'), fullPage: true });
  await Promise.all([page.waitForURL(base + '/account/two-factor/totp'), page.click('form[action="/account/two-factor/totp"] button')]);
  const qr = await page.locator('img.qr').evaluate((img) => img.complete && img.naturalWidth > 0);
  assert.ok(qr, 'the QR code image loads under the CSP');
  await page.screenshot({ path: path.join(SHOTS, 'totp-setup.png'), fullPage: true });
  const secret = (await page.textContent('[data-testid=totp-secret]')).trim();
  await page.fill('#code', '000000');
  await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
  assert.match(await page.textContent('.alert'), /not right/);
  await page.fill('#code', totp(secret));
  await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
  const codes = await page.locator('[data-testid=recovery-codes] code').allTextContents();
  assert.equal(codes.length, 10);
  await page.screenshot({ path: path.join(SHOTS, 'recovery-codes.png'), fullPage: true });

  // Sign out; the password alone is not enough any more. (The set-up used this step's code,
  // so the phone's next code, one step ahead, is the one to type.)
  await context.clearCookies();
  await passwordStep(page, base, 'phoneowner');
  await page.screenshot({ path: path.join(SHOTS, 'second-factor.png'), fullPage: true });
  await page.fill('#code', '123 456'.replace(' ', ''));
  await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
  assert.match(await page.textContent('.alert'), /not right/);
  await page.fill('#code', totp(secret, 30));
  await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);
  await page.goto(base + '/sessions');
  assert.match(await page.textContent('main'), /password and a one-time code/);

  // A recovery code, from the page's "No phone at hand?".
  await context.clearCookies();
  await passwordStep(page, base, 'phoneowner');
  await page.click('summary');
  await page.fill('#recovery_code', codes[0]);
  await Promise.all([page.waitForURL(base + '/'), page.click('details form button[type=submit]')]);
  await page.goto(base + '/account/two-factor');
  assert.equal((await page.textContent('[data-testid=codes-left]')).trim(), '9');
  await context.clearCookies();
  await passwordStep(page, base, 'phoneowner');
  await page.click('summary');
  await page.fill('#recovery_code', codes[0]);
  await Promise.all([page.waitForLoadState('load'), page.click('details form button[type=submit]')]);
  assert.match(await page.textContent('.alert'), /used already/);

  // The phone and the codes are lost: an admin resets the second factors.
  server.createAdmin('helpdesk');
  const admin = await (await browser.newContext()).newPage();
  admin.setDefaultTimeout(10000);
  await signIn(admin, base, 'helpdesk');
  await admin.goto(base + '/admin/users');
  const row = admin.locator('tr', { hasText: 'phoneowner' });
  assert.match(await row.textContent(), /authenticator app/);
  admin.once('dialog', () => {});
  await row.locator('button', { hasText: 'Reset second factors' }).click();
  await Promise.all([admin.waitForURL(/\/admin\/users/), admin.locator('dialog.confirm button.danger').click()]);
  assert.match(await admin.textContent('main'), /second factors of phoneowner are reset/);

  await page.goto(base + '/login');
  await signIn(page, base, 'phoneowner');
  await page.goto(base + '/account/two-factor');
  assert.match(await page.textContent('main'), /Off/);
  await context.close();
});

test('with a second factor, a password change after the window asks to confirm and comes back to the form', async () => {
  // The shortest window allowed, so the test can outwait it (the default is 10 minutes); ages
  // are whole seconds, so past it means 11 s later.
  const short = await startServer({ LATCHKEY_REAUTH_WINDOW: '10s' });
  try {
    const base = short.base;
    const { secret, recoveryCodes } = await registerWithTotp(base, 'stepper');
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    await passwordStep(page, base, 'stepper');
    await page.fill('#code', totp(secret, 30));
    await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);
    await new Promise((resolve) => setTimeout(resolve, 11500));

    await page.goto(base + '/account/password');
    assert.equal(page.url(), base + '/account/confirm-identity?next=%2Faccount%2Fpassword');
    await page.screenshot({ path: path.join(SHOTS, 'confirm-identity.png'), fullPage: true });
    await page.click('summary');
    await page.fill('#recovery_code', recoveryCodes[0]);
    await Promise.all([page.waitForURL(base + '/account/password'), page.click('details form button[type=submit]')]);
    const fresh = 'a fresh passphrase for stepping up';
    await page.fill('#current_password', PASSWORD);
    await page.fill('#new_password', fresh);
    await page.fill('#new_password_confirm', fresh);
    await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);
    assert.match(await page.textContent('main'), /Password changed/);
    await context.close();
  } finally {
    short.stop();
  }
});
