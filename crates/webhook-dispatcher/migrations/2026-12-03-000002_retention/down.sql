DROP INDEX event_bodies_created;
DROP INDEX deliveries_finished;
