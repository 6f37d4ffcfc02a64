// latchkey.js: keeps the access token in memory only and renews it through the HttpOnly refresh
// cookie. No framework, no build step. Public API: window.latchkey.fetch(url, options),
// latchkey.token(), latchkey.expiresAt(), latchkey.onChange(callback).
(() => {
  'use strict';

  const REFRESH_URL = '/auth/refresh';
  // /auth/refresh refuses requests without this header: a cross-site form cannot send it.
  const REFRESH_HEADER = 'X-Latchkey-Refresh';
  const LOCK_NAME = 'latchkey-refresh';
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel('latchkey') : null;
  const tabId = Math.random().toString(36).slice(2);

  let accessToken = null;
  let expiresAt = 0; // ms since the epoch
  let lifetime = 0; // ms
  let inFlight = null; // one refresh per tab at a time
  const listeners = new Set();

  class SignedOut extends Error {}

  // Renew "shortly before expiry": a fifth of the lifetime, at most 30 s early.
  const margin = () => Math.min(30000, lifetime * 0.2);
  const fresh = () => accessToken !== null && expiresAt - Date.now() > margin();

  function adopt(token, expiry, ttl) {
    accessToken = token;
    expiresAt = expiry;
    lifetime = ttl;
    listeners.forEach((callback) => callback());
  }

  function toLogin() {
    const next = location.pathname + location.search;
    location.assign('/login?reason=ended&next=' + encodeURIComponent(next));
  }

  if (channel) {
    channel.addEventListener('message', (event) => {
      const message = event.data || {};
      if (message.type === 'token' && message.expiresAt > expiresAt) {
        adopt(message.token, message.expiresAt, message.lifetime);
      }
    });
  }

  // Only one tab refreshes at a time, so tabs never present the same refresh token together.
  function exclusive(task) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request(LOCK_NAME, task);
    }
    return electThenRun(task);
  }

  // Fallback without Web Locks: announce a claim, wait briefly; the earliest claim refreshes,
  // the others wait for its token. A lost election costs at most one extra (still valid) refresh.
  function electThenRun(task) {
    if (!channel) return task();
    const claim = { type: 'claim', at: Date.now(), id: tabId };
    return new Promise((resolve, reject) => {
      let beaten = false;
      let done = false;
      const finish = (run) => {
        if (done) return;
        done = true;
        channel.removeEventListener('message', onMessage);
        run().then(resolve, reject);
      };
      const onMessage = (event) => {
        const m = event.data || {};
        if (m.type === 'claim' && (m.at < claim.at || (m.at === claim.at && m.id < claim.id))) beaten = true;
        if (m.type === 'token' && beaten) finish(() => Promise.resolve(m.token));
      };
      channel.addEventListener('message', onMessage);
      channel.postMessage(claim);
      setTimeout(() => { if (!beaten) finish(task); }, 150);
      setTimeout(() => finish(task), 3000); // the winner never answered: refresh anyway
    });
  }

  function refresh(staleToken) {
    if (!inFlight) {
      inFlight = exclusive(async () => {
        // Another tab may have refreshed (and shared its token) while this one waited.
        if (accessToken !== staleToken && fresh()) return accessToken;
        const response = await fetch(REFRESH_URL, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { [REFRESH_HEADER]: '1' },
        });
        if (response.status === 401 || response.status === 403) {
          toLogin();
          throw new SignedOut('the session has ended');
        }
        if (!response.ok) throw new Error('refresh failed with status ' + response.status);
        const body = await response.json();
        const ttl = body.expires_in * 1000;
        adopt(body.access_token, Date.now() + ttl, ttl);
        if (channel) channel.postMessage({ type: 'token', token: accessToken, expiresAt, lifetime });
        return accessToken;
      }).finally(() => { inFlight = null; });
    }
    return inFlight;
  }

  async function token() {
    if (!fresh()) await refresh(accessToken);
    return accessToken;
  }

  function send(url, options) {
    const headers = new Headers(options.headers || {});
    headers.set('Authorization', 'Bearer ' + accessToken);
    return fetch(url, { ...options, headers, credentials: 'same-origin' });
  }

  // fetch() with the access token; refreshes first when it is about to expire, and once more
  // (then retries) when the server says the token is invalid.
  async function latchkeyFetch(url, options = {}) {
    await token();
    let response = await send(url, options);
    const challenge = response.headers.get('WWW-Authenticate') || '';
    if (response.status === 401 && challenge.includes('invalid_token')) {
      await refresh(accessToken);
      response = await send(url, options);
    }
    return response;
  }

  window.latchkey = {
    fetch: latchkeyFetch,
    token,
    expiresAt: () => expiresAt,
    onChange: (callback) => listeners.add(callback),
  };

  // Page wiring through data attributes, so templates need no script of their own.
  function describeRemaining() {
    const seconds = Math.round((expiresAt - Date.now()) / 1000);
    if (seconds <= 0) return 'expired; renewed on the next call';
    const minutes = Math.floor(seconds / 60);
    const rest = String(seconds % 60).padStart(2, '0');
    return `expires in ${minutes}:${rest}`;
  }

  // Shows the token this page holds; it asks for none itself (a page view that makes no API
  // call makes no refresh), so until the first call it keeps the template's text.
  function wireCountdown(element) {
    const render = () => { if (accessToken) element.textContent = describeRemaining(); };
    window.latchkey.onChange(render);
    setInterval(render, 1000);
  }

  function wireCallButton(button) {
    const output = document.getElementById(button.dataset.latchkeyOutput);
    // Busy is shown with aria-disabled, not `disabled`: a disabled button loses the focus to
    // the page body, and a keyboard user would have to find their place again.
    button.addEventListener('click', async () => {
      if (button.getAttribute('aria-disabled') === 'true') return;
      button.setAttribute('aria-disabled', 'true');
      try {
        const response = await latchkeyFetch(button.dataset.latchkeyCall);
        const text = await response.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
        output.textContent = `${response.status} ${response.statusText}\n${shown}`;
      } catch (error) {
        if (!(error instanceof SignedOut)) output.textContent = 'Request failed: ' + error.message;
      } finally {
        output.hidden = false;
        button.removeAttribute('aria-disabled');
      }
    });
  }

  // Times are rendered in UTC (and say so); where this script runs they are shown in the
  // viewer's own time zone instead, named.
  // (dateStyle/timeStyle cannot be combined with timeZoneName, hence the separate fields.)
  const localFormat = new Intl.DateTimeFormat(undefined, {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
    timeZoneName: 'short',
  });
  function localTime(element) {
    const at = new Date(element.getAttribute('datetime'));
    if (Number.isNaN(at.getTime())) return;
    const text = localFormat.format(at);
    if (element.hasAttribute('data-local')) element.textContent = text;
    if (element.hasAttribute('data-local-title')) element.title = text;
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.querySelectorAll('time[data-local], time[data-local-title]').forEach(localTime);
    document.querySelectorAll('[data-latchkey-countdown]').forEach(wireCountdown);
    document.querySelectorAll('[data-latchkey-call]').forEach(wireCallButton);
  });
})();
