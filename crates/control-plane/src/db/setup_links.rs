//! Setup links of a connection (the token's hash only), always scoped to their consumer.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::setup_links;
use uapi_platform::pagination::Page;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = setup_links)]
pub struct SetupLink {
    pub id: Uuid,
    /// `None` once the connection was deleted.
    pub connection_id: Option<Uuid>,
    /// `None` once the consumer was deleted.
    pub consumer_id: Option<Uuid>,
    pub token_sha256: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, link: &SetupLink) -> QueryResult<()> {
    diesel::insert_into(setup_links::table).values(link).execute(conn).await.map(|_| ())
}

/// The link whose token hashes to `sha256`, whatever its state.
pub async fn find_by_token(conn: &mut AsyncPgConnection, sha256: &[u8]) -> QueryResult<Option<SetupLink>> {
    setup_links::table
        .filter(setup_links::token_sha256.eq(sha256))
        .select(SetupLink::as_select())
        .first(conn)
        .await
        .optional()
}

/// Up to `page.limit + 1` links of `connection` (of `consumer`) after the cursor, in id order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    consumer: Uuid,
    connection: Uuid,
    page: Page,
) -> QueryResult<Vec<SetupLink>> {
    let mut query = setup_links::table
        .filter(setup_links::connection_id.eq(connection).and(setup_links::consumer_id.eq(consumer)))
        .select(SetupLink::as_select())
        .order(setup_links::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(setup_links::id.gt(after));
    }
    query.load(conn).await
}

/// Revokes link `id` of `connection` (of `consumer`); a revoked link keeps its first revocation
/// time. False when there is no such link.
pub async fn revoke(conn: &mut AsyncPgConnection, consumer: Uuid, connection: Uuid, id: Uuid) -> QueryResult<bool> {
    let this = setup_links::id
        .eq(id)
        .and(setup_links::connection_id.eq(connection))
        .and(setup_links::consumer_id.eq(consumer));
    let revoked = diesel::update(setup_links::table.filter(this).filter(setup_links::revoked_at.is_null()))
        .set(setup_links::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    if revoked > 0 {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(setup_links::table.filter(this))).get_result(conn).await
}
