-- Batches of pending rollup deltas that a fold could not add (a corrupt
-- blob, or a value the database refused), moved out of pending_rollups so
-- that the other batches keep folding. An operator lists them with
-- ListQuarantinedBatches; the error says why each was moved aside.
CREATE TABLE quarantined_rollups (
	batch_id        TEXT COLLATE "C" PRIMARY KEY,
	deltas          BYTEA NOT NULL,
	error           TEXT NOT NULL,
	quarantine_time TIMESTAMPTZ NOT NULL
);
