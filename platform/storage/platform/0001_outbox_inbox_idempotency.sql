-- The tables the platform keeps in every service's database: the outbox of
-- events to publish, the inbox of events applied, and the stored answers of
-- idempotent calls. IF NOT EXISTS: databases made before these tables were
-- versioned already have them.
CREATE TABLE IF NOT EXISTS outbox (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id TEXT NOT NULL UNIQUE,
	topic TEXT NOT NULL,
	key TEXT NOT NULL,
	payload BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS inbox (
	consumer TEXT NOT NULL,
	event_id TEXT NOT NULL,
	received_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (consumer, event_id)
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
	method TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	request_hash BYTEA NOT NULL,
	response BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (method, idempotency_key)
);
