//! The connections control-plane announced, and the token lookup of every SCIM request.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::schema::connections;
use crate::scim::auth::Tenant;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connections)]
pub struct ConnectionRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub consumer_id: Uuid,
    pub service_id: String,
    pub token_sha256: Vec<u8>,
    pub revision: i64,
    pub deleted: bool,
}

/// The live connection whose token hashes to `sha256`.
pub async fn find_by_token(conn: &mut AsyncPgConnection, sha256: &[u8]) -> QueryResult<Option<Tenant>> {
    let row: Option<ConnectionRow> = connections::table
        .filter(connections::token_sha256.eq(sha256).and(connections::deleted.eq(false)))
        .select(ConnectionRow::as_select())
        .first(conn)
        .await
        .optional()?;
    // The index found it by equality; compare again in constant time so timing says nothing.
    Ok(row.filter(|r| bool::from(r.token_sha256.ct_eq(sha256))).map(|r| Tenant {
        connection_id: r.id,
        application_id: r.application_id,
        consumer_id: r.consumer_id,
        service_id: r.service_id,
    }))
}

/// The tenant of connection `id`, live or deleted.
pub async fn tenant(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Tenant>> {
    let row: Option<ConnectionRow> = connections::table
        .filter(connections::id.eq(id))
        .select(ConnectionRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|r| Tenant {
        connection_id: r.id,
        application_id: r.application_id,
        consumer_id: r.consumer_id,
        service_id: r.service_id,
    }))
}

/// Applies a lifecycle event unless an event at least as new was applied already.
/// Returns whether anything changed.
pub async fn apply(conn: &mut AsyncPgConnection, row: &ConnectionRow) -> QueryResult<bool> {
    use diesel::sql_types::{BigInt, Bool, Bytea, Text, Uuid as SqlUuid};
    let n = diesel::sql_query(
        "INSERT INTO connections (id, application_id, consumer_id, service_id, token_sha256, revision, deleted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET application_id = EXCLUDED.application_id, \
         consumer_id = EXCLUDED.consumer_id, service_id = EXCLUDED.service_id, \
         token_sha256 = EXCLUDED.token_sha256, revision = EXCLUDED.revision, deleted = EXCLUDED.deleted, \
         updated_at = now() \
         WHERE connections.revision < EXCLUDED.revision",
    )
    .bind::<SqlUuid, _>(row.id)
    .bind::<SqlUuid, _>(row.application_id)
    .bind::<SqlUuid, _>(row.consumer_id)
    .bind::<Text, _>(&row.service_id)
    .bind::<Bytea, _>(&row.token_sha256)
    // Only a newer revision wins: duplicates and stale redeliveries change nothing.
    .bind::<BigInt, _>(row.revision)
    .bind::<Bool, _>(row.deleted)
    .execute(conn)
    .await?;
    Ok(n > 0)
}
