// passkeys.js: the browser half of passkeys (WebAuthn). The server sends options as JSON with
// binary fields in base64url (as webauthn-rs writes them); this turns them into ArrayBuffers for
// navigator.credentials, and the authenticator's answer back into JSON, which it posts as an
// ordinary form (CSRF token included), so the server answers with a page as for any form.
//   form[data-passkey-register]  account page: register a passkey under the typed name
//   form[data-passkey-sign-in]   sign-in pages: "Sign in with a passkey"; on /login the browser
//                                also offers passkeys in the username field's autofill
(() => {
  'use strict';
  if (!window.PublicKeyCredential) return;

  const decode = (text) => {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  const encode = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

  function creationOptions(json) {
    const options = json.publicKey;
    options.challenge = decode(options.challenge);
    options.user.id = decode(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = decode(c.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = decode(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = decode(c.id); });
    return options;
  }

  const registrationJSON = (credential) => ({
    id: credential.id,
    rawId: encode(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: encode(credential.response.attestationObject),
      clientDataJSON: encode(credential.response.clientDataJSON),
    },
    extensions: credential.getClientExtensionResults(),
  });

  const assertionJSON = (credential) => ({
    id: credential.id,
    rawId: encode(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: encode(credential.response.authenticatorData),
      clientDataJSON: encode(credential.response.clientDataJSON),
      signature: encode(credential.response.signature),
      userHandle: credential.response.userHandle ? encode(credential.response.userHandle) : null,
    },
    extensions: credential.getClientExtensionResults(),
  });

  function say(form, text) {
    const status = form.querySelector('[data-passkey-status]');
    if (status) status.textContent = text;
  }

  // The options, or null once the page has been sent elsewhere (to confirm who you are).
  async function fetchOptions(form, url) {
    const response = await fetch(url, {
      method: 'POST',
      body: new URLSearchParams({ csrf_token: form.elements.csrf_token.value }),
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    const json = (response.headers.get('content-type') || '').includes('json');
    if (response.redirected && !json) {
      window.location.assign(response.url);
      return null;
    }
    if (!json) throw new Error('The server did not answer; try again.');
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || 'The server refused; try again.');
    return body;
  }

  function post(action, fields) {
    const form = document.createElement('form');
    form.method = 'post';
    form.action = action;
    form.hidden = true;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  }

  const refusal = (error) => (error && error.name === 'NotAllowedError'
    ? 'The passkey was not used (cancelled, timed out, or not unlocked). Try again.'
    : (error && error.message) || 'Something went wrong; try again.');

  const register = document.querySelector('form[data-passkey-register]');
  if (register) {
    register.addEventListener('submit', async (event) => {
      event.preventDefault();
      say(register, 'Follow your browser to create the passkey…');
      try {
        const options = await fetchOptions(register, '/account/passkeys/begin');
        if (!options) return;
        const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
        post(register.action, {
          csrf_token: register.elements.csrf_token.value,
          name: register.elements.name.value,
          credential: JSON.stringify(registrationJSON(credential)),
        });
      } catch (error) {
        say(register, refusal(error));
      }
    });
  }

  const signIn = document.querySelector('form[data-passkey-sign-in]');
  if (signIn) {
    let pending = null;
    const run = async (mediation) => {
      if (pending) pending.abort();
      const controller = new AbortController();
      pending = controller;
      const begun = await fetchOptions(signIn, '/login/passkey/begin');
      if (!begun) return;
      const credential = await navigator.credentials.get({
        publicKey: requestOptions(begun.publicKey),
        mediation,
        signal: controller.signal,
      });
      post(signIn.action, {
        csrf_token: signIn.elements.csrf_token.value,
        challenge_id: begun.challenge_id,
        credential: JSON.stringify(assertionJSON(credential)),
      });
    };
    signIn.addEventListener('submit', (event) => {
      event.preventDefault();
      say(signIn, 'Follow your browser to use your passkey…');
      run(undefined).catch((error) => say(signIn, refusal(error)));
    });
    // Autofill: the browser lists this site's passkeys under the username field.
    if (document.querySelector('input[autocomplete~="webauthn"]')
        && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (available) run('conditional').catch(() => {});
      });
    }
  }
})();
