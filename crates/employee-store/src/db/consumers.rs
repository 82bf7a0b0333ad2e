//! Deleted consumers. A consumer's data is written under a shared advisory lock on the consumer
//! and removed under the exclusive one, and each write looks for the consumer's tombstone once it
//! holds the lock: no write of a deleted consumer commits after its removal, whatever the order
//! in which the events arrive.

use std::collections::HashSet;

use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Takes the shared lock of each of `consumers` for the transaction and returns those deleted.
/// Call first in a transaction that writes their data, and write nothing of the deleted ones.
pub async fn guard(conn: &mut AsyncPgConnection, consumers: &[Uuid]) -> diesel::QueryResult<HashSet<Uuid>> {
    let mut sorted: Vec<Uuid> = consumers.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    // Its own statement: the tombstones are read with a snapshot taken after the locks are held.
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended('uapi-consumer:' || c::text, 0)) \
         FROM unnest($1::uuid[]) AS c ORDER BY c",
    )
    .bind::<Array<SqlUuid>, _>(&sorted)
    .execute(conn)
    .await?;
    let deleted: Vec<Id> = diesel::sql_query("SELECT id FROM deleted_consumers WHERE id = ANY($1)")
        .bind::<Array<SqlUuid>, _>(&sorted)
        .load(conn)
        .await?;
    Ok(deleted.into_iter().map(|r| r.id).collect())
}

/// What the removal of a consumer's data deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub employees: usize,
    pub groups: usize,
    pub events: usize,
}

/// Marks `consumer` deleted and removes its employees, groups and feed, under its exclusive lock
/// (call inside a transaction). Idempotent: a second call removes nothing more.
pub async fn remove(conn: &mut AsyncPgConnection, application: Uuid, consumer: Uuid) -> diesel::QueryResult<Removed> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('uapi-consumer:' || $1::text, 0))")
        .bind::<SqlUuid, _>(consumer)
        .execute(conn)
        .await?;
    diesel::sql_query("INSERT INTO deleted_consumers (id, application_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind::<SqlUuid, _>(consumer)
        .bind::<SqlUuid, _>(application)
        .execute(conn)
        .await?;
    let delete = |table: &'static str| {
        diesel::sql_query(format!("DELETE FROM {table} WHERE consumer_id = $1")).bind::<SqlUuid, _>(consumer)
    };
    Ok(Removed {
        events: delete("events").execute(conn).await?,
        groups: delete("groups").execute(conn).await?,
        employees: delete("employees").execute(conn).await?,
    })
}

/// Whether `consumer` was deleted.
pub async fn is_deleted(conn: &mut AsyncPgConnection, consumer: Uuid) -> diesel::QueryResult<bool> {
    let found: Vec<Id> = diesel::sql_query("SELECT id FROM deleted_consumers WHERE id = $1")
        .bind::<SqlUuid, _>(consumer)
        .load(conn)
        .await?;
    Ok(!found.is_empty())
}
