-- A gauge meter may be fed by the quota service: it then takes events
-- from source 'quota' only.
ALTER TABLE meters ADD COLUMN fed_by_quota BOOLEAN NOT NULL DEFAULT FALSE;
