-- The events feed (GET /api/hris/events): every employee and group event of a consumer, as its
-- webhook body, written in the transaction that projects it. Ordered by (xid, seq): the writing
-- transaction's id, then insertion order. A reader returns only rows whose transaction is older
-- than every transaction still running (pg_snapshot_xmin), so no row can later commit before a
-- cursor a reader was given: the feed never skips.
CREATE TABLE events (
    consumer_id uuid NOT NULL,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq bigint GENERATED ALWAYS AS IDENTITY,
    event_id uuid NOT NULL UNIQUE,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_id, xid, seq)
);
CREATE INDEX events_created_at ON events (created_at);
DO $$
BEGIN
    ALTER TABLE events ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: event bodies stay compressed with pglz';
END
$$;
