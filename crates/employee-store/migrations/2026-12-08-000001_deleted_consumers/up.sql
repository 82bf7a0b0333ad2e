-- Consumers deleted in control-plane: their employees, groups and feed are removed when the
-- consumer.deleted event arrives, and this row keeps them removed (a late event of the consumer
-- is dropped, its access tokens are refused).
CREATE TABLE deleted_consumers (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
