//! SCIM users of one connection. Every query takes the connection id: a user of another
//! connection is indistinguishable from one that does not exist.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::SqlFilter;
use super::schema::users;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Insertable, AsChangeset)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_null = true)]
pub struct UserRow {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub user_name: String,
    pub external_id: Option<String>,
    pub emails: Vec<String>,
    pub manager_remote_id: Option<String>,
    pub active: bool,
    pub resource: Value,
    pub employee: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a write stores: the same row.
pub type UserWrite = UserRow;

pub async fn insert<C>(conn: &mut C, user: &UserWrite) -> QueryResult<()>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg> + Send,
{
    diesel::insert_into(users::table).values(user).execute(conn).await.map(|_| ())
}

pub async fn update(conn: &mut AsyncPgConnection, user: &UserWrite) -> QueryResult<()> {
    diesel::update(users::table.find(user.id)).set(user).execute(conn).await.map(|_| ())
}

/// A new user and its `employee.created` event, as [`insert_created`] takes them.
pub struct NewUser {
    pub row: UserWrite,
    pub event: uapi_platform::outbox::NewMessage<'static>,
    pub traceparent: Option<String>,
}

/// What [`insert_created`] did with one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored with its event; `has_reports`: existing users name it as their manager.
    Stored { has_reports: bool },
    /// Its userName is taken (by a stored user or by an earlier one of the same batch).
    Taken,
}

/// Inserts `users` and, for each one stored, its event into the outbox: one statement, so one
/// round trip and one commit for the whole batch (a group commit). A user whose userName is taken
/// is skipped together with its event, and reported as [`Inserted::Taken`].
pub async fn insert_created(conn: &mut AsyncPgConnection, users: &[NewUser]) -> QueryResult<Vec<Inserted>> {
    let stored: Vec<(Uuid, bool)> = InsertCreated::of(users).load(conn).await?;
    let stored: std::collections::HashMap<Uuid, bool> = stored.into_iter().collect();
    Ok(users
        .iter()
        .map(|u| match stored.get(&u.row.id) {
            Some(&has_reports) => Inserted::Stored { has_reports },
            None => Inserted::Taken,
        })
        .collect())
}

/// The batch insert with its binds, one array per column. A query type of its own (not
/// `sql_query`), so the statement is prepared and planned once per connection, not per batch.
struct InsertCreated<'a> {
    ids: Vec<Uuid>,
    connection_ids: Vec<Uuid>,
    user_names: Vec<&'a str>,
    external_ids: Vec<Option<&'a str>>,
    emails: Vec<Value>,
    manager_remote_ids: Vec<Option<&'a str>>,
    active: Vec<bool>,
    resources: Vec<&'a Value>,
    employees: Vec<&'a Value>,
    versions: Vec<i64>,
    created_at: Vec<DateTime<Utc>>,
    updated_at: Vec<DateTime<Utc>>,
    message_ids: Vec<Uuid>,
    routing_keys: Vec<&'a str>,
    type_names: Vec<&'a str>,
    payloads: Vec<&'a [u8]>,
    traceparents: Vec<Option<&'a str>>,
}

impl<'a> InsertCreated<'a> {
    fn of(users: &'a [NewUser]) -> Self {
        let rows = || users.iter().map(|u| &u.row);
        Self {
            ids: rows().map(|r| r.id).collect(),
            connection_ids: rows().map(|r| r.connection_id).collect(),
            user_names: rows().map(|r| r.user_name.as_str()).collect(),
            external_ids: rows().map(|r| r.external_id.as_deref()).collect(),
            emails: rows().map(|r| Value::from(r.emails.clone())).collect(),
            manager_remote_ids: rows().map(|r| r.manager_remote_id.as_deref()).collect(),
            active: rows().map(|r| r.active).collect(),
            resources: rows().map(|r| &r.resource).collect(),
            employees: rows().map(|r| &r.employee).collect(),
            versions: rows().map(|r| r.version).collect(),
            created_at: rows().map(|r| r.created_at).collect(),
            updated_at: rows().map(|r| r.updated_at).collect(),
            message_ids: users.iter().map(|u| u.event.message_id).collect(),
            routing_keys: users.iter().map(|u| u.event.routing_key).collect(),
            type_names: users.iter().map(|u| u.event.type_name).collect(),
            payloads: users.iter().map(|u| u.event.payload.as_slice()).collect(),
            traceparents: users.iter().map(|u| u.traceparent.as_deref()).collect(),
        }
    }
}

