//! The group write pipeline. Every SCIM change to a group runs in one transaction that takes the
//! connection's membership lock, locks the group, checks that new members are users of the
//! connection, writes only the member rows that change, and, when the group changed, bumps its
//! version and writes its `group.*` event; then each user whose membership changed gets its
//! `employee.updated` ([`memberships::sync`]). Any failure changes nothing.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Map, Value};
use uapi_events::model::{Group, GroupRef};
use uapi_platform::outbox;
use uuid::Uuid;

use super::group_patch::{self, MemberOp};
use super::group_resource::{self, GroupBody};
use super::memberships;
use crate::db::groups::{self, GroupRow};
use crate::db::{self, is_unique_violation, users};
use crate::events::{self, Change};
use crate::scim::auth::Tenant;
use crate::scim::error::{ScimError, ScimResult};

/// The outcome of a write: the stored group, and whether an event was written.
pub struct GroupWritten {
    pub row: GroupRow,
    pub emitted: bool,
}

fn conflict(name: &str) -> ScimError {
    ScimError::uniqueness(format!("a group with displayName {name:?} already exists"))
}

fn not_found(id: Uuid) -> ScimError {
    ScimError::not_found(format!("Group {id} not found"))
}

fn group_ref(row: &GroupRow) -> GroupRef {
    GroupRef { id: row.id.to_string(), name: row.display_name.clone() }
}

/// The contract's Group of `row` with these members (in id order).
fn snapshot(row: &GroupRow, member_ids: Vec<String>) -> Group {
    Group {
        id: row.id.to_string(),
        remote_id: row.external_id.clone(),
        name: row.display_name.clone(),
        member_ids,
        created_at: Some(row.created_at),
        updated_at: Some(row.updated_at),
        deleted_at: None,
    }
}

fn uuids(ids: &[String]) -> Vec<Uuid> {
    ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect()
}

async fn enqueue(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    change: Change,
    group: &Group,
    version: i64,
    changed: Vec<String>,
) -> ScimResult<()> {
    let message = events::group_message(tenant, change, group, version as u64, changed);
    Ok(outbox::enqueue(conn, message).await?)
}

/// The userNames of `ids`; any id that is not a user of the connection is a 400 `invalidValue`.
async fn check_users(conn: &mut AsyncPgConnection, tenant: &Tenant, ids: &[Uuid]) -> ScimResult<HashMap<Uuid, String>> {
    let names: HashMap<Uuid, String> = users::names(conn, tenant.connection_id, ids).await?.into_iter().collect();
    match ids.iter().find(|id| !names.contains_key(id)) {
        Some(unknown) => Err(group_resource::unknown_member(&unknown.to_string())),
        None => Ok(names),
    }
}

