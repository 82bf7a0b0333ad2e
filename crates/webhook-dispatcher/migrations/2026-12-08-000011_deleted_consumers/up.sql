-- Consumers deleted in control-plane: their pending deliveries were cancelled when consumer.deleted
-- arrived, and the fan-out drops their later events.
CREATE TABLE deleted_consumers (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
