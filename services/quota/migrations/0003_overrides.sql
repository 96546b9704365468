-- Overrides: one-off top-ups of a customer's limit of one feature, on top
-- of its plans. extra is in thousandths of a unit, like quantities. An
-- override counts from its creation until expire_time (NULL: until
-- deleted) or delete_time, whichever comes first; deleted rows are kept
-- as the record of what was granted.
CREATE TABLE quota_overrides (
	id              TEXT COLLATE "C" PRIMARY KEY,
	customer_id     TEXT COLLATE "C" NOT NULL,
	feature_key     TEXT COLLATE "C" NOT NULL,
	extra           BIGINT NOT NULL CHECK (extra > 0),
	expire_time     TIMESTAMPTZ,
	reason          TEXT NOT NULL DEFAULT '',
	idempotency_key TEXT COLLATE "C",
	create_time     TIMESTAMPTZ NOT NULL,
	delete_time     TIMESTAMPTZ
);

-- An idempotency key names one override of a customer (NULL: none given),
-- so that a retry after a lost answer sets no second one.
CREATE UNIQUE INDEX quota_overrides_key ON quota_overrides (customer_id, idempotency_key);
-- A customer's overrides, by id (the order they were set in): the list,
-- and the live ones a refresh of the limits reads.
CREATE INDEX quota_overrides_customer ON quota_overrides (customer_id, id);
