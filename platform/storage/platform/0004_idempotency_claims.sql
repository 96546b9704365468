-- Idempotent calls claim their key before the handler runs: a row is first
-- written in flight (completed false, an empty response) under a claim
-- token, and completed with the response once the handler succeeds. Rows
-- written before claims existed are complete.
ALTER TABLE idempotency_keys ADD COLUMN completed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE idempotency_keys ADD COLUMN claim TEXT NOT NULL DEFAULT '';
