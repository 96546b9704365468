-- pending_rollups rows live for a fraction of a second, so autovacuum runs
-- often, and their deltas are stored uncompressed (compressing costs more
-- than it saves).
ALTER TABLE pending_rollups SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE pending_rollups ALTER COLUMN deltas SET STORAGE EXTERNAL;
