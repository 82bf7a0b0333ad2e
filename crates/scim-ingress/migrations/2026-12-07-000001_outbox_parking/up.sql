-- A row the broker keeps returning as unroutable is parked instead of blocking the rows behind it
-- (uapi_platform::outbox): its unroutable publishes are counted, and parked_at set at the fifth.
ALTER TABLE outbox ADD COLUMN failures int NOT NULL DEFAULT 0, ADD COLUMN parked_at timestamptz;
