DROP INDEX deliveries_entity_order;
CREATE INDEX deliveries_entity_order ON deliveries (subscription_id, entity_id, version) WHERE status = 'pending';
