-- The metering service's tables. Quantities are NUMERIC(38,18) on
-- PostgreSQL (summed in SQL) and TEXT on SQLite (summed in Go).

CREATE TABLE meters (
	key         TEXT PRIMARY KEY,
	feature_key TEXT NOT NULL UNIQUE,
	aggregation TEXT NOT NULL CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest', 'time_weighted')),
	description TEXT NOT NULL,
	create_time TIMESTAMPTZ NOT NULL
);

-- An event's idempotency key is claimed here, in the transaction that
-- stores the event; this table is not partitioned, so the claim holds
-- across months.
CREATE TABLE event_keys (
	customer_id     TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	event_id        TEXT NOT NULL,
	payload_hash    BYTEA NOT NULL,
	PRIMARY KEY (customer_id, idempotency_key)
);

-- Raw events, partitioned by month on PostgreSQL (partitions are created
-- as events arrive and dropped after the retention); only exports read
-- them.
CREATE TABLE events (
	event_id        TEXT NOT NULL,
	customer_id     TEXT NOT NULL,
	meter_key       TEXT NOT NULL,
	quantity        NUMERIC(38, 18) NOT NULL,
	time            TIMESTAMPTZ NOT NULL,
	idempotency_key TEXT NOT NULL,
	subject         TEXT NOT NULL,
	delta           BOOLEAN NOT NULL,
	source          TEXT NOT NULL,
	properties      TEXT NOT NULL,
	received_time   TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (time);

CREATE INDEX events_customer_time ON events (customer_id, time);

-- Hourly aggregates per customer, meter and subject ('' without one),
-- maintained on ingest; every counter query reads these.
CREATE TABLE rollups (
	customer_id TEXT NOT NULL,
	meter_key   TEXT NOT NULL,
	hour        TIMESTAMPTZ NOT NULL,
	subject     TEXT NOT NULL,
	total       NUMERIC(38, 18) NOT NULL,
	count       BIGINT NOT NULL,
	max         NUMERIC(38, 18) NOT NULL,
	latest_time TIMESTAMPTZ NOT NULL,
	latest      NUMERIC(38, 18) NOT NULL,
	PRIMARY KEY (customer_id, meter_key, hour, subject)
);

-- Gauge levels: each gauge event is a point; level is the subject's level
-- from the point's time on (value itself, or the previous level plus value
-- for a delta).
CREATE TABLE gauge_points (
	customer_id TEXT NOT NULL,
	meter_key   TEXT NOT NULL,
	subject     TEXT NOT NULL,
	time        TIMESTAMPTZ NOT NULL,
	event_id    TEXT NOT NULL,
	value       NUMERIC(38, 18) NOT NULL,
	delta       BOOLEAN NOT NULL,
	level       NUMERIC(38, 18) NOT NULL,
	PRIMARY KEY (customer_id, meter_key, subject, time, event_id)
);

CREATE TABLE source_days (
	customer_id TEXT NOT NULL,
	source      TEXT NOT NULL,
	day         TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (customer_id, day, source)
);

CREATE TABLE completeness_marks (
	source      TEXT NOT NULL,
	customer_id TEXT NOT NULL,
	start_time  TIMESTAMPTZ NOT NULL,
	end_time    TIMESTAMPTZ NOT NULL,
	create_time TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (customer_id, source, start_time, end_time)
);

CREATE TABLE closed_periods (
	customer_id   TEXT PRIMARY KEY,
	closed_before TIMESTAMPTZ NOT NULL
);
