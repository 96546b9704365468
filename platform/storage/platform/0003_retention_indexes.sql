-- Pruning idempotency keys and inbox rows past their retention scans by age.
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
CREATE INDEX IF NOT EXISTS inbox_received_at ON inbox (received_at);
