-- Per-account sign-in throttle. Keyed by the username key, not the user id, so an unknown
-- username is throttled exactly like a real one: the answer never tells which usernames exist.
CREATE TABLE login_throttles (
    username_key TEXT PRIMARY KEY NOT NULL,
    -- Consecutive failed sign-ins; a successful one deletes the row.
    failures INTEGER NOT NULL,
    -- Sign-ins are refused (429) before this instant.
    locked_until BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
