//! Diesel table definitions, matching `migrations/`.

diesel::table! {
    connections (id) {
        id -> Uuid,
        application_id -> Uuid,
        consumer_id -> Uuid,
        service_id -> Text,
        token_sha256 -> Bytea,
        revision -> BigInt,
        deleted -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        connection_id -> Uuid,
        seq -> BigInt,
        user_name -> Text,
        external_id -> Nullable<Text>,
        emails -> Array<Text>,
        manager_remote_id -> Nullable<Text>,
        active -> Bool,
        resource -> Jsonb,
        employee -> Jsonb,
        version -> BigInt,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    groups (id) {
        id -> Uuid,
        connection_id -> Uuid,
        seq -> BigInt,
        display_name -> Text,
        external_id -> Nullable<Text>,
        resource -> Jsonb,
        version -> BigInt,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Uuid,
        user_id -> Uuid,
    }
}

diesel::table! {
    connection_activity (connection_id) {
        connection_id -> Uuid,
        last_request_at -> Timestamptz,
        last_push_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    scim_request_errors (id) {
        id -> Uuid,
        connection_id -> Uuid,
        at -> Timestamptz,
        method -> Text,
        path -> Text,
        status -> Integer,
        scim_type -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(groups, group_members, users);
