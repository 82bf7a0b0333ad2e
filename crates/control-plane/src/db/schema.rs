//! Diesel table definitions, matching `migrations/`.

diesel::table! {
    applications (id) {
        id -> Uuid,
        name -> Text,
        api_key_sha256 -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    consumers (id) {
        id -> Uuid,
        application_id -> Uuid,
        name -> Text,
        reference -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    connections (id) {
        id -> Uuid,
        consumer_id -> Uuid,
        application_id -> Uuid,
        service_id -> Text,
        status -> Text,
        token_salt -> Bytea,
        token_sha256 -> Bytea,
        token_revision -> BigInt,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    connection_tombstones (id) {
        id -> Uuid,
        consumer_id -> Uuid,
        application_id -> Uuid,
        service_id -> Text,
        token_sha256 -> Bytea,
        revision -> BigInt,
        deleted_at -> Timestamptz,
    }
}

diesel::table! {
    setup_links (id) {
        id -> Uuid,
        connection_id -> Nullable<Uuid>,
        consumer_id -> Nullable<Uuid>,
        token_sha256 -> Bytea,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(applications, consumers, connections, connection_tombstones, setup_links);
