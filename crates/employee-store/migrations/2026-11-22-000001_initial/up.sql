-- The employee projection: the latest snapshot of every employee, as the events carried it.
-- An event applies only when its version is newer than the stored one, so duplicates and stale
-- redeliveries change nothing.
CREATE TABLE employees (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    consumer_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    version bigint NOT NULL,
    last_event_id uuid NOT NULL,
    employment_status text NOT NULL,
    work_email_lower text,
    data jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
-- Keyset pagination per consumer, and the filters of the list endpoint.
CREATE INDEX employees_consumer_id ON employees (consumer_id, id);
CREATE INDEX employees_consumer_updated ON employees (consumer_id, updated_at);
CREATE INDEX employees_consumer_work_email ON employees (consumer_id, work_email_lower);