/// `POST /Groups`: the group, its members, `group.created` and each member's `employee.updated`.
pub async fn create(conn: &mut AsyncPgConnection, tenant: &Tenant, body: GroupBody) -> ScimResult<GroupRow> {
    super::contended(async || {
        conn.transaction::<GroupRow, ScimError, _>(async |conn| {
            db::lock_memberships(conn, tenant.connection_id).await?;
            check_users(conn, tenant, &body.members).await?;
            let now = db::now();
            let row = GroupRow {
                id: Uuid::now_v7(),
                connection_id: tenant.connection_id,
                display_name: group_resource::display_name(&body.attributes),
                external_id: group_resource::external_id(&body.attributes),
                resource: Value::Object(body.attributes.clone()),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            match groups::insert(conn, &row).await {
                Err(e) if is_unique_violation(&e) => return Err(conflict(&row.display_name)),
                other => other?,
            }
            let mut joined = groups::add_members(conn, row.id, &body.members).await?;
            joined.sort_unstable();
            let members = joined.iter().map(Uuid::to_string).collect();
            enqueue(conn, tenant, Change::Created, &snapshot(&row, members), 1, Group::content_fields()).await?;
            memberships::sync(conn, tenant, &group_ref(&row), &joined, &[]).await?;
            Ok(row)
        })
        .await
    })
    .await
}

/// `PUT` and `PATCH`: `change` turns the stored group into its new attributes (validated), and
/// `member_ops` change its members.
pub async fn update<F>(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    id: Uuid,
    change: F,
    member_ops: Vec<MemberOp>,
) -> ScimResult<GroupWritten>
where
    F: Fn(&GroupRow) -> ScimResult<Map<String, Value>> + Send + Sync,
{
    super::contended(async || {
        conn.transaction::<GroupWritten, ScimError, _>(async |conn| {
            db::lock_memberships(conn, tenant.connection_id).await?;
            let current = groups::find(conn, tenant.connection_id, id, true).await?.ok_or_else(|| not_found(id))?;
            let attributes = change(&current)?;
            let adding: Vec<Uuid> = member_ops.iter().flat_map(|op| op.added().iter().copied()).collect();
            let names = check_users(conn, tenant, &adding).await?;
            let stored = match group_patch::needs_stored(&member_ops) {
                true => Some(groups::members(conn, &[id]).await?),
                false => None,
            };
            let plan = group_patch::plan(&member_ops, stored.as_deref(), &names);
            let left = match plan.keep_stored {
                true => groups::remove_members(conn, id, &plan.remove).await?,
                false => groups::remove_members_except(conn, id, &plan.add).await?,
            };
            let joined = groups::add_members(conn, id, &plan.add).await?;

            let mut row = GroupRow {
                display_name: group_resource::display_name(&attributes),
                external_id: group_resource::external_id(&attributes),
                resource: Value::Object(attributes),
                ..current.clone()
            };
            let renamed = row.display_name != current.display_name;
            let changed: Vec<String> = [
                ("remoteId", row.external_id != current.external_id),
                ("name", renamed),
                ("memberIds", !joined.is_empty() || !left.is_empty()),
            ]
            .into_iter()
            .filter(|(_, differs)| *differs)
            .map(|(field, _)| field.to_owned())
            .collect();
            if changed.is_empty() {
                // Okta repeats the name with every membership update: that alone changes nothing.
                if row.resource != current.resource {
                    row.updated_at = db::now();
                    store(conn, &row).await?;
                }
                return Ok(GroupWritten { row, emitted: false });
            }
            row.version += 1;
            row.updated_at = db::now();
            store(conn, &row).await?;
            let member_ids = groups::member_ids(conn, id).await?;
            // On a rename every member's `groups` shows the new name; otherwise only joiners and leavers change.
            let present = if renamed { uuids(&member_ids) } else { joined };
            enqueue(conn, tenant, Change::Updated, &snapshot(&row, member_ids), row.version, changed).await?;
            memberships::sync(conn, tenant, &group_ref(&row), &present, &left).await?;
            Ok(GroupWritten { row, emitted: true })
        })
        .await
    })
    .await
}

async fn store(conn: &mut AsyncPgConnection, row: &GroupRow) -> ScimResult<()> {
    match groups::update(conn, row).await {
        Err(e) if is_unique_violation(&e) => Err(conflict(&row.display_name)),
        other => Ok(other?),
    }
}

/// `DELETE /Groups/{id}`: each member's `employee.updated`, then `group.deleted` with the last
/// state (its members, `deletedAt` set).
pub async fn delete(conn: &mut AsyncPgConnection, tenant: &Tenant, id: Uuid) -> ScimResult<()> {
    super::contended(async || {
        conn.transaction::<(), ScimError, _>(async |conn| {
            db::lock_memberships(conn, tenant.connection_id).await?;
            let current = groups::find(conn, tenant.connection_id, id, true).await?.ok_or_else(|| not_found(id))?;
            let member_ids = groups::member_ids(conn, id).await?;
            memberships::sync(conn, tenant, &group_ref(&current), &[], &uuids(&member_ids)).await?;
            groups::delete(conn, id).await?;
            let now = db::now();
            let last = GroupRow { version: current.version + 1, updated_at: now, ..current };
            let mut group = snapshot(&last, member_ids);
            group.deleted_at = Some(now);
            enqueue(conn, tenant, Change::Deleted, &group, last.version, vec!["deletedAt".into()]).await
        })
        .await
    })
    .await
}

/// A deleted user has left `groups` (locked by the caller, its rows already gone): each gets
/// its next version and `group.updated` with `memberIds`.
pub async fn members_left(conn: &mut AsyncPgConnection, tenant: &Tenant, left: Vec<GroupRow>) -> ScimResult<()> {
    for current in left {
        let row = GroupRow { version: current.version + 1, updated_at: db::now(), ..current };
        store(conn, &row).await?;
        let member_ids = groups::member_ids(conn, row.id).await?;
        enqueue(conn, tenant, Change::Updated, &snapshot(&row, member_ids), row.version, vec!["memberIds".into()])
            .await?;
    }
    Ok(())
}
