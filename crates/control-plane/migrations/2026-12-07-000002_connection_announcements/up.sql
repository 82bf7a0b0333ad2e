-- What a deleted connection was, so its deletion can be announced again: scim-ingress's view of
-- connections converges even when one connection event was lost (docs/architecture.md).
CREATE TABLE connection_tombstones (
    id uuid PRIMARY KEY,
    consumer_id uuid NOT NULL,
    application_id uuid NOT NULL,
    service_id text NOT NULL,
    token_sha256 bytea NOT NULL,
    revision bigint NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connection_tombstones_deleted_at ON connection_tombstones (deleted_at);
-- Recent changes are announced again periodically.
CREATE INDEX connections_updated_at ON connections (updated_at);
