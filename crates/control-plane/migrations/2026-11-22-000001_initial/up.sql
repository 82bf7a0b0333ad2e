-- Applications: our customers. The API key is stored only as its SHA-256.
CREATE TABLE applications (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    api_key_sha256 bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Consumers: an application's own customers.
CREATE TABLE consumers (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    name text NOT NULL,
    reference text,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination per application walks this index.
CREATE INDEX consumers_application_id_id ON consumers (application_id, id);
CREATE UNIQUE INDEX consumers_application_reference ON consumers (application_id, reference)
    WHERE reference IS NOT NULL;

-- Connections: one integration of one consumer. The SCIM token is derived from a server key and
-- token_salt (so it can be shown again) and verified by its SHA-256; neither column reveals it.
CREATE TABLE connections (
    id uuid PRIMARY KEY,
    consumer_id uuid NOT NULL REFERENCES consumers (id) ON DELETE CASCADE,
    application_id uuid NOT NULL,
    service_id text NOT NULL,
    status text NOT NULL,
    token_salt bytea NOT NULL,
    token_sha256 bytea NOT NULL UNIQUE,
    token_revision bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX connections_consumer_service ON connections (consumer_id, service_id);
CREATE INDEX connections_consumer_id_id ON connections (consumer_id, id);

-- Connection lifecycle events waiting to be published (see uapi_platform::outbox).
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    message_id uuid NOT NULL,
    routing_key text NOT NULL,
    type_name text NOT NULL,
    payload bytea NOT NULL,
    traceparent text,
    created_at timestamptz NOT NULL DEFAULT now()
);
