-- Idempotency keys are scoped to the caller (the API key that made the
-- call): two callers' keys never collide, and no caller learns of another's
-- requests. The table is rebuilt with the caller in its primary key; rows
-- written before keys existed belong to no caller ('').
CREATE TABLE idempotency_calls (
	method TEXT NOT NULL,
	caller TEXT NOT NULL DEFAULT '',
	idempotency_key TEXT NOT NULL,
	request_hash BYTEA NOT NULL,
	response BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	completed BOOLEAN NOT NULL DEFAULT TRUE,
	claim TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (method, caller, idempotency_key)
);
INSERT INTO idempotency_calls (method, caller, idempotency_key, request_hash, response, created_at, completed, claim)
	SELECT method, '', idempotency_key, request_hash, response, created_at, completed, claim FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_calls RENAME TO idempotency_keys;
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
