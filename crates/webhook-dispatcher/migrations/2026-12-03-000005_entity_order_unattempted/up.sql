-- The order rule asks one question per (subscription, entity): does an older version still await
-- its first attempt? An index holding exactly those rows answers it with a lookup; the wider
-- one it replaces lost to deliveries_due in the planner's eyes and led to scanning every pending
-- delivery of the subscription (dead ones included) once per new delivery.
DROP INDEX deliveries_entity_order;
CREATE INDEX deliveries_entity_order ON deliveries (subscription_id, entity_id, version)
    WHERE status = 'pending' AND attempt_count = 0;
