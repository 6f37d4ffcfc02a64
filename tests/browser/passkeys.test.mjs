// Passkeys in a real browser: Chromium's virtual authenticator (CTAP2, resident keys, user
// verification) through the DevTools protocol. Register a passkey on the account page, sign out,
// sign in with it from the button and from the username field's autofill, use it as the second
// step after a password, finish a ceremony on another instance, and remove it.
// WebAuthn refuses IP addresses, so the pages are opened at http://localhost:PORT.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PASSWORD, SHOTS, launchChromium, startServer } from './support.mjs';

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

/// A page with a virtual platform authenticator that verifies its user without asking.
async function pageWithAuthenticator(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { page, cdp, authenticatorId };
}

const submitIn = (page, selector) => page.click(`${selector} button[type=submit]`);

test('a passkey registered on the account page signs in without a password, as a second step, and is removed', async () => {
  const base = server.base.replace('127.0.0.1', 'localhost');
  const context = await browser.newContext();
  const { page, cdp, authenticatorId } = await pageWithAuthenticator(context);

  await page.goto(base + '/register');
  await page.fill('#username', 'keyholder');
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);

  await page.goto(base + '/account/two-factor');
  await page.fill('#passkey-name', 'Test laptop');
  await Promise.all([page.waitForLoadState('load'), submitIn(page, 'form[data-passkey-register]')]);
  await page.waitForSelector('[data-testid=recovery-codes]');
  const codes = await page.locator('[data-testid=recovery-codes] code').allTextContents();
  assert.equal(codes.length, 10, 'the first factor comes with recovery codes');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
  await page.goto(base + '/account/two-factor');
  assert.match(await page.textContent('[data-testid=passkeys]'), /Test laptop/);
  await page.screenshot({ path: path.join(SHOTS, 'passkeys.png'), fullPage: true });

  // Sign out. The browser's autofill (conditional mediation) offers the passkey in the
  // username field; the virtual authenticator answers that pending request at once, as a
  // person picking the passkey would, and the page signs in.
  await context.clearCookies();
  await Promise.all([page.waitForURL(base + '/'), page.goto(base + '/login')]);
  await page.goto(base + '/sessions');
  assert.match(await page.textContent('main'), /with a passkey/);

  // From here on no autofill, so the buttons can be tried: "Sign in with a passkey" needs no
  // username or password.
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) window.PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  await context.clearCookies();
  await page.goto(base + '/login');
  await page.screenshot({ path: path.join(SHOTS, 'login-passkey.png'), fullPage: true });
  await Promise.all([page.waitForURL(base + '/'), submitIn(page, 'form[data-passkey-sign-in]')]);

  // After a password, the passkey is the second step.
  await context.clearCookies();
  await page.goto(base + '/login');
  await page.fill('#username', 'keyholder');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(base + '/login/second-factor'), page.click('form.form button[type=submit]')]);
  await Promise.all([page.waitForURL(base + '/'), submitIn(page, 'form[data-passkey-sign-in]')]);
  await page.goto(base + '/sessions');
  assert.match(await page.textContent('main'), /password and a passkey/);

  // A ceremony begun here, finished by another instance of the same database.
  const other = await startServer({
    LATCHKEY_DATABASE_URL: server.env.LATCHKEY_DATABASE_URL,
    LATCHKEY_SECRET_FILE: server.env.LATCHKEY_SECRET_FILE,
    LATCHKEY_PUBLIC_URL: base,
  });
  try {
    const begun = await (await fetch(base + '/api/auth/passkey/begin', { method: 'POST' })).json();
    const credential = await page.evaluate(async (options) => {
      const decode = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')
        + '='.repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0)).buffer;
      const encode = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
        .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      options.challenge = decode(options.challenge);
      const got = await navigator.credentials.get({ publicKey: options });
      return {
        id: got.id, rawId: encode(got.rawId), type: got.type,
        response: {
          authenticatorData: encode(got.response.authenticatorData),
          clientDataJSON: encode(got.response.clientDataJSON),
          signature: encode(got.response.signature),
          userHandle: encode(got.response.userHandle),
        },
        extensions: {},
      };
    }, begun.publicKey);
    const finished = await fetch(other.base + '/api/auth/passkey/finish', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ challenge_id: begun.challenge_id, credential }),
    });
    assert.equal(finished.status, 200, await finished.clone().text());
    const tokens = await finished.json();
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
    assert.deepEqual(claims.amr, ['hwk', 'mfa']);
    assert.equal(claims.acr, 'aal2');
    // Used once.
    const again = await fetch(base + '/api/auth/passkey/finish', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ challenge_id: begun.challenge_id, credential }),
    });
    assert.equal(again.status, 400);
  } finally {
    other.stop();
  }

  // Remove it (the confirmation dialog of confirm.js), and the password alone signs in again.
  await page.goto(base + '/account/two-factor');
  await page.click('[data-testid=passkeys] button');
  await Promise.all([page.waitForURL(base + '/account/two-factor'), page.locator('dialog.confirm button.danger').click()]);
  assert.match(await page.textContent('main'), /passkey is removed/);
  assert.match(await page.textContent('main'), /Off/);
  await context.clearCookies();
  await page.goto(base + '/login');
  await page.fill('#username', 'keyholder');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);
  await context.close();
});
