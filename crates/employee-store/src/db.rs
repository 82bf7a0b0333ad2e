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

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = employees)]
#[diesel(treat_none_as_null = true)]
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

/// Stores rows in one statement, each only if its version is newer than the stored one (so
/// duplicates and stale redeliveries change nothing) and it belongs to the same consumer.
/// The rows must have distinct ids. Returns how many were applied.
pub async fn apply_many(conn: &mut AsyncPgConnection, rows: &[EmployeeRow]) -> QueryResult<usize> {
    use diesel::query_dsl::methods::FilterDsl;
    use diesel::upsert::excluded;
    let upsert = diesel::insert_into(employees::table).values(rows).on_conflict(employees::id).do_update().set((
        employees::version.eq(excluded(employees::version)),
        employees::last_event_id.eq(excluded(employees::last_event_id)),
        employees::employment_status.eq(excluded(employees::employment_status)),
        employees::work_email_lower.eq(excluded(employees::work_email_lower)),
        employees::data.eq(excluded(employees::data)),
        employees::updated_at.eq(excluded(employees::updated_at)),
        employees::deleted_at.eq(excluded(employees::deleted_at)),
    ));
    FilterDsl::filter(
        upsert,
        employees::version
            .lt(excluded(employees::version))
            .and(employees::consumer_id.eq(excluded(employees::consumer_id))),
    )
    .execute(conn)
    .await
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
