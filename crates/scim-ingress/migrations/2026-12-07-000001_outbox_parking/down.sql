ALTER TABLE outbox DROP COLUMN failures, DROP COLUMN parked_at;
