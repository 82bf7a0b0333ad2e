//! The events feed: every event a consumer's projection applied, as its webhook body, in an order
//! that never skips an event committed later (the migration `events_feed` explains why).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

/// One event for the feed.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    pub consumer_id: Uuid,
    pub event_id: Uuid,
    /// The webhook body.
    pub body: Value,
}

/// Where a reader is: after the event at (`xid`, `seq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub xid: String,
    pub seq: i64,
}

impl Position {
    /// Before every event.
    pub fn start() -> Self {
        Self { xid: "0".into(), seq: 0 }
    }
}

/// Stores `events` in the caller's transaction; an event stored before (a redelivery) is skipped.
pub async fn append(conn: &mut AsyncPgConnection, events: &[&FeedEvent]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO events (consumer_id, event_id, body) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.consumer_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(events.iter().map(|e| &e.body).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map(|_| ())
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    xid: String,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Jsonb)]
    body: Value,
}

/// Up to `limit` events of `consumer` after `after`, oldest first, each with its position. Only
/// events of transactions older than every one still running are visible.
pub async fn read(
    conn: &mut AsyncPgConnection,
    consumer: Uuid,
    after: &Position,
    limit: i64,
) -> QueryResult<Vec<(Position, Value)>> {
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT xid::text AS xid, seq, body FROM events \
         WHERE consumer_id = $1 AND (xid, seq) > ($2::xid8, $3) \
           AND xid < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY xid, seq LIMIT $4",
    )
    .bind::<SqlUuid, _>(consumer)
    .bind::<Text, _>(&after.xid)
    .bind::<BigInt, _>(after.seq)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (Position { xid: r.xid, seq: r.seq }, r.body)).collect())
}

/// Deletes events older than `days`, at most `batch` of them; how many.
pub async fn sweep(conn: &mut AsyncPgConnection, days: u32, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events \
         WHERE created_at < now() - make_interval(days => $1) LIMIT $2)",
    )
    .bind::<diesel::sql_types::Integer, _>(days as i32)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await
}

/// Deletes events past `days` until `stop`, a bounded batch every ten minutes.
pub async fn sweep_until(pool: uapi_platform::db::PgPool, days: u32, stop: tokio_util::sync::CancellationToken) {
    loop {
        let swept = match pool.get().await {
            Ok(mut conn) => sweep(&mut conn, days, 10_000).await.map_err(anyhow::Error::from),
            Err(e) => Err(anyhow::Error::from(e)),
        };
        match swept {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "events past the feed's retention deleted"),
            Err(e) => tracing::warn!(error = %e, "feed retention sweep failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
        }
    }
}
