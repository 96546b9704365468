-- API keys: who may call Meterplane. Only a SHA-256 of each key's secret is
-- kept; the token is shown once, when the key is created.
CREATE TABLE IF NOT EXISTS api_keys (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	customer_id TEXT,
	secret_hash BYTEA NOT NULL,
	create_time TIMESTAMPTZ NOT NULL,
	expire_time TIMESTAMPTZ,
	revoke_time TIMESTAMPTZ,
	-- The idempotency key of the call that created the key: a retry
	-- answers the key (without its token, which is not kept).
	request_key TEXT UNIQUE
);
