-- Outbox rows live for milliseconds; vacuum often, or the relay's scan
-- wades through dead rows.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0);
