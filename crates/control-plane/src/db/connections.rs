//! Connections of a consumer and their SCIM credentials (salt and hash only).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{connection_tombstones, connections};
use uapi_platform::pagination::Page;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connections)]
pub struct Connection {
    pub id: Uuid,
    pub consumer_id: Uuid,
    pub application_id: Uuid,
    pub service_id: String,
    pub status: String,
    pub token_salt: Vec<u8>,
    pub token_sha256: Vec<u8>,
    pub token_revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, connection: &Connection) -> QueryResult<()> {
    diesel::insert_into(connections::table).values(connection).execute(conn).await.map(|_| ())
}

/// The connection `id` if it belongs to `consumer`.
pub async fn find(conn: &mut AsyncPgConnection, consumer: Uuid, id: Uuid) -> QueryResult<Option<Connection>> {
    connections::table
        .filter(connections::id.eq(id).and(connections::consumer_id.eq(consumer)))
        .select(Connection::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every connection of `consumer` (a handful at most), in id order.
pub async fn all_of(conn: &mut AsyncPgConnection, consumer: Uuid) -> QueryResult<Vec<Connection>> {
    connections::table
        .filter(connections::consumer_id.eq(consumer))
        .select(Connection::as_select())
        .order(connections::id.asc())
        .load(conn)
        .await
}

/// Up to `page.limit + 1` connections of `consumer` after the cursor.
pub async fn list(conn: &mut AsyncPgConnection, consumer: Uuid, page: Page) -> QueryResult<Vec<Connection>> {
    let mut query = connections::table
        .filter(connections::consumer_id.eq(consumer))
        .select(Connection::as_select())
        .order(connections::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(connections::id.gt(after));
    }
    query.load(conn).await
}

/// Replaces the token salt and hash, bumping the revision; returns the updated row.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    consumer: Uuid,
    id: Uuid,
    salt: &[u8],
    sha256: &[u8],
) -> QueryResult<Option<Connection>> {
    diesel::update(connections::table.filter(connections::id.eq(id).and(connections::consumer_id.eq(consumer))))
        .set((
            connections::token_salt.eq(salt),
            connections::token_sha256.eq(sha256),
            connections::token_revision.eq(connections::token_revision + 1),
            connections::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Connection::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Deletes the connection; returns the deleted row.
pub async fn delete(conn: &mut AsyncPgConnection, consumer: Uuid, id: Uuid) -> QueryResult<Option<Connection>> {
    diesel::delete(connections::table.filter(connections::id.eq(id).and(connections::consumer_id.eq(consumer))))
        .returning(Connection::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// What a deleted connection was: its deletion is announced again from this.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connection_tombstones)]
pub struct Tombstone {
    pub id: Uuid,
    pub consumer_id: Uuid,
    pub application_id: Uuid,
    pub service_id: String,
    pub token_sha256: Vec<u8>,
    /// The deletion's revision: one past the connection's last token revision.
    pub revision: i64,
    pub deleted_at: DateTime<Utc>,
}

/// Records the deletion of `c` (in the transaction that deletes it).
pub async fn bury(conn: &mut AsyncPgConnection, c: &Connection) -> QueryResult<Tombstone> {
    let tombstone = Tombstone {
        id: c.id,
        consumer_id: c.consumer_id,
        application_id: c.application_id,
        service_id: c.service_id.clone(),
        token_sha256: c.token_sha256.clone(),
        revision: c.token_revision + 1,
        deleted_at: Utc::now(),
    };
    diesel::insert_into(connection_tombstones::table).values(&tombstone).on_conflict_do_nothing().execute(conn).await?;
    Ok(tombstone)
}

/// Connections changed at or after `since` (every one without it), in id order.
pub async fn changed_since(conn: &mut AsyncPgConnection, since: Option<DateTime<Utc>>) -> QueryResult<Vec<Connection>> {
    let mut query = connections::table.select(Connection::as_select()).order(connections::id.asc()).into_boxed();
    if let Some(since) = since {
        query = query.filter(connections::updated_at.ge(since));
    }
    query.load(conn).await
}

/// Connections deleted at or after `since` (every one without it), in id order.
pub async fn buried_since(conn: &mut AsyncPgConnection, since: Option<DateTime<Utc>>) -> QueryResult<Vec<Tombstone>> {
    let mut query =
        connection_tombstones::table.select(Tombstone::as_select()).order(connection_tombstones::id.asc()).into_boxed();
    if let Some(since) = since {
        query = query.filter(connection_tombstones::deleted_at.ge(since));
    }
    query.load(conn).await
}
