//! What `GET /api/scim/status` reads: each connection's last request and last successful write,
//! its recent SCIM errors, and how many users and groups it has.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::scim_request_errors;

/// How many errors a connection keeps: the newest.
pub const RECENT_ERRORS: usize = 10;

/// A SCIM request answered with an error.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scim_request_errors)]
pub struct ErrorRow {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub scim_type: Option<String>,
    pub detail: String,
}

/// A connection's newest request and newest successful write, as one replica saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub connection_id: Uuid,
    pub last_request_at: DateTime<Utc>,
    pub last_push_at: Option<DateTime<Utc>>,
}

/// Stores `stamps` (never moving a time backwards: replicas flush in any order) and `errors`,
/// then trims the errors of their connections to the newest [`RECENT_ERRORS`]; one transaction.
pub async fn save(conn: &mut AsyncPgConnection, stamps: &[Stamp], errors: &[ErrorRow]) -> QueryResult<()> {
    // In connection order: two replicas flushing at once lock the rows in the same order and so
    // never deadlock each other.
    let mut stamps = stamps.to_vec();
    stamps.sort_unstable_by_key(|s| s.connection_id);
    let ids: Vec<Uuid> = stamps.iter().map(|s| s.connection_id).collect();
    let requests: Vec<DateTime<Utc>> = stamps.iter().map(|s| s.last_request_at).collect();
    let pushes: Vec<Option<DateTime<Utc>>> = stamps.iter().map(|s| s.last_push_at).collect();
    let mut erring: Vec<Uuid> = errors.iter().map(|e| e.connection_id).collect();
    erring.sort_unstable();
    erring.dedup();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::sql_query(
            "INSERT INTO connection_activity (connection_id, last_request_at, last_push_at) \
             SELECT * FROM unnest($1, $2, $3) \
             ON CONFLICT (connection_id) DO UPDATE SET \
             last_request_at = GREATEST(connection_activity.last_request_at, EXCLUDED.last_request_at), \
             last_push_at = GREATEST(connection_activity.last_push_at, EXCLUDED.last_push_at)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Timestamptz>, _>(&requests)
        .bind::<Array<Nullable<Timestamptz>>, _>(&pushes)
        .execute(conn)
        .await?;
        // Well under Postgres's 65,535 bind parameters per statement.
        for chunk in errors.chunks(1000) {
            // A flush retried after a commit whose answer was lost writes the same ids again.
            diesel::insert_into(scim_request_errors::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
        }
        if !erring.is_empty() {
            diesel::sql_query(
                "DELETE FROM scim_request_errors WHERE id IN (SELECT id FROM ( \
                 SELECT id, row_number() OVER (PARTITION BY connection_id ORDER BY at DESC, id DESC) AS n \
                 FROM scim_request_errors WHERE connection_id = ANY($1)) ranked WHERE n > $2)",
            )
            .bind::<Array<SqlUuid>, _>(&erring)
            .bind::<BigInt, _>(RECENT_ERRORS as i64)
            .execute(conn)
            .await?;
        }
        Ok(())
    })
    .await
}

/// What is stored about one connection.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Stored {
    #[diesel(sql_type = BigInt)]
    pub users: i64,
    #[diesel(sql_type = BigInt)]
    pub groups: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_request_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_push_at: Option<DateTime<Utc>>,
}

/// The connection's counts and stored times. The counts are index-only scans of
/// `users_connection_seq` and `groups_connection_seq` (users and groups are deleted as rows, so
/// every row counts).
pub async fn stored(conn: &mut AsyncPgConnection, connection: Uuid) -> QueryResult<Stored> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM users WHERE connection_id = $1) AS users, \
         (SELECT count(*) FROM groups WHERE connection_id = $1) AS groups, \
         (SELECT last_request_at FROM connection_activity WHERE connection_id = $1) AS last_request_at, \
         (SELECT last_push_at FROM connection_activity WHERE connection_id = $1) AS last_push_at",
    )
    .bind::<SqlUuid, _>(connection)
    .get_result(conn)
    .await
}

/// The connection's stored errors, newest first.
pub async fn recent_errors(conn: &mut AsyncPgConnection, connection: Uuid) -> QueryResult<Vec<ErrorRow>> {
    scim_request_errors::table
        .filter(scim_request_errors::connection_id.eq(connection))
        .order((scim_request_errors::at.desc(), scim_request_errors::id.desc()))
        .limit(RECENT_ERRORS as i64)
        .select(ErrorRow::as_select())
        .load(conn)
        .await
}
