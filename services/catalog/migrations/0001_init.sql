-- The catalog's tables. Decimals are TEXT holding the exact decimal string:
-- SQLite's NUMERIC affinity would keep only 15 significant digits. Enumerations
-- are the domain's lower-case names.

CREATE TABLE features (
	key         TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	unit        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('gauge', 'counter')),
	create_time TIMESTAMPTZ NOT NULL
);

CREATE TABLE compute_plans (
	key            TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	vcpu_request   TEXT NOT NULL,
	vcpu_limit     TEXT NOT NULL,
	memory_request TEXT NOT NULL,
	memory_limit   TEXT NOT NULL
);

CREATE TABLE storage_plans (
	key            TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	price_per_gib  TEXT NOT NULL,
	currency       TEXT NOT NULL CHECK (length(currency) = 3),
	price_unit     TEXT NOT NULL CHECK (price_unit IN ('hour', 'day', 'month', 'year')),
	erp_product_id TEXT NOT NULL,
	erp_unit_id    TEXT NOT NULL
);

CREATE TABLE offerings (
	key              TEXT PRIMARY KEY,
	name             TEXT NOT NULL,
	service          TEXT NOT NULL,
	control_plane    TEXT NOT NULL,
	storage_plan_key TEXT REFERENCES storage_plans (key)
);

CREATE TABLE plans (
	id                TEXT PRIMARY KEY,
	key               TEXT NOT NULL UNIQUE,
	name              TEXT NOT NULL,
	description       TEXT NOT NULL,
	currency          TEXT NOT NULL CHECK (length(currency) = 3),
	interval_unit     TEXT NOT NULL CHECK (interval_unit IN ('day', 'week', 'month', 'quarter', 'year')),
	interval_count    INTEGER NOT NULL CHECK (interval_count >= 1),
	offering_key      TEXT REFERENCES offerings (key),
	status            TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
	published_version INTEGER NOT NULL CHECK (published_version >= 0),
	draft_version     INTEGER NOT NULL CHECK (draft_version >= 0),
	create_time       TIMESTAMPTZ NOT NULL,
	update_time       TIMESTAMPTZ NOT NULL
);

CREATE INDEX plans_offering_key ON plans (offering_key);

-- A version's charges and entitlements are one JSON document (content), with
-- every decimal as a string: a version is written whole and, once published,
-- never again.
CREATE TABLE plan_versions (
	plan_id      TEXT NOT NULL REFERENCES plans (id),
	version      INTEGER NOT NULL CHECK (version >= 1),
	status       TEXT NOT NULL CHECK (status IN ('draft', 'published')),
	content      TEXT NOT NULL,
	publish_time TIMESTAMPTZ,
	create_time  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (plan_id, version),
	CHECK ((status = 'published') = (publish_time IS NOT NULL))
);

-- At most one open draft per plan.
CREATE UNIQUE INDEX plan_versions_one_draft ON plan_versions (plan_id) WHERE status = 'draft';

CREATE TABLE offering_assignments (
	offering_key      TEXT NOT NULL REFERENCES offerings (key),
	position          INTEGER NOT NULL,
	compute_plan_key  TEXT NOT NULL REFERENCES compute_plans (key),
	sla               TEXT NOT NULL CHECK (sla IN ('best_effort', 'guaranteed')),
	price             TEXT NOT NULL,
	currency          TEXT NOT NULL CHECK (length(currency) = 3),
	price_unit        TEXT NOT NULL CHECK (price_unit IN ('hour', 'day', 'month', 'year')),
	minimum_instances INTEGER NOT NULL CHECK (minimum_instances >= 1),
	erp_product_id    TEXT NOT NULL,
	erp_unit_id       TEXT NOT NULL,
	plan_key          TEXT REFERENCES plans (key),
	PRIMARY KEY (offering_key, position),
	UNIQUE (offering_key, compute_plan_key, sla)
);
