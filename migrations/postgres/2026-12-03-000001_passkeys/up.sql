-- Passkeys (WebAuthn) and the ceremonies that register them or sign in with them.

CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The authenticator's id for the credential: how a sign-in names it.
    credential_id BYTEA NOT NULL UNIQUE,
    -- Chosen by the person ("Work laptop").
    name TEXT NOT NULL,
    -- webauthn-rs's Passkey as JSON: public key, algorithm, signature counter. Nothing secret.
    passkey TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A registration or sign-in under way: webauthn-rs's state (the challenge) as JSON, so any
-- instance can finish it; used once, for a few minutes.
CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'sign_in')),
    -- The registering user; NULL for a sign-in (the passkey says whose it is).
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX webauthn_ceremonies_by_user ON webauthn_ceremonies (user_id);
