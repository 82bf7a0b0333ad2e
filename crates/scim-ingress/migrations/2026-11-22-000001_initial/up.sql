-- Connections as control-plane announces them (connection.* events): how SCIM tokens are checked.
CREATE TABLE connections (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    consumer_id uuid NOT NULL,
    service_id text NOT NULL,
    token_sha256 bytea NOT NULL,
    revision bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX connections_token ON connections (token_sha256) WHERE NOT deleted;

-- SCIM Users, one set per connection. `resource` is the SCIM representation we serve (no id, meta
-- or password); `employee` is its normalized Employee, kept to detect writes that change nothing.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    connection_id uuid NOT NULL,
    seq bigserial NOT NULL,
    user_name text NOT NULL,
    external_id text,
    emails text[] NOT NULL DEFAULT '{}',
    manager_remote_id text,
    active boolean NOT NULL,
    resource jsonb NOT NULL,
    employee jsonb NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- userName is unique per connection, case-insensitively (RFC 7643 caseExact=false); the filter
-- `userName eq` uses the very same expression, so lookups and the 409 check always agree.
CREATE UNIQUE INDEX users_connection_user_name ON users (connection_id, lower(user_name));
CREATE INDEX users_connection_external_id ON users (connection_id, external_id);
CREATE INDEX users_connection_seq ON users (connection_id, seq);
CREATE INDEX users_emails ON users USING gin (emails);
CREATE INDEX users_connection_manager ON users (connection_id, manager_remote_id) WHERE manager_remote_id IS NOT NULL;

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    message_id uuid NOT NULL,
    routing_key text NOT NULL,
    type_name text NOT NULL,
    payload bytea NOT NULL,
    traceparent text,
    created_at timestamptz NOT NULL DEFAULT now()
);
