-- Deallocations and the feed of gauge levels to metering.

-- Deallocations: a subject's allocations of a feature removed (its site
-- was deleted). allocations is JSON: [{"reservation_id": "res_…",
-- "quantity": 1000, "create_time": "…"}]. The id is what the deallocate
-- script records once in Redis; a rebuild lists recent ones as done.
CREATE TABLE quota_deallocations (
	id              TEXT COLLATE "C" PRIMARY KEY,
	customer_id     TEXT COLLATE "C" NOT NULL,
	feature_key     TEXT COLLATE "C" NOT NULL,
	subject         TEXT COLLATE "C" NOT NULL,
	idempotency_key TEXT COLLATE "C",
	quantity        BIGINT NOT NULL,
	allocations     TEXT NOT NULL,
	create_time     TIMESTAMPTZ NOT NULL
);
-- A key names one deallocation of a customer (NULL: none given).
CREATE UNIQUE INDEX quota_deallocations_key ON quota_deallocations (customer_id, idempotency_key);
CREATE INDEX quota_deallocations_recent ON quota_deallocations (customer_id, create_time);

-- A subject's allocations of a feature, for its level and its
-- deallocation; a customer's allocations in list order.
CREATE INDEX quota_allocations_subject ON quota_allocations (customer_id, feature_key, subject);
CREATE INDEX quota_allocations_list ON quota_allocations (customer_id, reservation_id, feature_key);

-- Gauge levels to report to metering (an outbox of quota's own): written
-- in the transaction of each commit and deallocation, sent by a worker
-- with id as the event's idempotency key, deleted once metering stored
-- them. level is in thousandths.
CREATE TABLE quota_feed (
	id          TEXT COLLATE "C" PRIMARY KEY,
	customer_id TEXT COLLATE "C" NOT NULL,
	feature_key TEXT COLLATE "C" NOT NULL,
	subject     TEXT COLLATE "C" NOT NULL,
	level       BIGINT NOT NULL,
	event_time  TIMESTAMPTZ NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	due_time    TIMESTAMPTZ NOT NULL,
	last_error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX quota_feed_due ON quota_feed (due_time);
