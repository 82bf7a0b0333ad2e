//! Deleted consumers: their tombstones, and the cancellation of their pending deliveries.

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The error an attempt row records for a delivery cancelled by its consumer's deletion.
pub const CANCELLED: &str = "not delivered: the consumer was deleted";

/// Marks `consumer` deleted and fails its pending deliveries, held ones included, each with an
/// attempt row saying why (the delivery log shows it). Returns how many were cancelled.
/// Idempotent; call inside a transaction.
pub async fn remove(conn: &mut AsyncPgConnection, application: Uuid, consumer: Uuid) -> diesel::QueryResult<usize> {
    // Deliveries held back for the application's subscriptions become pending ones first, so the
    // statement below finds the consumer's among them.
    #[derive(diesel::QueryableByName)]
    struct Sub {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let subscriptions: Vec<Sub> = diesel::sql_query("SELECT id FROM subscriptions WHERE application_id = $1")
        .bind::<SqlUuid, _>(application)
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = subscriptions.into_iter().map(|s| s.id).collect();
    super::held::release(conn, &ids, None).await?;
    diesel::sql_query("INSERT INTO deleted_consumers (id, application_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind::<SqlUuid, _>(consumer)
        .bind::<SqlUuid, _>(application)
        .execute(conn)
        .await?;
    // Deliveries do not carry the consumer: their event's body does. A rare statement, scoped to
    // the application's bodies.
    diesel::sql_query(
        "WITH cancelled AS ( \
            UPDATE deliveries d SET status = 'failed', completed_at = now(), locked_until = NULL, updated_at = now() \
            FROM event_bodies b \
            WHERE b.event_id = d.event_id AND d.status = 'pending' AND b.application_id = $1 \
              AND (b.body::jsonb ->> 'consumerId') = $2::text \
            RETURNING d.id \
         ) \
         INSERT INTO attempts (id, delivery_id, attempted_at, status_code, latency_ms, error, response_body) \
         SELECT uuid_v7(), id, now(), NULL, 0, $3, NULL FROM cancelled",
    )
    .bind::<SqlUuid, _>(application)
    .bind::<SqlUuid, _>(consumer)
    .bind::<Text, _>(CANCELLED)
    .execute(conn)
    .await
}

/// Whether `consumer` was deleted.
pub async fn is_deleted(conn: &mut AsyncPgConnection, consumer: Uuid) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        #[allow(dead_code)]
        id: Uuid,
    }
    let found: Vec<Id> = diesel::sql_query("SELECT id FROM deleted_consumers WHERE id = $1")
        .bind::<SqlUuid, _>(consumer)
        .load(conn)
        .await?;
    Ok(!found.is_empty())
}
