ALTER TABLE event_bodies DROP COLUMN traceparent;
