-- The PostgreSQL twin of migrations/sqlite: same tables, columns and meaning. Timestamps are
-- Unix seconds (UTC) in BIGINT columns on both backends; binary values are BYTEA (BLOB there).

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    -- As the person typed it (trimmed, NFKC); shown back to them.
    username TEXT NOT NULL,
    -- Case-folded NFKC form; uniqueness and look-ups use this, so "Alice" and "ALICE" collide.
    username_key TEXT NOT NULL UNIQUE,
    -- Records its scheme as a prefix (see src/auth/password.rs).
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

-- One row per sign-in on one device: a refresh-token family.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    -- Absolute end of the session; the idle end is last_used_at + the configured idle lifetime.
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT,
    user_agent TEXT,
    ip TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- SHA-256 of the token; the token itself is never stored.
    token_hash BYTEA NOT NULL UNIQUE,
    -- UNIQUE: a token has at most one successor, so a family can never branch.
    parent_id BIGINT UNIQUE,
    issued_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    -- 1, 2, 3...: the newest active key signs. Timestamps can tie; this cannot.
    generation INTEGER NOT NULL UNIQUE,
    algorithm TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    -- Nonce + ChaCha20-Poly1305 ciphertext under a key derived from the server secret.
    private_key_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
