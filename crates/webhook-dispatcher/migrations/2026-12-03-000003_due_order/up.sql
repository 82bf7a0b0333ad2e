-- The claim reads each subscription's due deliveries in (next_attempt_at, id) order and stops at
-- its capacity: an index in exactly that order lets it stream instead of sorting the backlog.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (subscription_id, next_attempt_at, id) WHERE status = 'pending';
