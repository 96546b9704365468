-- A deallocation is settled once its script is known to have run in
-- Redis. One whose process died between its transaction and its script
-- leaves Redis counting the subject's quantity as used; the sweep runs the
-- script for it (see docs/architecture.md, Quota).
ALTER TABLE quota_deallocations ADD COLUMN settled BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX quota_deallocations_unsettled ON quota_deallocations (create_time) WHERE NOT settled;
