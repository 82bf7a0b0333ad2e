-- The retention sweep deletes finished deliveries (and their attempts) by age.
CREATE INDEX deliveries_finished ON deliveries (completed_at) WHERE status <> 'pending';
CREATE INDEX event_bodies_created ON event_bodies (created_at);
