DROP TABLE sign_in_throttles;
CREATE TABLE login_throttles (
    username_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    locked_until BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
ALTER TABLE refresh_tokens DROP COLUMN retried_at;
DROP INDEX users_username_skeleton;
ALTER TABLE users DROP COLUMN username_skeleton;
ALTER TABLE users DROP COLUMN auth_epoch;
