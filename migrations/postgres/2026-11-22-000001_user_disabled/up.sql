-- A disabled user cannot sign in; the account and its data stay.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
