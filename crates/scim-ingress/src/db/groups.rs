//! SCIM groups of one connection and their members. Every query takes the connection id (or a
//! group id found through it): a group of another connection is indistinguishable from one that
//! does not exist. Members are rows, so membership changes write only what changes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::SqlFilter;
use super::schema::{group_members, groups, users};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Insertable, AsChangeset)]
#[diesel(table_name = groups)]
#[diesel(treat_none_as_null = true)]
pub struct GroupRow {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    /// The SCIM attributes we serve, without `id`, `meta` and `members`.
    pub resource: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member as a group response shows it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Member {
    pub group_id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
}

/// How [`super::page`] lists groups.
pub const LISTING: super::Listing = super::Listing {
    table: "groups",
    columns: "id, connection_id, display_name, external_id, resource, version, created_at, updated_at",
};

pub async fn insert(conn: &mut AsyncPgConnection, group: &GroupRow) -> QueryResult<()> {
    diesel::insert_into(groups::table).values(group).execute(conn).await.map(|_| ())
}

pub async fn update(conn: &mut AsyncPgConnection, group: &GroupRow) -> QueryResult<()> {
    diesel::update(groups::table.find(group.id)).set(group).execute(conn).await.map(|_| ())
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(groups::table.find(id)).execute(conn).await.map(|_| ())
}

/// The group, locked for the rest of the transaction when `lock` is set.
pub async fn find(
    conn: &mut AsyncPgConnection,
    connection: Uuid,
    id: Uuid,
    lock: bool,
) -> QueryResult<Option<GroupRow>> {
    let query =
        groups::table.filter(groups::id.eq(id).and(groups::connection_id.eq(connection))).select(GroupRow::as_select());
    if lock { query.for_update().first(conn).await.optional() } else { query.first(conn).await.optional() }
}

/// One page of the connection's groups matching `filter`, in creation order, and the total count.
pub async fn list(
    conn: &mut AsyncPgConnection,
    connection: Uuid,
    filter: Option<&SqlFilter>,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<GroupRow>)> {
    super::page(conn, &LISTING, connection, filter, offset, limit).await
}

/// The members of `groups` with their userName (a member's `display`), by group, then user id.
pub async fn members(conn: &mut AsyncPgConnection, groups: &[Uuid]) -> QueryResult<Vec<Member>> {
    group_members::table
        .inner_join(users::table)
        .filter(group_members::group_id.eq_any(groups))
        .select((group_members::group_id, group_members::user_id, users::user_name))
        .order((group_members::group_id.asc(), group_members::user_id.asc()))
        .load(conn)
        .await
}

/// The member ids of a group as text, in id order: what its events carry. One array value, not a
/// row per member: for a 10,000-member group that is several times cheaper to read.
pub async fn member_ids(conn: &mut AsyncPgConnection, group: Uuid) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Ids {
        #[diesel(sql_type = Array<diesel::sql_types::Text>)]
        ids: Vec<String>,
    }
    let row: Ids = diesel::sql_query(
        "SELECT coalesce(array_agg(user_id::text ORDER BY user_id), '{}') AS ids FROM group_members WHERE group_id = $1",
    )
    .bind::<SqlUuid, _>(group)
    .get_result(conn)
    .await?;
    Ok(row.ids)
}

#[derive(QueryableByName)]
struct UserId {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// Makes `users` members (those already members stay as they are); returns those who joined.
pub async fn add_members(conn: &mut AsyncPgConnection, group: Uuid, users: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let joined: Vec<UserId> = diesel::sql_query(
        "INSERT INTO group_members (group_id, user_id) SELECT $1, unnest($2::uuid[]) \
         ON CONFLICT DO NOTHING RETURNING user_id",
    )
    .bind::<SqlUuid, _>(group)
    .bind::<Array<SqlUuid>, _>(users)
    .load(conn)
    .await?;
    Ok(joined.into_iter().map(|r| r.user_id).collect())
}

/// Removes these members; returns those who were members.
pub async fn remove_members(conn: &mut AsyncPgConnection, group: Uuid, users: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let left: Vec<UserId> =
        diesel::sql_query("DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2) RETURNING user_id")
            .bind::<SqlUuid, _>(group)
            .bind::<Array<SqlUuid>, _>(users)
            .load(conn)
            .await?;
    Ok(left.into_iter().map(|r| r.user_id).collect())
}

/// Removes every member except `keep`; returns those removed.
pub async fn remove_members_except(conn: &mut AsyncPgConnection, group: Uuid, keep: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    let left: Vec<UserId> =
        diesel::sql_query("DELETE FROM group_members WHERE group_id = $1 AND user_id <> ALL($2) RETURNING user_id")
            .bind::<SqlUuid, _>(group)
            .bind::<Array<SqlUuid>, _>(keep)
            .load(conn)
            .await?;
    Ok(left.into_iter().map(|r| r.user_id).collect())
}

/// The groups `user` is a member of, locked, in id order.
pub async fn lock_groups_of(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<Vec<GroupRow>> {
    groups::table
        .filter(
            groups::id
                .eq_any(group_members::table.filter(group_members::user_id.eq(user)).select(group_members::group_id)),
        )
        .select(GroupRow::as_select())
        .order(groups::id.asc())
        .for_update()
        .load(conn)
        .await
}
