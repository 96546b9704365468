-- The metering service's tables. Quantities are NUMERIC(38,18) on
-- PostgreSQL (summed in SQL) and TEXT on SQLite (summed in Go).
-- Identifiers are COLLATE "C": compared byte by byte, as Go sorts them,
-- instead of through the locale, which made every index insert of
-- ingestion markedly slower (docs/benchmarks.md).

CREATE TABLE meters (
	key         TEXT COLLATE "C" PRIMARY KEY,
	feature_key TEXT COLLATE "C" NOT NULL UNIQUE,
	aggregation TEXT NOT NULL CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest', 'time_weighted')),
	description TEXT NOT NULL,
	create_time TIMESTAMPTZ NOT NULL
);

-- An event's idempotency key is claimed here, in the transaction that
-- stores the event; this table is not partitioned, so the claim holds
-- across months.
CREATE TABLE event_keys (
	customer_id     TEXT COLLATE "C" NOT NULL,
	idempotency_key TEXT COLLATE "C" NOT NULL,
	event_id        TEXT COLLATE "C" NOT NULL,
	payload_hash    BYTEA NOT NULL,
	PRIMARY KEY (customer_id, idempotency_key)
);

-- Raw events, partitioned by month on PostgreSQL (partitions are created
-- as events arrive and dropped after the retention); only exports read
-- them.
CREATE TABLE events (
	event_id        TEXT COLLATE "C" NOT NULL,
	customer_id     TEXT COLLATE "C" NOT NULL,
	meter_key       TEXT COLLATE "C" NOT NULL,
	quantity        NUMERIC(38, 18) NOT NULL,
	time            TIMESTAMPTZ NOT NULL,
	idempotency_key TEXT COLLATE "C" NOT NULL,
	subject         TEXT COLLATE "C" NOT NULL,
	delta           BOOLEAN NOT NULL,
	source          TEXT COLLATE "C" NOT NULL,
	properties      TEXT NOT NULL,
	received_time   TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (time);

CREATE INDEX events_customer_time ON events (customer_id, time);

-- Hourly aggregates per customer, meter and subject ('' without one),
-- added by folds of ingested batches; every counter query reads these.
CREATE TABLE rollups (
	customer_id TEXT COLLATE "C" NOT NULL,
	meter_key   TEXT COLLATE "C" NOT NULL,
	hour        TIMESTAMPTZ NOT NULL,
	subject     TEXT COLLATE "C" NOT NULL,
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
	customer_id TEXT COLLATE "C" NOT NULL,
	meter_key   TEXT COLLATE "C" NOT NULL,
	subject     TEXT COLLATE "C" NOT NULL,
	time        TIMESTAMPTZ NOT NULL,
	event_id    TEXT COLLATE "C" NOT NULL,
	value       NUMERIC(38, 18) NOT NULL,
	delta       BOOLEAN NOT NULL,
	level       NUMERIC(38, 18) NOT NULL,
	PRIMARY KEY (customer_id, meter_key, subject, time, event_id)
);

CREATE TABLE source_days (
	customer_id TEXT COLLATE "C" NOT NULL,
	source      TEXT COLLATE "C" NOT NULL,
	day         TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (customer_id, day, source)
);

CREATE TABLE completeness_marks (
	source      TEXT COLLATE "C" NOT NULL,
	customer_id TEXT COLLATE "C" NOT NULL,
	start_time  TIMESTAMPTZ NOT NULL,
	end_time    TIMESTAMPTZ NOT NULL,
	create_time TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (customer_id, source, start_time, end_time)
);

CREATE TABLE closed_periods (
	customer_id   TEXT COLLATE "C" PRIMARY KEY,
	closed_before TIMESTAMPTZ NOT NULL
);

-- Daily aggregates per customer and meter over all subjects, added by folds
-- on PostgreSQL, so a month's usage reads about 31 rows instead of every
-- subject's hours. SQLite combines the hourly rows in Go and leaves this
-- table empty.
CREATE TABLE daily_rollups (
	customer_id TEXT COLLATE "C" NOT NULL,
	meter_key   TEXT COLLATE "C" NOT NULL,
	day         TIMESTAMPTZ NOT NULL,
	total       NUMERIC(38, 18) NOT NULL,
	count       BIGINT NOT NULL,
	max         NUMERIC(38, 18) NOT NULL,
	latest_time TIMESTAMPTZ NOT NULL,
	latest      NUMERIC(38, 18) NOT NULL,
	PRIMARY KEY (customer_id, meter_key, day)
);

-- The rollup deltas of ingested batches of counter events, one row per
-- batch, until a fold adds them to rollups and daily_rollups and publishes
-- usage.recorded. Ingestion writes one row here instead of upserting
-- hundreds of rollup rows, and a fold merges many batches into few upserts.
CREATE TABLE pending_rollups (
	batch_id TEXT COLLATE "C" PRIMARY KEY,
	deltas   BYTEA NOT NULL
);
