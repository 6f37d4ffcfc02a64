// What the browser test files share: the real server (the debug binary cargo builds) with its
// own data folder, an admin made with the command line, and Debian's Chromium.
import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.LATCHKEY_BIN || path.resolve(here, '../../target/debug/latchkey');
export const SHOTS = path.join(here, 'screenshots');
export const PASSWORD = 'correct horse battery staple';

/// Starts a server on a free port; resolves to { base, env, createAdmin, stop }.
export function startServer(settings = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-e2e-'));
  const env = {
    ...process.env,
    LATCHKEY_ADDR: '127.0.0.1:0',
    LATCHKEY_DATABASE_URL: path.join(dataDir, 'latchkey.db'),
    LATCHKEY_SECRET_FILE: path.join(dataDir, 'secret.key'),
    LATCHKEY_BCRYPT_COST: '4',
    LATCHKEY_LOG: 'warn,latchkey::cli=info',
    NO_COLOR: '1',
    ...settings,
  };
  // The server writes its port to this file once listening (never parse the log for it).
  const portFile = path.join(dataDir, 'port');
  const server = spawn(BIN, ['--port-file', portFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (chunk) => { log += chunk; });
  const createAdmin = (username) => {
    const result = spawnSync(BIN, ['user', 'add', username, '--admin', '--password-stdin'], {
      env,
      input: PASSWORD + '\n',
    });
    assert.equal(result.status, 0, String(result.stderr));
  };
  const stop = () => {
    server.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const started = Date.now();
    server.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
    const poll = setInterval(() => {
      if (existsSync(portFile)) {
        clearInterval(poll);
        const port = readFileSync(portFile, 'utf8').split('\n')[0].trim();
        resolve({ base: `http://127.0.0.1:${port}`, env, createAdmin, stop });
      } else if (Date.now() - started > 15000) {
        clearInterval(poll);
        reject(new Error('server did not start:\n' + log));
      }
    }, 10);
  });
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/// Signs in on the page's server at `base`; resolves on the account page.
export async function signIn(page, base, username) {
  await page.goto(base + '/login');
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);
}

/// Creates an account through the form; resolves on the account page, signed in.
export async function register(page, base, username) {
  await page.goto(base + '/register');
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForURL(base + '/'), page.click('form.form button[type=submit]')]);
}

/// The test SMTP server: the one `tests/run` started (LATCHKEY_TEST_SMTP_PORT and
/// LATCHKEY_TEST_MAIL_SPOOL), else one of our own (tests/mail/start). Resolves to
/// { url, spool, stop }: `url` is the LATCHKEY_SMTP_URL for it.
export async function startMailServer() {
  const shared = process.env.LATCHKEY_TEST_SMTP_PORT;
  if (shared && process.env.LATCHKEY_TEST_MAIL_SPOOL) {
    return { url: `smtp://127.0.0.1:${shared}?tls=none`, spool: process.env.LATCHKEY_TEST_MAIL_SPOOL, stop() {} };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-smtp-'));
  const portFile = path.join(dir, 'port');
  const spool = path.join(dir, 'spool');
  const child = spawn(path.resolve(here, '../mail/start'), ['--spool', spool, '--port-file', portFile], { stdio: 'inherit' });
  const started = Date.now();
  while (!existsSync(portFile)) {
    if (Date.now() - started > 60000) throw new Error('the test SMTP server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const port = readFileSync(portFile, 'utf8').trim();
  return { url: `smtp://127.0.0.1:${port}?tls=none`, spool, stop() { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

/// The text part of a raw mail, transfer encoding undone.
function textOf(raw) {
  const parts = raw.split(/\r?\n(?=--)/);
  const plain = parts.find((part) => /content-type:\s*text\/plain/i.test(part)) || raw;
  const [head, ...rest] = plain.split(/\r?\n\r?\n/);
  let body = rest.join('\n\n');
  if (/content-transfer-encoding:\s*base64/i.test(head)) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  } else if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    body = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  }
  return body;
}

/// Waits for the `count`-th mail to `to` in the spool; resolves to its text.
export async function mailTo(spool, to, count = 1) {
  const started = Date.now();
  for (;;) {
    const mails = (existsSync(spool) ? readdirSync(spool) : [])
      .filter((name) => name.endsWith('.eml'))
      .sort()
      .map((name) => readFileSync(path.join(spool, name), 'utf8'))
      .filter((raw) => raw.split(/\r?\n/, 1)[0].toLowerCase() === `x-test-envelope-to: ${to}`.toLowerCase());
    if (mails.length >= count) return textOf(mails[count - 1]);
    if (Date.now() - started > 20000) throw new Error(`no mail number ${count} for ${to}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/// The link to `pathname` in a mail's text.
export function linkIn(text, pathname) {
  const found = text.match(new RegExp(`https?://\\S+${pathname.replace('/', '\\/')}\\?token=[A-Za-z0-9_-]+`));
  assert.ok(found, `no ${pathname} link in: ${text}`);
  return found[0];
}

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/// RFC 6238, as an authenticator app computes it: the 6 digits for a base32 `secret`
/// `offset` seconds from now.
export function totp(secret, offset = 0) {
  const step = Math.floor((Date.now() / 1000 + offset) / 30);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const at = mac[19] & 0x0f;
  const value = (mac.readUInt32BE(at) & 0x7fffffff) % 1000000;
  return String(value).padStart(6, '0');
}

/// Registers `username` through the API and sets up an authenticator app for it; resolves to
/// the app's secret and the recovery codes.
export async function registerWithTotp(base, username) {
  const json = { 'content-type': 'application/json' };
  await fetch(base + '/api/auth/register', { method: 'POST', headers: json, body: JSON.stringify({ username, password: PASSWORD }) });
  const login = await (await fetch(base + '/api/auth/login', { method: 'POST', headers: json, body: JSON.stringify({ username, password: PASSWORD }) })).json();
  const bearer = { ...json, authorization: `Bearer ${login.access_token}` };
  const setup = await (await fetch(base + '/api/me/totp', { method: 'POST', headers: bearer, body: '{}' })).json();
  const confirmed = await fetch(base + '/api/me/totp/confirm', { method: 'POST', headers: bearer, body: JSON.stringify({ code: totp(setup.secret) }) });
  if (confirmed.status !== 200) throw new Error(`TOTP set-up answered ${confirmed.status}`);
  return { secret: setup.secret, recoveryCodes: (await confirmed.json()).recovery_codes };
}
