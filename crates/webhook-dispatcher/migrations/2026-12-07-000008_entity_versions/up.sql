-- The order rule also asks for the highest version below a delivery's, finished or not
-- (db::in_order): whether the version before it has its delivery yet.
CREATE INDEX deliveries_entity_versions ON deliveries (subscription_id, entity_id, version);
