-- A committed reservation is settled once its commit script is known to
-- have run in Redis. A commit whose process died between its transaction
-- and its script stays unsettled, and the expiry sweep runs the script for
-- it before its hold expires in Redis (see docs/architecture.md, Quota).
ALTER TABLE quota_reservations ADD COLUMN settled BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX quota_reservations_unsettled ON quota_reservations (expire_time) WHERE status = 'committed' AND NOT settled;
