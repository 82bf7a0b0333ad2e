-- The group projection: the latest snapshot of every group, as the group.* events carried it,
-- version-guarded like employees.
CREATE TABLE groups (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    consumer_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    version bigint NOT NULL,
    last_event_id uuid NOT NULL,
    data jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
CREATE INDEX groups_consumer_id ON groups (consumer_id, id);

-- `GET /api/hris/employees?groupId=`: employees whose `groups` contain that id, found by
-- containment (`data -> 'groups' @> '[{"id": …}]'`) on this index.
CREATE INDEX employees_groups ON employees USING gin ((data -> 'groups') jsonb_path_ops);
