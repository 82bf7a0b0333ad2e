-- Deliveries held back for a subscription that cannot take them now (its breaker is open, or its
-- endpoint stalled with every slot busy): one row per fan-out batch, its events as arrays,
-- instead of one delivery row (heap, six index entries, two foreign-key checks) per event. They
-- become deliveries (`db/held.rs`) when the subscription can take them again, when the delivery
-- log or recover reads the subscription, and at the latest after webhooks.hold_max_secs.
CREATE TABLE held_deliveries (
    id bigserial PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_ids uuid[] NOT NULL,
    event_types text[] NOT NULL,
    entity_ids text[] NOT NULL,
    versions bigint[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX held_deliveries_subscription ON held_deliveries (subscription_id, id);
