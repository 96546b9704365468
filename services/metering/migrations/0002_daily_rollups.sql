-- Daily aggregates per customer and meter over all subjects, maintained on
-- ingest on PostgreSQL, so a month's usage reads about 31 rows instead of
-- every subject's hours. SQLite combines the hourly rows in Go and leaves
-- this table empty.
CREATE TABLE daily_rollups (
	customer_id TEXT NOT NULL,
	meter_key   TEXT NOT NULL,
	day         TIMESTAMPTZ NOT NULL,
	total       NUMERIC(38, 18) NOT NULL,
	count       BIGINT NOT NULL,
	max         NUMERIC(38, 18) NOT NULL,
	latest_time TIMESTAMPTZ NOT NULL,
	latest      NUMERIC(38, 18) NOT NULL,
	PRIMARY KEY (customer_id, meter_key, day)
);
