-- The subscription service's tables. A subscription's history is its
-- changes (appended, never edited except to withdraw one that has not taken
-- effect) folded into segments; a segment is never edited either, only
-- superseded when a change rewrites the stretch it covers.

CREATE TABLE customers (
	id          TEXT PRIMARY KEY,
	external_id TEXT,
	name        TEXT NOT NULL,
	email       TEXT NOT NULL,
	currency    TEXT NOT NULL CHECK (length(currency) = 3),
	anchor_kind TEXT NOT NULL CHECK (anchor_kind IN ('calendar', 'anniversary')),
	anchor_date TIMESTAMPTZ,
	parent_id   TEXT REFERENCES customers (id),
	create_time TIMESTAMPTZ NOT NULL,
	update_time TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX customers_external_id ON customers (external_id);
CREATE INDEX customers_parent_id ON customers (parent_id);

-- Copies of the published catalog plan versions in use, as JSON with every
-- decimal a string. Published versions never change.
CREATE TABLE plan_versions (
	plan_id TEXT NOT NULL,
	version INTEGER NOT NULL CHECK (version >= 1),
	content TEXT NOT NULL,
	PRIMARY KEY (plan_id, version)
);

CREATE TABLE subscriptions (
	id              TEXT PRIMARY KEY,
	customer_id     TEXT NOT NULL REFERENCES customers (id),
	bill_separately BOOLEAN NOT NULL,
	create_time     TIMESTAMPTZ NOT NULL
);

CREATE INDEX subscriptions_customer_id ON subscriptions (customer_id, id);

CREATE TABLE changes (
	id              TEXT PRIMARY KEY,
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
	seq             INTEGER NOT NULL CHECK (seq >= 1),
	kind            TEXT NOT NULL CHECK (kind IN ('subscribe', 'plan', 'quantity', 'cancel')),
	plan_id         TEXT NOT NULL,
	plan_key        TEXT NOT NULL,
	version         INTEGER NOT NULL,
	quantity        BIGINT NOT NULL,
	effective_time  TIMESTAMPTZ NOT NULL,
	trial_end       TIMESTAMPTZ,
	backdate_reason TEXT NOT NULL,
	create_time     TIMESTAMPTZ NOT NULL,
	withdraw_time   TIMESTAMPTZ,
	-- Two changes recorded at once for one subscription collide here.
	UNIQUE (subscription_id, seq)
);

CREATE TABLE segments (
	id              TEXT PRIMARY KEY,
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
	customer_id     TEXT NOT NULL,
	plan_id         TEXT NOT NULL,
	plan_key        TEXT NOT NULL,
	version         INTEGER NOT NULL,
	quantity        BIGINT NOT NULL CHECK (quantity >= 1),
	start_time      TIMESTAMPTZ NOT NULL,
	end_time        TIMESTAMPTZ,
	trial           BOOLEAN NOT NULL,
	create_time     TIMESTAMPTZ NOT NULL,
	superseded_time TIMESTAMPTZ,
	CHECK (end_time IS NULL OR end_time > start_time)
);

-- Current segments of a subscription never share a start; with the
-- subscription lock this keeps them from overlapping.
CREATE UNIQUE INDEX segments_current_start ON segments (subscription_id, start_time) WHERE superseded_time IS NULL;
CREATE INDEX segments_current_customer ON segments (customer_id, start_time) WHERE superseded_time IS NULL;
