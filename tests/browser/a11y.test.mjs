// Accessibility, checked by a machine: axe-core (WCAG 2.0-2.2, A and AA) on every page, signed
// out, signed in and as an admin, with a form error shown, in light and dark mode, on a desktop
// and a phone screen. Zero violations. (What axe cannot judge, such as focus-ring and border
// contrast, is set in static/app.css with its measured ratios.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PASSWORD, SHOTS, launchChromium, register, registerWithTotp, signIn, startServer } from './support.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
// The README's phone screenshots, taken on the way.
const PHONE_SHOTS = { account: 'phone-account', sessions: 'phone-sessions', 'audit log': 'phone-audit-log' };
const SCREENS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

let server;
let browser;

before(async () => {
  // Dozens of sign-ins a minute from one address, all on purpose: the per-address limit (30
  // a minute; tests/api/rate_limits.rs covers it) would turn the later ones into 429s.
  server = await startServer({ LATCHKEY_RATE_LIMIT_LOGIN: '1000' });
  server.createAdmin('root');
  await registerWithTotp(server.base, 'twostep');
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

// axe is injected as a script, which our CSP (rightly) forbids: the test context bypasses it.
async function context(screen, scheme) {
  const ctx = await browser.newContext({ viewport: SCREENS[screen], colorScheme: scheme, bypassCSP: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  return { ctx, page };
}

async function violations(page, state) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary).slice(0, 3),
    }));
  }, TAGS);
  return found.map((v) => ({ state, ...v }));
}

// Each state: how to get there on a fresh page of the given context.
const visit = (path) => async (page) => { await page.goto(server.base + path); };
const SIGNED_OUT = {
  'sign-in': visit('/login'),
  'second step of a sign-in, with a wrong code': async (page) => {
    await page.goto(server.base + '/login');
    await page.fill('#username', 'twostep');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(server.base + '/login/second-factor'), page.click('form.form button[type=submit]')]);
    await page.fill('#code', '000000');
    await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
    await page.waitForSelector('.alert');
  },
  'sign-in with an error': async (page) => {
    await page.goto(server.base + '/login');
    await page.fill('#username', 'nobody-here');
    await page.fill('#password', 'not the password at all');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    await page.waitForSelector('.alert');
  },
  'create account': visit('/register'),
  'create account with errors': async (page) => {
    await page.goto(server.base + '/register');
    await page.fill('#username', 'x');
    await page.fill('#password', 'short');
    await page.fill('#password_confirm', 'different');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    await page.waitForSelector('.field-error');
  },
  'not found': visit('/no-such-page'),
  'forgot password': visit('/forgot'),
  'forgot password, sent': async (page) => {
    await page.goto(server.base + '/forgot');
    await page.fill('#identifier', `someone-${Date.now()}`);
    await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
    await page.waitForSelector('.flash-success');
  },
  'reset link that does not work': visit('/reset?token=not-a-working-token'),
  'confirm address': visit('/verify?token=not-a-working-token'),
  'new confirmation link': visit('/verify/resend'),
};
const SIGNED_IN = {
  account: visit('/'),
  sessions: visit('/sessions'),
  'change password': visit('/account/password'),
  'change email': visit('/account/email'),
  'change password with an error': async (page) => {
    await page.goto(server.base + '/account/password');
    await page.fill('#current_password', 'wrong wrong wrong');
    await page.fill('#new_password', 'a brand new passphrase for 2027');
    await page.fill('#new_password_confirm', 'a brand new passphrase for 2027');
    await Promise.all([page.waitForLoadState('load'), page.click('form.form button[type=submit]')]);
    await page.waitForSelector('.field-error');
  },
  'two-factor authentication': visit('/account/two-factor'),
  'authenticator app set-up': async (page) => {
    await page.goto(server.base + '/account/two-factor');
    await Promise.all([
      page.waitForURL(server.base + '/account/two-factor/totp'),
      page.click('form[action="/account/two-factor/totp"] button'),
    ]);
  },
  'confirm it is you': visit('/account/confirm-identity?next=/account/two-factor'),
  developer: visit('/developer'),
  'not found, signed in': visit('/no-such-page'),
  forbidden: visit('/admin/users'),
};
const ADMIN = {
  users: visit('/admin/users'),
  'all sessions': visit('/admin/sessions'),
  throttles: visit('/admin/throttles'),
  'audit log': visit('/admin/events'),
  mail: visit('/admin/mail'),
};

for (const screen of Object.keys(SCREENS)) {
  for (const scheme of ['light', 'dark']) {
    test(`every page has no WCAG A/AA violation on a ${screen} in ${scheme} mode`, async () => {
      const found = [];
      const username = `a11y-${screen}-${scheme}`;
      for (const [who, states] of [['signed out', SIGNED_OUT], [username, SIGNED_IN], ['root', ADMIN]]) {
        const { ctx, page } = await context(screen, scheme);
        if (who === username) {
          await register(page, server.base, username);
        } else if (who === 'root') {
          await signIn(page, server.base, 'root');
        }
        for (const [state, go] of Object.entries(states)) {
          await go(page);
          found.push(...(await violations(page, `${who}: ${state}`)));
          const shot = PHONE_SHOTS[state];
          if (shot && screen === 'phone' && scheme === 'light') {
            await page.screenshot({ path: path.join(SHOTS, `${shot}.png`), fullPage: true });
          }
        }
        await ctx.close();
      }
      assert.deepEqual(found, [], JSON.stringify(found, null, 2));
    });
  }
}

