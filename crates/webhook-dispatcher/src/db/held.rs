//! Held deliveries: for a subscription that cannot take deliveries now, the fan-out stores each
//! batch's events as one `held_deliveries` row (arrays) instead of a delivery row per event, so a
//! dead endpoint costs the healthy ones one small insert per batch. [`release`] turns held rows
//! into deliveries, in the order they were held, idempotently (a redelivered event held twice
//! becomes one delivery).

use diesel::sql_types::{Array, Double, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uapi_platform::prepared::Prepared;
use uuid::Uuid;

type SqlUuid = diesel::sql_types::Uuid;

/// Turns into deliveries the held rows of `subscriptions`, and every held row older than
/// `older_than_secs` whatever its subscription (a worker that held them may be gone). The
/// deliveries are due since they were held. Returns how many deliveries were created.
pub async fn release(
    conn: &mut AsyncPgConnection,
    subscriptions: &[Uuid],
    older_than_secs: Option<f64>,
) -> diesel::QueryResult<usize> {
    Prepared::new(
        "WITH h AS ( \
            DELETE FROM held_deliveries \
            WHERE subscription_id = ANY($1) \
               OR created_at <= now() - make_interval(secs => $2::float8) \
            RETURNING * \
         ) \
         INSERT INTO deliveries (id, subscription_id, event_id, event_type, entity_id, version, status, \
                                 next_attempt_at, created_at, updated_at) \
         SELECT uuid_v7(), h.subscription_id, e.event_id, e.event_type, e.entity_id, e.version, 'pending', \
                h.created_at, h.created_at, now() \
         FROM h CROSS JOIN LATERAL unnest(h.event_ids, h.event_types, h.entity_ids, h.versions) \
              WITH ORDINALITY AS e(event_id, event_type, entity_id, version, ord) \
         ORDER BY h.id, e.ord \
         ON CONFLICT (event_id, subscription_id) DO NOTHING",
    )
    .bind::<Array<SqlUuid>, _>(subscriptions.to_vec())
    .bind::<Nullable<Double>, _>(older_than_secs)
    .execute(conn)
    .await
}
