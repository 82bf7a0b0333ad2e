-- Setup links: time-limited, revocable links a consumer's IT admin opens without signing in to read
-- a connection's SCIM Base URL and API token. The link's token is stored only as its SHA-256.
-- A link outlives its connection and consumer (their references become NULL) so that it keeps
-- answering "410 Gone" with the reason, rather than "404" as if it had never existed.
CREATE TABLE setup_links (
    id uuid PRIMARY KEY,
    connection_id uuid REFERENCES connections (id) ON DELETE SET NULL,
    consumer_id uuid REFERENCES consumers (id) ON DELETE SET NULL,
    token_sha256 bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
-- A connection's links in id order (keyset pagination), and the lookups behind ON DELETE SET NULL.
CREATE INDEX setup_links_connection_id_id ON setup_links (connection_id, id);
CREATE INDEX setup_links_consumer_id ON setup_links (consumer_id);
