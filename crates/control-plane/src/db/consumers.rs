//! Consumers, always scoped to their application.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::consumers;
use uapi_platform::pagination::Page;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consumers)]
pub struct Consumer {
    pub id: Uuid,
    pub application_id: Uuid,
    pub name: String,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, consumer: &Consumer) -> QueryResult<()> {
    diesel::insert_into(consumers::table).values(consumer).execute(conn).await.map(|_| ())
}

/// The consumer `id` if it belongs to `application`.
pub async fn find(conn: &mut AsyncPgConnection, application: Uuid, id: Uuid) -> QueryResult<Option<Consumer>> {
    consumers::table
        .filter(consumers::id.eq(id).and(consumers::application_id.eq(application)))
        .select(Consumer::as_select())
        .first(conn)
        .await
        .optional()
}

/// The consumer `id` whatever its application (for `/api/auth` in consumer scope).
pub async fn find_any(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Consumer>> {
    consumers::table.find(id).select(Consumer::as_select()).first(conn).await.optional()
}

/// Up to `page.limit + 1` consumers of `application` after the cursor, in id order.
pub async fn list(conn: &mut AsyncPgConnection, application: Uuid, page: Page) -> QueryResult<Vec<Consumer>> {
    let mut query = consumers::table
        .filter(consumers::application_id.eq(application))
        .select(Consumer::as_select())
        .order(consumers::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(consumers::id.gt(after));
    }
    query.load(conn).await
}

pub async fn delete(conn: &mut AsyncPgConnection, application: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::delete(consumers::table.filter(consumers::id.eq(id).and(consumers::application_id.eq(application))))
        .execute(conn)
        .await
        .map(|n| n > 0)
}
