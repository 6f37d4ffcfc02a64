DELETE FROM sign_in_throttles WHERE scope = 'second_factor';
CREATE TABLE sign_in_throttles_old (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('untrusted', 'device')),
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    failures INTEGER NOT NULL,
    locked_until BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
INSERT INTO sign_in_throttles_old SELECT * FROM sign_in_throttles;
DROP TABLE sign_in_throttles;
ALTER TABLE sign_in_throttles_old RENAME TO sign_in_throttles;
CREATE INDEX sign_in_throttles_by_user ON sign_in_throttles (user_id);
DROP TABLE second_factor_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
ALTER TABLE sessions DROP COLUMN authenticated_at;
ALTER TABLE sessions DROP COLUMN amr;
