//! The employee projection (and, in [`groups`], the group projection): version-guarded upserts and
//! the consumer-scoped reads.

pub mod consumers;
pub mod feed;
pub mod groups;

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
    Upsert::of(rows).execute(conn).await
}

/// The batch upsert with one array bind per column, so it is one prepared statement (parsed and
/// planned once per connection) whatever the batch size.
struct Upsert<'a> {
    ids: Vec<Uuid>,
    application_ids: Vec<Uuid>,
    consumer_ids: Vec<Uuid>,
    connection_ids: Vec<Uuid>,
    versions: Vec<i64>,
    last_event_ids: Vec<Uuid>,
    employment_statuses: Vec<&'a str>,
    work_emails: Vec<Option<&'a str>>,
    data: Vec<&'a Value>,
    updated_at: Vec<DateTime<Utc>>,
    deleted_at: Vec<Option<DateTime<Utc>>>,
}

impl<'a> Upsert<'a> {
    fn of(rows: &'a [EmployeeRow]) -> Self {
        Self {
            ids: rows.iter().map(|r| r.id).collect(),
            application_ids: rows.iter().map(|r| r.application_id).collect(),
            consumer_ids: rows.iter().map(|r| r.consumer_id).collect(),
            connection_ids: rows.iter().map(|r| r.connection_id).collect(),
            versions: rows.iter().map(|r| r.version).collect(),
            last_event_ids: rows.iter().map(|r| r.last_event_id).collect(),
            employment_statuses: rows.iter().map(|r| r.employment_status.as_str()).collect(),
            work_emails: rows.iter().map(|r| r.work_email_lower.as_deref()).collect(),
            data: rows.iter().map(|r| &r.data).collect(),
            updated_at: rows.iter().map(|r| r.updated_at).collect(),
            deleted_at: rows.iter().map(|r| r.deleted_at).collect(),
        }
    }
}

impl diesel::query_builder::QueryId for Upsert<'_> {
    type QueryId = Upsert<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for Upsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
        out.push_sql(
            "INSERT INTO employees (id, application_id, consumer_id, connection_id, version, last_event_id, \
             employment_status, work_email_lower, data, updated_at, deleted_at) SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.application_ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.consumer_ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.connection_ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<BigInt>, _>(&self.versions)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.last_event_ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Text>, _>(&self.employment_statuses)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.work_emails)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.data)?;
        out.push_sql("::jsonb[], ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.updated_at)?;
        out.push_sql("::timestamptz[], ");
        out.push_bind_param::<Array<Nullable<Timestamptz>>, _>(&self.deleted_at)?;
        out.push_sql(
            "::timestamptz[]) ON CONFLICT (id) DO UPDATE SET version = excluded.version, \
             last_event_id = excluded.last_event_id, employment_status = excluded.employment_status, \
             work_email_lower = excluded.work_email_lower, data = excluded.data, updated_at = excluded.updated_at, \
             deleted_at = excluded.deleted_at \
             WHERE employees.version < excluded.version AND employees.consumer_id = excluded.consumer_id",
        );
        Ok(())
    }
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
        // The expression of the GIN index `employees_groups`.
        let wanted = serde_json::json!([{ "id": g }]);
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("data -> 'groups' @> ")
                .bind::<diesel::sql_types::Jsonb, _>(wanted),
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
