//! Deliveries and attempts: a delivery made outside the fan-out (a test event), the outcome of
//! each attempt, retry and recover, the delivery log and its retention. The fan-out lives in
//! [`super::fanout`], claims in [`super::claims`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uapi_platform::pagination::Page;
use uapi_platform::prepared::Prepared;
use uuid::Uuid;

use super::schema::{attempts, deliveries, event_bodies};

type SqlUuid = diesel::sql_types::Uuid;

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

/// One attempt as recorded.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attempts)]
pub struct Attempt {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    Succeeded,
    /// Retry at this time, on this ladder step.
    RetryAt(DateTime<Utc>),
    Failed,
}

/// A delivery of one event to one subscription, made outside the fan-out, with the event's body.
pub struct NewDelivery<'a> {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub application_id: Uuid,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub entity_id: &'a str,
    pub version: i64,
    /// The webhook body, exactly as it will be signed and sent.
    pub body: &'a str,
}

/// Stores the body and creates the delivery, pending and due now (the database's now: the claim's
/// clock), in one transaction; a worker's claim picks it up. `false` when the subscription is gone.
pub async fn insert(conn: &mut AsyncPgConnection, d: &NewDelivery<'_>) -> QueryResult<bool> {
    use diesel::dsl::now;
    use diesel::result::{DatabaseErrorKind, Error};
    use diesel_async::AsyncConnection;
    let inserted = conn
        .transaction::<_, Error, _>(async |conn| {
            diesel::insert_into(event_bodies::table)
                .values((
                    event_bodies::event_id.eq(d.event_id),
                    event_bodies::application_id.eq(d.application_id),
                    event_bodies::event_type.eq(d.event_type),
                    event_bodies::body.eq(d.body),
                    event_bodies::traceparent.eq(Some(uapi_platform::telemetry::traceparent_or_new())),
                ))
                .execute(conn)
                .await?;
            diesel::insert_into(deliveries::table)
                .values((
                    deliveries::id.eq(d.id),
                    deliveries::subscription_id.eq(d.subscription_id),
                    deliveries::event_id.eq(d.event_id),
                    deliveries::event_type.eq(d.event_type),
                    deliveries::entity_id.eq(d.entity_id),
                    deliveries::version.eq(d.version),
                    deliveries::status.eq(PENDING),
                    deliveries::next_attempt_at.eq(now),
                    deliveries::created_at.eq(now),
                    deliveries::updated_at.eq(now),
                ))
                .execute(conn)
                .await
        })
        .await;
    match inserted {
        Ok(_) => Ok(true),
        // Deleted since the caller read it (the delivery's foreign key).
        Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records the attempts and moves each delivery on, releasing its lease, in two statements.
pub async fn finish_many(conn: &mut AsyncPgConnection, done: &[(Attempt, Next)]) -> QueryResult<()> {
    if done.is_empty() {
        return Ok(());
    }
    insert_attempts(conn, done).await?;
    let status = |n: &Next| match n {
        Next::Succeeded => SUCCEEDED,
        Next::RetryAt(_) => PENDING,
        Next::Failed => FAILED,
    };
    Prepared::new(
        "UPDATE deliveries d SET attempt_count = d.attempt_count + 1, step = d.step + 1, locked_until = NULL, \
             updated_at = now(), status = u.status, next_attempt_at = coalesce(u.next_at, d.next_attempt_at), \
             completed_at = CASE WHEN u.status = 'pending' THEN NULL ELSE now() END \
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(id, status, next_at) \
         WHERE d.id = u.id AND d.status = 'pending'",
    )
    .bind::<Array<SqlUuid>, _>(done.iter().map(|(a, _)| a.delivery_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(done.iter().map(|(_, n)| status(n).to_owned()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(
        done.iter()
            .map(|(_, n)| match n {
                Next::RetryAt(t) => Some(*t),
                _ => None,
            })
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The attempt rows, one array bind per column: one prepared statement whatever the batch size
/// (a multi-row `VALUES` would be a new statement, parsed and planned again, for every size).
async fn insert_attempts(conn: &mut AsyncPgConnection, done: &[(Attempt, Next)]) -> QueryResult<usize> {
    let attempts = || done.iter().map(|(a, _)| a);
    Prepared::new(
        "INSERT INTO attempts (id, delivery_id, attempted_at, status_code, latency_ms, error, response_body) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[])",
    )
    .bind::<Array<SqlUuid>, _>(attempts().map(|a| a.id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(attempts().map(|a| a.delivery_id).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(attempts().map(|a| a.attempted_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Integer>>, _>(attempts().map(|a| a.status_code).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(attempts().map(|a| a.latency_ms).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(attempts().map(|a| a.error.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(attempts().map(|a| a.response_body.as_deref()).collect::<Vec<_>>())
    .execute(conn)
    .await
}

/// Gives a claimed delivery back unattempted, due at `at` (an open circuit breaker).
pub async fn release(conn: &mut AsyncPgConnection, ids: &[Uuid], at: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)))
        .set((deliveries::locked_until.eq(None::<DateTime<Utc>>), deliveries::next_attempt_at.eq(at)))
        .execute(conn)
        .await
}

/// The pending delivery of `event` to `subscription`, if there is one.
pub async fn pending_of(conn: &mut AsyncPgConnection, event: Uuid, subscription: Uuid) -> QueryResult<Option<Uuid>> {
    deliveries::table
        .filter(deliveries::event_id.eq(event))
        .filter(deliveries::subscription_id.eq(subscription))
        .filter(deliveries::status.eq("pending"))
        .select(deliveries::id)
        .first(conn)
        .await
        .optional()
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub entity_id: String,
    pub version: i64,
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Up to `page.limit + 1` deliveries of `subscription` after the cursor, with their attempts.
/// Its held deliveries become deliveries first, so the log shows every event it was sent or is
/// owed.
pub async fn list(
    conn: &mut AsyncPgConnection,
    subscription: Uuid,
    status: Option<&str>,
    page: Page,
) -> QueryResult<Vec<(DeliveryRow, Vec<Attempt>)>> {
    super::held::release(conn, &[subscription], None).await?;
    let mut q = deliveries::table
        .filter(deliveries::subscription_id.eq(subscription))
        .select(DeliveryRow::as_select())
        .order(deliveries::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(deliveries::id.gt(after));
    }
    if let Some(s) = status {
        q = q.filter(deliveries::status.eq(s.to_owned()));
    }
    let rows: Vec<DeliveryRow> = q.load(conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let all: Vec<Attempt> = attempts::table
        .filter(attempts::delivery_id.eq_any(&ids))
        .select(Attempt::as_select())
        .order((attempts::attempted_at.asc(), attempts::id.asc()))
        .load(conn)
        .await?;
    let mut by_delivery: std::collections::HashMap<Uuid, Vec<Attempt>> = std::collections::HashMap::new();
    for a in all {
        by_delivery.entry(a.delivery_id).or_default().push(a);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let a = by_delivery.remove(&r.id).unwrap_or_default();
            (r, a)
        })
        .collect())
}

/// Why a delivery could not be re-queued.
#[derive(Debug, PartialEq, Eq)]
pub enum RetryOutcome {
    Queued,
    NotFound,
    /// Its consumer was deleted: it is never sent again.
    Cancelled,
    /// A worker is attempting it right now.
    InFlight,
}

/// Makes one delivery due now, at the start of the ladder, whatever its status.
pub async fn retry(conn: &mut AsyncPgConnection, subscription: Uuid, id: Uuid) -> QueryResult<RetryOutcome> {
    let exists: Option<Option<DateTime<Utc>>> = deliveries::table
        .filter(deliveries::id.eq(id).and(deliveries::subscription_id.eq(subscription)))
        .select(deliveries::locked_until)
        .first(conn)
        .await
        .optional()?;
    let Some(_) = exists else {
        return Ok(RetryOutcome::NotFound);
    };
    if cancelled(conn, id).await? {
        return Ok(RetryOutcome::Cancelled);
    }
    let n = diesel::sql_query(
        "UPDATE deliveries SET status = 'pending', step = 0, next_attempt_at = now(), completed_at = NULL, \
         updated_at = now() WHERE id = $1 AND subscription_id = $2 \
         AND (locked_until IS NULL OR locked_until < now())",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(subscription)
    .execute(conn)
    .await?;
    Ok(if n > 0 { RetryOutcome::Queued } else { RetryOutcome::InFlight })
}

/// Makes every delivery of `subscription` created at or after `since` that has not succeeded
/// due now, at the start of the ladder (held ones included, made deliveries first). Returns how
/// many.
pub async fn recover(conn: &mut AsyncPgConnection, subscription: Uuid, since: DateTime<Utc>) -> QueryResult<usize> {
    super::held::release(conn, &[subscription], None).await?;
    diesel::sql_query(
        "UPDATE deliveries SET status = 'pending', step = 0, next_attempt_at = now(), completed_at = NULL, \
         updated_at = now() WHERE subscription_id = $1 AND created_at >= $2 AND status <> 'succeeded' \
         AND (locked_until IS NULL OR locked_until < now()) \
         AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_id = deliveries.id AND a.error = $3)",
    )
    .bind::<SqlUuid, _>(subscription)
    .bind::<Timestamptz, _>(since)
    .bind::<Text, _>(super::consumers::CANCELLED)
    .execute(conn)
    .await
}

/// Deletes up to `batch` deliveries finished more than `days` ago (their attempts go with them)
/// and the bodies no delivery refers to any more. Returns how many deliveries went.
pub async fn sweep(conn: &mut AsyncPgConnection, days: u32, batch: i64) -> QueryResult<usize> {
    let n = diesel::sql_query(
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status <> 'pending' \
         AND completed_at < now() - make_interval(days => $1) LIMIT $2)",
    )
    .bind::<Integer, _>(days.min(i32::MAX as u32) as i32)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "DELETE FROM event_bodies WHERE event_id IN (SELECT b.event_id FROM event_bodies b \
         WHERE b.created_at < now() - make_interval(days => $1) \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = b.event_id) LIMIT $2)",
    )
    .bind::<Integer, _>(days.min(i32::MAX as u32) as i32)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await?;
    Ok(n)
}

/// The delivery `id` of `subscription`, for the retry response.
pub async fn find(conn: &mut AsyncPgConnection, subscription: Uuid, id: Uuid) -> QueryResult<Option<DeliveryRow>> {
    deliveries::table
        .filter(deliveries::id.eq(id).and(deliveries::subscription_id.eq(subscription)))
        .select(DeliveryRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Whether delivery `id` was cancelled by its consumer's deletion (never sent again).
async fn cancelled(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    use diesel::dsl::exists;
    diesel::select(exists(
        attempts::table.filter(attempts::delivery_id.eq(id).and(attempts::error.eq(super::consumers::CANCELLED))),
    ))
    .get_result(conn)
    .await
}