// WCAG relative luminance and contrast of two CSS rgb() colours.
function contrast(a, b) {
  const lum = (rgb) => {
    const [r, g, bl] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

for (const scheme of ['light', 'dark']) {
  test(`the focus ring and field borders stand out 3:1 from what surrounds them in ${scheme} mode`, async () => {
    const { ctx, page } = await context('desktop', scheme);
    await page.goto(server.base + '/login');
    await page.keyboard.press('Tab'); // the skip link, then the username field
    await page.focus('#username');
    const colours = await page.evaluate(() => {
      const field = document.getElementById('username');
      const card = field.closest('.card');
      const style = getComputedStyle(field);
      return {
        ring: style.outlineColor,
        border: style.borderTopColor,
        field: style.backgroundColor,
        card: getComputedStyle(card).backgroundColor,
        page: getComputedStyle(document.body).backgroundColor,
      };
    });
    for (const around of ['card', 'page']) {
      assert.ok(contrast(colours.ring, colours[around]) >= 3, `ring on ${around}: ${JSON.stringify(colours)}`);
    }
    for (const around of ['card', 'field']) {
      assert.ok(contrast(colours.border, colours[around]) >= 3, `border on ${around}: ${JSON.stringify(colours)}`);
    }
    await ctx.close();
  });
}

test('on a phone no table hides a column or needs sideways scrolling', async () => {
  const { ctx, page } = await context('phone', 'light');
  // Five failed sign-ins put a row on the throttles page (unknown names are throttled too).
  for (let i = 0; i < 5; i += 1) {
    await fetch(server.base + '/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'ghost', password: 'not the password' }),
    });
  }
  await signIn(page, server.base, 'root');
  for (const path of ['/admin/users', '/admin/sessions', '/admin/throttles', '/admin/events']) {
    await page.goto(server.base + path);
    const layout = await page.evaluate(() => ({
      hidden: [...document.querySelectorAll('tbody td')].filter((td) => td.getClientRects().length === 0).length,
      cells: document.querySelectorAll('tbody td').length,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      cut: [...document.querySelectorAll('tbody button')]
        .filter((b) => b.getBoundingClientRect().right > window.innerWidth + 0.5).length,
    }));
    assert.equal(layout.hidden, 0, `${path}: ${JSON.stringify(layout)}`);
    assert.ok(layout.cells > 0, path);
    assert.ok(layout.overflow <= 0, `${path} scrolls sideways: ${JSON.stringify(layout)}`);
    assert.equal(layout.cut, 0, `${path}: buttons cut off`);
  }
  await ctx.close();
});

test('after a failed submit the first field in error has the focus, is described, and only it is cleared', async () => {
  const { ctx, page } = await context('desktop', 'light');
  await page.goto(server.base + '/register');
  await page.fill('#username', 'x');
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  await page.waitForSelector('.field-error');
  const state = () => page.evaluate(() => {
    const focused = document.activeElement;
    const described = focused.getAttribute('aria-describedby');
    return {
      focused: focused.id,
      invalid: focused.getAttribute('aria-invalid'),
      description: described ? document.getElementById(described).textContent : null,
      values: Object.fromEntries(['username', 'password', 'password_confirm']
        .map((id) => [id, document.getElementById(id).value.length > 0])),
    };
  });
  let now = await state();
  assert.equal(now.focused, 'username', JSON.stringify(now));
  assert.equal(now.invalid, 'true');
  assert.match(now.description, /at least 3 characters/);
  assert.deepEqual(now.values, { username: true, password: true, password_confirm: true });

  // A mismatch: the name and the first password stay, the focus goes to the repeat.
  await page.fill('#username', 'a11y-focus');
  await page.fill('#password_confirm', 'something else entirely');
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  await page.waitForSelector('.field-error');
  now = await state();
  assert.equal(now.focused, 'password_confirm', JSON.stringify(now));
  assert.deepEqual(now.values, { username: true, password: true, password_confirm: false });
  await ctx.close();
});

test('the API button keeps the keyboard focus while it works', async () => {
  const { ctx, page } = await context('desktop', 'light');
  await signIn(page, server.base, 'root');
  await page.goto(server.base + '/developer');
  await page.focus('[data-latchkey-call]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('api-result').textContent.length > 0);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.latchkeyCall), '/api/me');
  await ctx.close();
});

test('a destructive button asks in a dialog that passes axe, and Cancel changes nothing and keeps the focus', async () => {
  const { ctx, page } = await context('desktop', 'light');
  await signIn(page, server.base, 'root');
  const other = await context('desktop', 'light');
  await signIn(other.page, server.base, 'root');
  await page.goto(server.base + '/sessions');
  const before = await page.locator('li.session').count();
  const button = page.locator('li.session:not(.current) button[type=submit]').first();
  await button.click();
  await page.waitForSelector('dialog.confirm[open]');
  assert.deepEqual(await violations(page, 'confirm dialog'), []);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('dialog.confirm').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.closest('li.session') !== null), true);
  assert.equal(await page.locator('li.session').count(), before, 'Cancel revoked nothing');
  await ctx.close();
  await other.ctx.close();
});

test('times show in the viewer\'s time zone, named, and in UTC, saying so, without JavaScript', async () => {
  const zoned = await browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
  const page = await zoned.newPage();
  await signIn(page, server.base, 'root');
  await page.goto(server.base + '/sessions');
  const shown = await page.textContent('li.session time[data-local]');
  assert.match(shown, /GMT\+9|JST/, shown);
  await zoned.close();

  const plain = await browser.newContext({ javaScriptEnabled: false });
  const bare = await plain.newPage();
  await signIn(bare, server.base, 'root');
  await bare.goto(server.base + '/sessions');
  assert.match(await bare.textContent('li.session time[data-local]'), /UTC$/);
  await plain.close();
});
