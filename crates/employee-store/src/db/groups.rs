//! The group projection: version-guarded upserts and the consumer-scoped reads.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uapi_platform::pagination::Page;
use uuid::Uuid;

diesel::table! {
    groups (id) {
        id -> Uuid,
        application_id -> Uuid,
        consumer_id -> Uuid,
        connection_id -> Uuid,
        version -> BigInt,
        last_event_id -> Uuid,
        data -> Jsonb,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub consumer_id: Uuid,
    pub connection_id: Uuid,
    pub version: i64,
    pub last_event_id: Uuid,
    /// The contract's Group as JSON.
    pub data: Value,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Stores `row` only if its version is newer than the stored one (duplicates and stale
/// redeliveries change nothing) and it belongs to the same consumer. Returns whether it applied.
pub async fn apply(conn: &mut AsyncPgConnection, row: &GroupRow) -> QueryResult<bool> {
    let n = diesel::sql_query(
        "INSERT INTO groups (id, application_id, consumer_id, connection_id, version, last_event_id, data, \
         updated_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, last_event_id = excluded.last_event_id, \
         data = excluded.data, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at \
         WHERE groups.version < excluded.version AND groups.consumer_id = excluded.consumer_id",
    )
    .bind::<SqlUuid, _>(row.id)
    .bind::<SqlUuid, _>(row.application_id)
    .bind::<SqlUuid, _>(row.consumer_id)
    .bind::<SqlUuid, _>(row.connection_id)
    .bind::<BigInt, _>(row.version)
    .bind::<SqlUuid, _>(row.last_event_id)
    .bind::<Jsonb, _>(&row.data)
    .bind::<Timestamptz, _>(row.updated_at)
    .bind::<Nullable<Timestamptz>, _>(row.deleted_at)
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// Up to `page.limit + 1` groups of `consumer` after the cursor, in id order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    consumer: Uuid,
    include_deleted: bool,
    page: Page,
) -> QueryResult<Vec<GroupRow>> {
    let mut q = groups::table
        .filter(groups::consumer_id.eq(consumer))
        .select(GroupRow::as_select())
        .order(groups::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(groups::id.gt(after));
    }
    if !include_deleted {
        q = q.filter(groups::deleted_at.is_null());
    }
    q.load(conn).await
}

/// The group `id` of `consumer`.
pub async fn find(conn: &mut AsyncPgConnection, consumer: Uuid, id: Uuid) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::id.eq(id).and(groups::consumer_id.eq(consumer)))
        .select(GroupRow::as_select())
        .first(conn)
        .await
        .optional()
}
