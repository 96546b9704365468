-- The quota service's tables: the truth the Redis admission state is
-- rebuilt from. Quantities are integers in thousandths of a unit.

-- Reservations, pending (an intent written before Redis admitted it),
-- held, committed, released or expired. items is JSON:
-- [{"feature": "sites", "quantity": 1000}].
CREATE TABLE quota_reservations (
	id          TEXT COLLATE "C" PRIMARY KEY,
	customer_id TEXT COLLATE "C" NOT NULL,
	request_id  TEXT COLLATE "C",
	status      TEXT NOT NULL CHECK (status IN ('pending', 'held', 'committed', 'released', 'expired')),
	items       TEXT NOT NULL,
	subject     TEXT NOT NULL DEFAULT '',
	expire_time TIMESTAMPTZ NOT NULL,
	create_time TIMESTAMPTZ NOT NULL,
	update_time TIMESTAMPTZ NOT NULL
);

-- A request id names one reservation of a customer (NULL: none given).
CREATE UNIQUE INDEX quota_reservations_request ON quota_reservations (customer_id, request_id);
-- Live reservations of a customer, for a rebuild, and due ones, for the
-- expiry worker.
CREATE INDEX quota_reservations_customer ON quota_reservations (customer_id, status, expire_time);
CREATE INDEX quota_reservations_due ON quota_reservations (status, expire_time);

-- Allocations: what committed reservations gave their subjects.
CREATE TABLE quota_allocations (
	customer_id    TEXT COLLATE "C" NOT NULL,
	feature_key    TEXT COLLATE "C" NOT NULL,
	subject        TEXT COLLATE "C" NOT NULL,
	reservation_id TEXT COLLATE "C" NOT NULL,
	quantity       BIGINT NOT NULL CHECK (quantity > 0),
	create_time    TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (reservation_id, feature_key)
);
CREATE INDEX quota_allocations_customer ON quota_allocations (customer_id, feature_key);
