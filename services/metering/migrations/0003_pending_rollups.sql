-- The rollup deltas of ingested batches of counter events, one row per
-- batch, until a fold adds them to rollups and daily_rollups and publishes
-- usage.recorded. Ingestion writes one row here instead of upserting
-- hundreds of rollup rows, and a fold merges many batches into few upserts.
CREATE TABLE pending_rollups (
	batch_id TEXT PRIMARY KEY,
	deltas   BYTEA NOT NULL
);
