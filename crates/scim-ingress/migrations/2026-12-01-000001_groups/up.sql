-- SCIM Groups, one set per connection. `resource` is the SCIM representation we serve without id,
-- meta and members; members are rows of group_members, so a PATCH on a 10,000-member group writes
-- only the members it adds or removes.
CREATE TABLE groups (
    id uuid PRIMARY KEY,
    connection_id uuid NOT NULL,
    seq bigserial NOT NULL,
    display_name text NOT NULL,
    external_id text,
    resource jsonb NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- displayName is unique per connection, case-insensitively: Okta's `displayName eq` lookup then
-- finds 0 or 1 group, and the filter uses the same expression as this index.
CREATE UNIQUE INDEX groups_connection_display_name ON groups (connection_id, lower(display_name));
CREATE INDEX groups_connection_seq ON groups (connection_id, seq);
CREATE INDEX groups_connection_external_id ON groups (connection_id, external_id);

-- Memberships. Deleting a group or a user deletes its rows; the code writes the events for them
-- first. Members are users of the group's connection: the code checks that before inserting.
CREATE TABLE group_members (
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
-- The groups of a user (user deletion, `members eq` filters run on the primary key).
CREATE INDEX group_members_user ON group_members (user_id);
