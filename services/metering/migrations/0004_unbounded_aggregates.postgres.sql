-- Sums the service keeps (hourly and daily totals, gauge levels) are
-- NUMERIC without a precision limit: an event quantity is below 10^15 in
-- magnitude with at most 18 fraction digits, and no number of such events
-- can overflow an unbounded NUMERIC, whereas NUMERIC(38, 18) overflowed
-- after two events near 10^20. (SQLite keeps decimals as text.)
ALTER TABLE rollups ALTER COLUMN total TYPE NUMERIC, ALTER COLUMN max TYPE NUMERIC, ALTER COLUMN latest TYPE NUMERIC;
ALTER TABLE daily_rollups ALTER COLUMN total TYPE NUMERIC, ALTER COLUMN max TYPE NUMERIC, ALTER COLUMN latest TYPE NUMERIC;
ALTER TABLE gauge_points ALTER COLUMN value TYPE NUMERIC, ALTER COLUMN level TYPE NUMERIC;