impl diesel::query_builder::QueryId for InsertCreated<'_> {
    type QueryId = InsertCreated<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for InsertCreated<'_> {
    type SqlType = (SqlUuid, diesel::sql_types::Bool);
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertCreated<'_> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Bool, Bytea, Jsonb, Nullable, Timestamptz};
        // Each bind is written where it stands: unnest($1::uuid[], $2::uuid[], …).
        out.push_sql(INSERT_CREATED_HEAD);
        out.push_bind_param::<Array<SqlUuid>, _>(&self.ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.connection_ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Text>, _>(&self.user_names)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.external_ids)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.emails)?;
        out.push_sql("::jsonb[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.manager_remote_ids)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Bool>, _>(&self.active)?;
        out.push_sql("::bool[], ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.resources)?;
        out.push_sql("::jsonb[], ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.employees)?;
        out.push_sql("::jsonb[], ");
        out.push_bind_param::<Array<BigInt>, _>(&self.versions)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.created_at)?;
        out.push_sql("::timestamptz[], ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.updated_at)?;
        out.push_sql("::timestamptz[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.message_ids)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Text>, _>(&self.routing_keys)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(&self.type_names)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Bytea>, _>(&self.payloads)?;
        out.push_sql("::bytea[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.traceparents)?;
        out.push_sql("::text[]");
        out.push_sql(INSERT_CREATED_TAIL);
        Ok(())
    }
}

/// The statement around the binds. Data-modifying CTEs run exactly once and commit with the
/// statement. Outbox rows follow the input order, so their ids (the publish order) do too.
const INSERT_CREATED_HEAD: &str = "WITH input AS (SELECT * FROM unnest(";
const INSERT_CREATED_TAIL: &str = ") WITH ORDINALITY \
    AS t(id, connection_id, user_name, external_id, emails, manager_remote_id, active, resource, employee, version, \
        created_at, updated_at, message_id, routing_key, type_name, payload, traceparent, ord)\
), inserted AS (\
    INSERT INTO users (id, connection_id, user_name, external_id, emails, manager_remote_id, active, resource, \
        employee, version, created_at, updated_at) \
    SELECT id, connection_id, user_name, external_id, ARRAY(SELECT jsonb_array_elements_text(emails)), \
        manager_remote_id, active, resource, employee, version, created_at, updated_at FROM input ORDER BY ord \
    ON CONFLICT DO NOTHING \
    RETURNING id, connection_id, external_id\
), events AS (\
    INSERT INTO outbox (message_id, routing_key, type_name, payload, traceparent) \
    SELECT message_id, routing_key, type_name, payload, traceparent FROM input JOIN inserted USING (id) ORDER BY ord\
) \
SELECT i.id, EXISTS (SELECT 1 FROM users r WHERE r.connection_id = i.connection_id \
    AND r.manager_remote_id IN (i.id::text, i.external_id)) AS has_reports FROM inserted i";

/// The user, locked for the rest of the transaction when `lock` is set.
pub async fn find(
    conn: &mut AsyncPgConnection,
    connection: Uuid,
    id: Uuid,
    lock: bool,
) -> QueryResult<Option<UserRow>> {
    let query =
        users::table.filter(users::id.eq(id).and(users::connection_id.eq(connection))).select(UserRow::as_select());
    if lock { query.for_update().first(conn).await.optional() } else { query.first(conn).await.optional() }
}

pub async fn delete(conn: &mut AsyncPgConnection, connection: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::delete(users::table.filter(users::id.eq(id).and(users::connection_id.eq(connection))))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The connection's user with this `userName`, compared as the unique index does (lower-case).
/// Okta's existence check; a prepared statement, so it costs one round trip.
pub async fn find_by_user_name(
    conn: &mut AsyncPgConnection,
    connection: Uuid,
    user_name: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::connection_id.eq(connection).and(lower(users::user_name).eq(user_name.to_lowercase())))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The id of the connection's user whose SCIM id or externalId is `remote`.
pub async fn resolve(conn: &mut AsyncPgConnection, connection: Uuid, remote: &str) -> QueryResult<Option<Uuid>> {
    let by_external = users::table
        .filter(users::connection_id.eq(connection).and(users::external_id.eq(remote)))
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    match (by_external, Uuid::parse_str(remote)) {
        (Some(id), _) => Ok(Some(id)),
        (None, Ok(id)) => users::table
            .filter(users::connection_id.eq(connection).and(users::id.eq(id)))
            .select(users::id)
            .first(conn)
            .await
            .optional(),
        (None, Err(_)) => Ok(None),
    }
}

/// Users whose manager is named by one of `remotes` (the id or externalId of a user just written),
/// locked, so their `managerId` can be re-resolved.
pub async fn reports_of<C>(conn: &mut C, connection: Uuid, remotes: &[String]) -> QueryResult<Vec<UserRow>>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg> + Send,
{
    users::table
        .filter(users::connection_id.eq(connection).and(users::manager_remote_id.eq_any(remotes)))
        .select(UserRow::as_select())
        .order(users::seq.asc())
        .for_update()
        .load(conn)
        .await
}

/// How [`super::page`] lists users.
pub const LISTING: super::Listing = super::Listing {
    table: "users",
    columns: "id, connection_id, user_name, external_id, emails, manager_remote_id, active, resource, employee, \
              version, created_at, updated_at",
};

/// One page of the connection's users matching `filter`, in creation order, and the total count.
pub async fn list(
    conn: &mut AsyncPgConnection,
    connection: Uuid,
    filter: Option<&SqlFilter>,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<UserRow>)> {
    super::page(conn, &LISTING, connection, filter, offset, limit).await
}

/// The connection's users among `ids`, locked, in id order (the order every writer of several
/// users locks them in, so two such writers never deadlock).
pub async fn lock_many(conn: &mut AsyncPgConnection, connection: Uuid, ids: &[Uuid]) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::connection_id.eq(connection).and(users::id.eq_any(ids)))
        .select(UserRow::as_select())
        .order(users::id.asc())
        .for_update()
        .load(conn)
        .await
}

/// The `(id, userName)` of the connection's users among `ids`: which of them exist.
pub async fn names(conn: &mut AsyncPgConnection, connection: Uuid, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, String)>> {
    users::table
        .filter(users::connection_id.eq(connection).and(users::id.eq_any(ids)))
        .select((users::id, users::user_name))
        .load(conn)
        .await
}

/// A new employee snapshot of a stored user, as [`store_employees`] writes it.
pub struct EmployeeWrite<'a> {
    pub id: Uuid,
    pub employee: &'a Value,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// Stores new employee snapshots (not the SCIM resource) of several users in one statement.
pub async fn store_employees(conn: &mut AsyncPgConnection, writes: &[EmployeeWrite<'_>]) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Jsonb, Timestamptz};
    diesel::sql_query(
        "UPDATE users SET employee = t.employee, version = t.version, updated_at = t.updated_at \
         FROM unnest($1::uuid[], $2::jsonb[], $3::int8[], $4::timestamptz[]) AS t(id, employee, version, updated_at) \
         WHERE users.id = t.id",
    )
    .bind::<Array<SqlUuid>, _>(writes.iter().map(|w| w.id).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(writes.iter().map(|w| w.employee).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(writes.iter().map(|w| w.version).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(writes.iter().map(|w| w.updated_at).collect::<Vec<_>>())
    .execute(conn)
    .await
}

/// Lower-cased email values, for `emails.value` lookups (emails compare case-insensitively).
pub fn email_keys(resource: &Value) -> Vec<String> {
    resource
        .get("emails")
        .and_then(Value::as_array)
        .map(|emails| {
            emails.iter().filter_map(|e| e.get("value").and_then(Value::as_str)).map(str::to_lowercase).collect()
        })
        .unwrap_or_default()
}
