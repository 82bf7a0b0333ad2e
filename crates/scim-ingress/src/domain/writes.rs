//! The write pipeline: every SCIM change to a user runs in one transaction that locks the row,
//! stores the resource, re-normalizes the employee and, only when the employee changed, bumps its
//! version and writes the event to the outbox. The manager is resolved to our id when known, and
//! the reports of a user are re-resolved when that user arrives later. The employee's `groups`
//! are not part of the User resource: the user's own writes keep them, and only group writes
//! change them (`memberships`), through the same [`next_version`].

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Map, Value};
use uapi_events::model::Employee;
use uuid::Uuid;

use uapi_platform::db::PgPool;

use super::group_commit::CreateWriter;
use super::{normalize, resource};
use crate::db::users::{self, Inserted, NewUser, UserRow, UserWrite};
use crate::db::{self, is_unique_violation};
use crate::events::{self, Change};
use crate::scim::auth::Tenant;
use crate::scim::error::{ScimError, ScimResult};

/// The outcome of a write: the stored row, and whether an event was written.
pub struct Written {
    pub row: UserRow,
    pub emitted: bool,
}

fn conflict(user_name: &str) -> ScimError {
    ScimError::uniqueness(format!("a user with userName {user_name:?} already exists"))
}

pub(crate) fn stored_employee(row: &UserRow) -> ScimResult<Employee> {
    serde_json::from_value(row.employee.clone()).map_err(|e| ScimError::Internal(e.into()))
}

/// The one place an employee's next version is made: `new` (a changed copy of `old`) gets the
/// next `version`, keeps `createdAt` and gets a fresh `updatedAt`, with the contract fields that
/// differ as `changedFields`. `None` when no content field differs: nothing to store or emit.
pub(crate) fn next_version(old: &Employee, mut new: Employee) -> Option<(Employee, Vec<String>)> {
    let changed = old.changed_fields(&new);
    if changed.is_empty() {
        return None;
    }
    new.version = old.version + 1;
    new.created_at = old.created_at;
    new.updated_at = Some(db::now());
    Some((new, changed))
}

async fn resolve_manager(conn: &mut AsyncPgConnection, tenant: &Tenant, e: &mut Employee) -> diesel::QueryResult<()> {
    e.manager_id = match &e.manager_remote_id {
        Some(remote) => users::resolve(conn, tenant.connection_id, remote).await?.map(|id| id.to_string()),
        None => None,
    };
    Ok(())
}

fn write_of(id: Uuid, tenant: &Tenant, resource: &Map<String, Value>, employee: &Employee) -> ScimResult<UserWrite> {
    let created = employee.created_at.unwrap_or_else(db::now);
    Ok(UserWrite {
        id,
        connection_id: tenant.connection_id,
        user_name: resource::user_name(resource),
        external_id: resource::external_id(resource),
        emails: users::email_keys(&Value::Object(resource.clone())),
        manager_remote_id: employee.manager_remote_id.clone(),
        active: resource::active(resource),
        resource: Value::Object(resource.clone()),
        employee: serde_json::to_value(employee).map_err(|e| ScimError::Internal(e.into()))?,
        version: employee.version as i64,
        created_at: created,
        updated_at: employee.updated_at.unwrap_or(created),
    })
}

/// The values by which other users can name `row` as their manager: its id and externalId.
fn manager_keys(row: &UserRow) -> Vec<String> {
    let mut remotes = vec![row.id.to_string()];
    remotes.extend(row.external_id.clone());
    remotes
}

/// Re-resolves `managerId` of the users whose manager is `row` (by id or externalId).
async fn update_reports(conn: &mut AsyncPgConnection, tenant: &Tenant, row: &UserRow) -> ScimResult<()> {
    let reports = users::reports_of(conn, tenant.connection_id, &manager_keys(row)).await?;
    update_these_reports(conn, tenant, reports).await
}

async fn update_these_reports(conn: &mut AsyncPgConnection, tenant: &Tenant, reports: Vec<UserRow>) -> ScimResult<()> {
    for report in reports {
        let old = stored_employee(&report)?;
        let mut new = old.clone();
        resolve_manager(conn, tenant, &mut new).await?;
        let Some((new, changed)) = next_version(&old, new) else {
            continue;
        };
        let resource = report.resource.as_object().cloned().unwrap_or_default();
        users::update(conn, &write_of(report.id, tenant, &resource, &new)?).await?;
        events::enqueue(conn, tenant, Change::Updated, &new, changed).await?;
    }
    Ok(())
}

/// `POST /Users`. A create without a manager goes through the group commit; one with a manager
/// is stored in a transaction of its own, which resolves the manager against the stored users.
pub async fn create(
    pool: &PgPool,
    writer: &CreateWriter,
    tenant: &Tenant,
    resource: Map<String, Value>,
) -> ScimResult<Written> {
    let id = Uuid::now_v7();
    let now = db::now();
    let mut employee = normalize::employee(id, tenant, &resource);
    employee.version = 1;
    employee.created_at = Some(now);
    employee.updated_at = Some(now);
    if employee.manager_remote_id.is_some() {
        let mut conn = pool.get().await?;
        return create_with_manager(&mut conn, tenant, id, resource, employee).await;
    }
    let row = write_of(id, tenant, &resource, &employee)?;
    let event = events::message(tenant, Change::Created, &employee, Employee::content_fields());
    let user = NewUser { row: row.clone(), event, traceparent: Some(uapi_platform::telemetry::traceparent_or_new()) };
    match writer.create(user).await? {
        Inserted::Taken => Err(conflict(&row.user_name)),
        Inserted::Stored { has_reports } => {
            if has_reports {
                // Users stored before their manager name it by id or externalId: resolve them now.
                let mut conn = pool.get().await?;
                super::contended(async || {
                    conn.transaction::<(), ScimError, _>(async |conn| update_reports(conn, tenant, &row).await).await
                })
                .await?;
            }
            Ok(Written { row, emitted: true })
        }
    }
}

