-- Second factors: TOTP, recovery codes, and the step between a right password and a session.

-- How the session signed in: RFC 8176 method references, space-separated ("pwd",
-- "pwd otp mfa"); access tokens carry them as `amr`.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
-- When the person last proved who they are on this session (the sign-in, or a later
-- re-authentication): sensitive actions need it to be recent.
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET authenticated_at = created_at;

-- One authenticator app per user. The secret is sealed (ChaCha20-Poly1305 under a key derived
-- from the server secret, the user id bound as associated data): a copy of the database alone
-- cannot compute codes.
CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    -- NULL while the set-up waits for its first code; only a confirmed one is asked for.
    confirmed_at BIGINT,
    -- The 30-second step of the last accepted code: that code, and older ones, never work again.
    last_used_step BIGINT
);

-- Ten single-use codes per user, kept only as keyed hashes (HMAC-SHA256 under a key derived
-- from the server secret, over the user id and the code).
CREATE TABLE recovery_codes (
    code_hash BYTEA PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_by_user ON recovery_codes (user_id);

-- A right password on an account with a second factor: the token (only its SHA-256 here) lets
-- the second step finish that sign-in, once, for a few minutes, while the account is unchanged.
CREATE TABLE second_factor_challenges (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_epoch BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    -- Wrong codes sent with this token; at the limit the token is void.
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX second_factor_challenges_by_user ON second_factor_challenges (user_id);

-- The throttle gains a third counter: wrong second-factor codes, per account.
ALTER TABLE sign_in_throttles DROP CONSTRAINT sign_in_throttles_scope_check;
ALTER TABLE sign_in_throttles ADD CONSTRAINT sign_in_throttles_scope_check
    CHECK (scope IN ('untrusted', 'device', 'second_factor'));
