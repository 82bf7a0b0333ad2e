-- Test events (`webhook.test`) go out to disabled subscriptions too, whose other deliveries wait:
-- the claim finds a disabled subscription's pending test events here, without walking the backlog
-- of deliveries it keeps for when it is enabled again.
CREATE INDEX deliveries_tests ON deliveries (subscription_id, next_attempt_at, id)
    WHERE status = 'pending' AND event_type = 'webhook.test';
