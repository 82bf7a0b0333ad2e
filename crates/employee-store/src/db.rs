//! The employee projection: version-guarded upserts and the consumer-scoped reads.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uapi_platform::pagination::Page;
use uuid::Uuid;

diesel::table! {
    employees (id) {
        id -> Uuid,
        application_id -> Uuid,
        consumer_id -> Uuid,
        connection_id -> Uuid,
        version -> BigInt,
        last_event_id -> Uuid,
        employment_status -> Text,
        work_email_lower -> Nullable<Text>,
        data -> Jsonb,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = employees)]
pub struct EmployeeRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub consumer_id: Uuid,
    pub connection_id: Uuid,
    pub version: i64,
    pub last_event_id: Uuid,
    pub employment_status: String,
    pub work_email_lower: Option<String>,
    pub data: Value,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Stores `row` unless the stored version is the same or newer. Returns whether it was applied.
pub async fn apply(conn: &mut AsyncPgConnection, row: &EmployeeRow) -> QueryResult<bool> {
    use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    diesel::sql_query(
        "INSERT INTO employees (id, application_id, consumer_id, connection_id, version, last_event_id, \
         employment_status, work_email_lower, data, updated_at, deleted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, last_event_id = EXCLUDED.last_event_id, \
         employment_status = EXCLUDED.employment_status, work_email_lower = EXCLUDED.work_email_lower, \
         data = EXCLUDED.data, updated_at = EXCLUDED.updated_at, deleted_at = EXCLUDED.deleted_at \
         WHERE employees.version < EXCLUDED.version AND employees.consumer_id = EXCLUDED.consumer_id",
    )
    .bind::<SqlUuid, _>(row.id)
    .bind::<SqlUuid, _>(row.application_id)
    .bind::<SqlUuid, _>(row.consumer_id)
    .bind::<SqlUuid, _>(row.connection_id)
    .bind::<BigInt, _>(row.version)
    .bind::<SqlUuid, _>(row.last_event_id)
    .bind::<Text, _>(&row.employment_status)
    .bind::<Nullable<Text>, _>(&row.work_email_lower)
    .bind::<Jsonb, _>(&row.data)
    .bind::<Timestamptz, _>(row.updated_at)
    .bind::<Nullable<Timestamptz>, _>(row.deleted_at)
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// What the list endpoint filters on, besides the consumer.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub updated_after: Option<DateTime<Utc>>,
    pub employment_status: Option<String>,
    pub work_email: Option<String>,
    pub group_id: Option<String>,
    pub include_deleted: bool,
}

/// Up to `page.limit + 1` employees of `consumer` after the cursor, in id order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    consumer: Uuid,
    f: &ListFilter,
    page: Page,
) -> QueryResult<Vec<EmployeeRow>> {
    let mut q = employees::table
        .filter(employees::consumer_id.eq(consumer))
        .select(EmployeeRow::as_select())
        .order(employees::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(employees::id.gt(after));
    }
    if let Some(t) = f.updated_after {
        q = q.filter(employees::updated_at.gt(t));
    }
    if let Some(s) = &f.employment_status {
        q = q.filter(employees::employment_status.eq(s.clone()));
    }
    if let Some(e) = &f.work_email {
        q = q.filter(employees::work_email_lower.eq(e.to_lowercase()));
    }
    if let Some(g) = &f.group_id {
        let wanted = serde_json::json!({ "groups": [{ "id": g }] });
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("data @> ").bind::<diesel::sql_types::Jsonb, _>(wanted),
        );
    }
    if !f.include_deleted {
        q = q.filter(employees::deleted_at.is_null());
    }
    q.load(conn).await
}

/// The employee `id` of `consumer`.
pub async fn find(conn: &mut AsyncPgConnection, consumer: Uuid, id: Uuid) -> QueryResult<Option<EmployeeRow>> {
    employees::table
        .filter(employees::id.eq(id).and(employees::consumer_id.eq(consumer)))
        .select(EmployeeRow::as_select())
        .first(conn)
        .await
        .optional()
}
