-- The audit trail: who did what to which account and session, from where, and how it went.
-- Never a password, token or hash. No foreign keys: events outlive the users and sessions
-- they mention (pruning sessions must not erase the record of them).
CREATE TABLE auth_events (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    -- Unix seconds, UTC.
    occurred_at BIGINT NOT NULL,
    -- login_succeeded, login_failed, ... (see src/auth/audit.rs).
    event TEXT NOT NULL,
    -- success, failure or denied.
    outcome TEXT NOT NULL,
    -- The account the event is about, when known.
    user_id TEXT,
    session_id TEXT,
    -- Who acted when it was not the account holder (an admin), or NULL.
    actor_id TEXT,
    ip TEXT,
    user_agent TEXT,
    -- A fixed phrase chosen by the server ("wrong password", "by admin"), never client text.
    detail TEXT
);

CREATE INDEX auth_events_by_user ON auth_events (user_id, id);
CREATE INDEX auth_events_by_time ON auth_events (occurred_at);
