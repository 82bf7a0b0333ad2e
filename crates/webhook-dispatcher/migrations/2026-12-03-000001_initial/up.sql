-- Webhook subscriptions of an application.
CREATE TABLE subscriptions (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    unified_api text NOT NULL,
    delivery_url text NOT NULL,
    events text[] NOT NULL,
    status text NOT NULL CHECK (status IN ('Enabled', 'Disabled')),
    secret text NOT NULL,
    -- After a rotation the previous secret signs too, until previous_secret_expires_at.
    previous_secret text,
    previous_secret_expires_at timestamptz,
    disabled_reason text,
    disabled_at timestamptz,
    -- Set by the first failure after a success (or creation), cleared by a success: auto-disable.
    failing_since timestamptz,
    last_success_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX subscriptions_application ON subscriptions (application_id, id);

-- The rendered body of each event, stored once for all its deliveries.
CREATE TABLE event_bodies (
    event_id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    event_type text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One delivery per (event, subscription): a redelivered event never fans out twice.
CREATE TABLE deliveries (
    id uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_id uuid NOT NULL REFERENCES event_bodies (event_id),
    event_type text NOT NULL,
    entity_id text NOT NULL,
    version bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- Attempts made in total, and the position on the retry ladder (reset by retry and recover).
    attempt_count integer NOT NULL DEFAULT 0,
    step integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    -- A worker's claim: nobody else attempts the delivery until then.
    locked_until timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    completed_at timestamptz,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX deliveries_due ON deliveries (subscription_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_entity_order ON deliveries (subscription_id, entity_id, version) WHERE status = 'pending';
CREATE INDEX deliveries_log ON deliveries (subscription_id, id);
CREATE INDEX deliveries_recover ON deliveries (subscription_id, created_at);

-- Every attempt of a delivery.
CREATE TABLE attempts (
    id uuid PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL,
    status_code integer,
    latency_ms integer NOT NULL,
    error text,
    -- The first KiB of the response body.
    response_body text
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempted_at);
