DELETE FROM sign_in_throttles WHERE scope = 'second_factor';
ALTER TABLE sign_in_throttles DROP CONSTRAINT sign_in_throttles_scope_check;
ALTER TABLE sign_in_throttles ADD CONSTRAINT sign_in_throttles_scope_check
    CHECK (scope IN ('untrusted', 'device'));
DROP TABLE second_factor_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
ALTER TABLE sessions DROP COLUMN authenticated_at;
ALTER TABLE sessions DROP COLUMN amr;
