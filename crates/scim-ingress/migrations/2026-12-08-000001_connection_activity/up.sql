-- What `GET /api/scim/status` reports besides the counts (src/domain/activity.rs). Requests are
-- noted in memory and written here at most once per `scim.activity_flush_ms` per replica, so a
-- SCIM write costs no extra statement.

-- The newest authenticated SCIM request, and the newest successful write, of each connection.
-- Replicas flush with GREATEST, so an older value never overwrites a newer one.
CREATE TABLE connection_activity (
    connection_id uuid PRIMARY KEY,
    last_request_at timestamptz NOT NULL,
    last_push_at timestamptz
);

-- SCIM requests answered with an error, trimmed to the newest 10 per connection at every flush.
-- `id` is given in memory, so a status read that sees a row both in memory and here counts it once.
CREATE TABLE scim_request_errors (
    id uuid PRIMARY KEY,
    connection_id uuid NOT NULL,
    at timestamptz NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    status int NOT NULL,
    scim_type text,
    detail text NOT NULL
);
CREATE INDEX scim_request_errors_connection_at ON scim_request_errors (connection_id, at DESC, id DESC);
