-- Bumped whenever sign-ins in flight must not become sessions: a password change, a disable, or
-- "sign out everywhere". A sign-in records the epoch before its password check and starts its
-- session only if the epoch is unchanged inside the transaction that inserts the session.
ALTER TABLE users ADD COLUMN auth_epoch BIGINT NOT NULL DEFAULT 0;
-- UTS #39 confusable skeleton of the username key: `аdmin` (Cyrillic а) and `admin` share one,
-- so a new name that only looks like an existing one is taken. NULL for the few existing users
-- whose skeleton an older user already holds (they keep their names); filled at start.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);

-- Set when a token was handed out a second time, to a client presenting its predecessor after
-- the reuse grace window (an answer that never arrived): a second use of this token is reuse.
ALTER TABLE refresh_tokens ADD COLUMN retried_at BIGINT;

-- The per-account throttle, rebuilt: it no longer stores what people typed (a keyed hash of the
-- username key instead), and a trusted device has a counter of its own. What was in the old
-- table is at most 15 minutes of lock-out and is not carried over.
DROP TABLE login_throttles;
CREATE TABLE sign_in_throttles (
    -- HMAC-SHA-256 (key derived from the server secret) of the scope and the username key or
    -- the device id, base64url.
    throttle_key TEXT PRIMARY KEY NOT NULL,
    -- 'untrusted': every client of this username without a trusted-device token;
    -- 'device': one device that has signed in to the account before.
    scope TEXT NOT NULL CHECK (scope IN ('untrusted', 'device')),
    -- The account, when the username exists (admins see its name); NULL for unknown names.
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- Consecutive failed checks of the password; a success deletes the row.
    failures INTEGER NOT NULL,
    -- Attempts are refused (429) before this instant.
    locked_until BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
CREATE INDEX sign_in_throttles_by_user ON sign_in_throttles (user_id);