async fn create_with_manager(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    id: Uuid,
    resource: Map<String, Value>,
    mut employee: Employee,
) -> ScimResult<Written> {
    super::contended(async || {
        conn.transaction::<Written, ScimError, _>(async |conn| {
            resolve_manager(conn, tenant, &mut employee).await?;
            let write = write_of(id, tenant, &resource, &employee)?;
            let row = write.clone();
            let keys = manager_keys(&row);
            // Three independent statements, pipelined on the one connection: one round trip.
            let shared: &AsyncPgConnection = conn;
            let (mut c1, mut c2, mut c3) = (shared, shared, shared);
            let (inserted, enqueued, reports) = futures_util::join!(
                users::insert(&mut c1, &write),
                events::enqueue(&mut c2, tenant, Change::Created, &employee, Employee::content_fields()),
                users::reports_of(&mut c3, tenant.connection_id, &keys),
            );
            // The insert's own error first: after it fails, the others only report the aborted transaction.
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(conflict(&write.user_name)),
                other => other?,
            }
            enqueued?;
            update_these_reports(conn, tenant, reports?).await?;
            Ok(Written { row, emitted: true })
        })
        .await
    })
    .await
}

/// `PUT` and `PATCH`: `change` turns the stored resource into the new body (replace or patch),
/// which is then validated like a PUT body.
pub async fn update<F>(conn: &mut AsyncPgConnection, tenant: &Tenant, id: Uuid, change: F) -> ScimResult<Written>
where
    F: Fn(&Value) -> ScimResult<Value> + Send + Sync,
{
    super::contended(async || {
        conn.transaction::<Written, ScimError, _>(async |conn| {
            let current = users::find(conn, tenant.connection_id, id, true)
                .await?
                .ok_or_else(|| ScimError::not_found(format!("User {id} not found")))?;
            let resource = resource::clean(change(&current.resource)?, Some(id))?;
            let old = stored_employee(&current)?;
            let mut new = normalize::employee(id, tenant, &resource);
            // Memberships are not part of the User resource Okta writes: the groups keep them.
            new.groups = old.groups.clone();
            resolve_manager(conn, tenant, &mut new).await?;
            let Some((new, changed)) = next_version(&old, new) else {
                // Okta repeats identical PUTs: nothing changed, nothing is written or emitted.
                return Ok(Written { row: current, emitted: false });
            };
            let write = write_of(id, tenant, &resource, &new)?;
            match users::update(conn, &write).await {
                Err(e) if is_unique_violation(&e) => return Err(conflict(&write.user_name)),
                other => other?,
            }
            events::enqueue(conn, tenant, Change::Updated, &new, changed).await?;
            let row = write;
            if row.external_id != current.external_id {
                update_reports(conn, tenant, &row).await?;
            }
            Ok(Written { row, emitted: true })
        })
        .await
    })
    .await
}

/// Stores the user's resource again as its next version and emits it, changed or not: how
/// `repair` gives consumers a version they can decode of a user whose earlier events they could
/// not. `changedFields` lists every field the employee has.
pub async fn reissue(conn: &mut AsyncPgConnection, tenant: &Tenant, id: Uuid) -> ScimResult<Written> {
    super::contended(async || {
        conn.transaction::<Written, ScimError, _>(async |conn| {
            let current = users::find(conn, tenant.connection_id, id, true)
                .await?
                .ok_or_else(|| ScimError::not_found(format!("User {id} not found")))?;
            let resource = resource::clean(current.resource.clone(), Some(id))?;
            let old = stored_employee(&current)?;
            let mut new = normalize::employee(id, tenant, &resource);
            new.groups = old.groups.clone();
            resolve_manager(conn, tenant, &mut new).await?;
            new.version = old.version + 1;
            new.created_at = old.created_at;
            new.updated_at = Some(db::now());
            let changed = Employee::default().changed_fields(&new);
            let write = write_of(id, tenant, &resource, &new)?;
            users::update(conn, &write).await?;
            events::enqueue(conn, tenant, Change::Updated, &new, changed).await?;
            Ok(Written { row: write, emitted: true })
        })
        .await
    })
    .await
}

/// `DELETE /Users/{id}`: the employee is gone; its last state travels with `employee.deleted`,
/// and each group it was a member of loses it (`group.updated`).
pub async fn delete(conn: &mut AsyncPgConnection, tenant: &Tenant, id: Uuid) -> ScimResult<()> {
    super::contended(async || {
        conn.transaction::<(), ScimError, _>(async |conn| {
            db::lock_memberships(conn, tenant.connection_id).await?;
            let current = users::find(conn, tenant.connection_id, id, true)
                .await?
                .ok_or_else(|| ScimError::not_found(format!("User {id} not found")))?;
            let groups = db::groups::lock_groups_of(conn, id).await?;
            let mut last = stored_employee(&current)?;
            last.version += 1;
            let now = db::now();
            last.updated_at = Some(now);
            last.deleted_at = Some(now);
            users::delete(conn, tenant.connection_id, id).await?;
            events::enqueue(conn, tenant, Change::Deleted, &last, vec!["deletedAt".into()]).await?;
            super::group_writes::members_left(conn, tenant, groups).await
        })
        .await
    })
    .await
}
