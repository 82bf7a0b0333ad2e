//! Persistence of scim-ingress: connections (for authentication), SCIM users and SCIM groups, and
//! what the status endpoint reports.

pub mod activity;
pub mod connections;
pub mod groups;
pub mod schema;
pub mod users;

use diesel::QueryResult;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Whether `e` is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// Whether `e` aborted the transaction only because of a concurrent one (a deadlock or a
/// serialization failure): the same request succeeds when retried.
pub fn is_lock_conflict(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        // diesel has no kind for SQLSTATE 40P01; Postgres words it this way.
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => info.message().starts_with("deadlock detected"),
        _ => false,
    }
}

/// The current time at Postgres precision (microseconds).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// Serialises, until the transaction ends, the writes of one connection that change group
/// memberships (group writes, user deletion). They lock a group and its members' users, or a
/// user and its groups: without this lock the two orders could deadlock.
pub async fn lock_memberships(conn: &mut AsyncPgConnection, connection: Uuid) -> QueryResult<()> {
    // The random half of the UUID (v7's first half is a timestamp), as the lock key.
    let (_, random) = connection.as_u64_pair();
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(random as i64).execute(conn).await?;
    Ok(())
}

/// A compiled filter: a SQL boolean expression over one table with its text binds in order.
#[derive(Debug, Clone, Default)]
pub struct SqlFilter {
    pub sql: String,
    pub binds: Vec<String>,
    /// True when it reads the stored JSON, not only indexed columns: it then scans the connection.
    pub scans: bool,
}

/// What [`page`] reads: a table of per-connection resources, ordered by creation (`seq`).
pub struct Listing {
    pub table: &'static str,
    /// The selected columns, matching the row type's `QueryableByName` fields.
    pub columns: &'static str,
}

/// One page of the connection's rows of `listing` matching `filter`, in creation order, and the
/// total count. The total rides along as a window count, so a page costs one query.
///
/// A filter that scans runs with JIT compilation off: the planner's estimate for the JSON
/// expressions is far above `jit_above_cost`, and compiling them took 600 ms of a 1.1 s query
/// over 100,000 users (`make bench`), more than the scan itself.
pub async fn page<R>(
    conn: &mut AsyncPgConnection,
    listing: &Listing,
    connection: Uuid,
    filter: Option<&SqlFilter>,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<R>)>
where
    R: diesel::QueryableByName<diesel::pg::Pg> + Send + 'static,
{
    use diesel_async::AsyncConnection;
    if !filter.is_some_and(|f| f.scans) {
        return page_of(conn, listing, connection, filter, offset, limit).await;
    }
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::sql_query("SET LOCAL jit = off").execute(conn).await?;
        page_of(conn, listing, connection, filter, offset, limit).await
    })
    .await
}

async fn page_of<R>(
    conn: &mut AsyncPgConnection,
    listing: &Listing,
    connection: Uuid,
    filter: Option<&SqlFilter>,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<R>)>
where
    R: diesel::QueryableByName<diesel::pg::Pg> + Send + 'static,
{
    let condition = filter.map(|f| format!(" AND ({})", f.sql)).unwrap_or_default();
    let binds: &[String] = filter.map(|f| f.binds.as_slice()).unwrap_or(&[]);
    if limit == 0 {
        return Ok((count(conn, listing, connection, &condition, binds).await?, Vec::new()));
    }

    let n = binds.len();
    let (table, columns) = (listing.table, listing.columns);
    let mut page = diesel::sql_query(format!(
        "SELECT {columns}, count(*) OVER () AS total FROM {table} WHERE connection_id = $1{condition} \
         ORDER BY seq LIMIT ${} OFFSET ${}",
        n + 2,
        n + 3
    ))
    .into_boxed()
    .bind::<SqlUuid, _>(connection);
    for b in binds {
        page = page.bind::<Text, _>(b.clone());
    }
    let rows = page.bind::<BigInt, _>(limit).bind::<BigInt, _>(offset).load::<PageRow<R>>(conn).await?;
    match <[PageRow<R>]>::first(&rows) {
        Some(first) => {
            let total = first.total;
            Ok((total, rows.into_iter().map(|r| r.row).collect()))
        }
        // Past the last page (or nothing matches): only then is a separate count needed.
        None if offset > 0 => Ok((count(conn, listing, connection, &condition, binds).await?, Vec::new())),
        None => Ok((0, Vec::new())),
    }
}

/// A row of [`page`]: the resource and the window count riding along. By hand, because the derive
/// does not embed a type parameter.
struct PageRow<R> {
    row: R,
    total: i64,
}

impl<R: diesel::QueryableByName<diesel::pg::Pg>> diesel::QueryableByName<diesel::pg::Pg> for PageRow<R> {
    fn build<'a>(row: &impl diesel::row::NamedRow<'a, diesel::pg::Pg>) -> diesel::deserialize::Result<Self> {
        Ok(Self { row: R::build(row)?, total: diesel::row::NamedRow::get::<BigInt, i64>(row, "total")? })
    }
}

async fn count(
    conn: &mut AsyncPgConnection,
    listing: &Listing,
    connection: Uuid,
    condition: &str,
    binds: &[String],
) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let table = listing.table;
    let mut count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table} WHERE connection_id = $1{condition}"))
        .into_boxed()
        .bind::<SqlUuid, _>(connection);
    for b in binds {
        count = count.bind::<Text, _>(b.clone());
    }
    count.get_result::<Count>(conn).await.map(|c| c.n)
}
