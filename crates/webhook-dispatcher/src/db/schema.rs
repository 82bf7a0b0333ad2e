//! Diesel table definitions, matching `migrations/`.

diesel::table! {
    subscriptions (id) {
        id -> Uuid,
        application_id -> Uuid,
        unified_api -> Text,
        delivery_url -> Text,
        events -> Array<Text>,
        status -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
        disabled_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        last_success_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    event_bodies (event_id) {
        event_id -> Uuid,
        application_id -> Uuid,
        event_type -> Text,
        body -> Text,
        created_at -> Timestamptz,
        traceparent -> Nullable<Text>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Uuid,
        subscription_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        entity_id -> Text,
        version -> BigInt,
        status -> Text,
        attempt_count -> Integer,
        step -> Integer,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Integer>,
        latency_ms -> Integer,
        error -> Nullable<Text>,
        response_body -> Nullable<Text>,
    }
}

diesel::joinable!(deliveries -> subscriptions (subscription_id));
diesel::joinable!(attempts -> deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(subscriptions, event_bodies, deliveries, attempts);
