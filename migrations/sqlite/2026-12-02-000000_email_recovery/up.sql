-- Email addresses, one-time tokens (password reset, address verification) and the mail outbox.

-- As the person typed it (trimmed; the domain in lower case).
ALTER TABLE users ADD COLUMN email TEXT;
-- The whole address in lower case: uniqueness and look-ups use it, so two accounts cannot hold
-- Alice@Example.com and alice@example.com.
ALTER TABLE users ADD COLUMN email_key TEXT;
-- When the person proved they read mail at the address (NULL: not verified).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- A link sent by mail (or printed by an admin). Only the SHA-256 of the token is stored: the
-- token is 256 random bits, so a stolen table gives nothing to guess from.
CREATE TABLE one_time_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- email_verification: the address being proved (it becomes the account's when used).
    email TEXT,
    -- The user's auth_epoch when issued: a password change (by any route), a disable or
    -- "sign out everywhere" bumps it, and the token is void from then on.
    auth_epoch BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Set by the one UPDATE that consumes it (or voids it: a newer token of the same purpose).
    used_at BIGINT
);
CREATE INDEX one_time_tokens_by_user ON one_time_tokens (user_id, purpose);

-- Mails, written in the same transaction as the change that causes them and delivered later by
-- the background sender (src/mail/): a crash or an SMTP outage loses none.
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY NOT NULL,
    -- password_reset, email_verification, password_changed, email_changed, test.
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    subject TEXT NOT NULL,
    -- The bodies hold the link (a secret) until the mail is sent or given up on; then they are
    -- erased and only what admins see (status, attempts, last error) remains.
    body_text TEXT,
    body_html TEXT,
    -- pending: to be sent; sent; failed: refused for good or given up; held: no SMTP server
    -- is configured (development prints the link in the log instead).
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'held')),
    attempts INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    -- A sender claims a pending mail by moving this forward (a lease), so two instances never
    -- send it at once; a sender that dies mid-send lets the lease run out and it is retried.
    next_attempt_at BIGINT NOT NULL,
    last_attempt_at BIGINT,
    sent_at BIGINT,
    -- What the SMTP server (or the connection) said at the last attempt.
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
