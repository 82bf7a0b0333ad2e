-- The trace each event's deliveries continue: every webhook attempt is a span of the trace the
-- change began in (the SCIM request), and its `traceparent` header says so.
ALTER TABLE event_bodies ADD COLUMN traceparent text;
