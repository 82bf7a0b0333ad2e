//! The employee side of group membership. Each user whose membership in a group changed (joined,
//! left, or the group was renamed or deleted) gets the next version of its employee, `groups[]`
//! updated, and an `employee.updated` event with `changedFields` `["groups"]`, in the transaction
//! of the group change. Only those users are read and written: a member added to a
//! 10,000-member group costs one employee.

use std::collections::HashSet;

use diesel_async::AsyncPgConnection;
use uapi_events::model::GroupRef;
use uapi_platform::outbox;
use uuid::Uuid;

use super::writes::{next_version, stored_employee};
use crate::db::users::{self, EmployeeWrite};
use crate::events::{self, Change};
use crate::scim::auth::Tenant;
use crate::scim::error::{ScimError, ScimResult};

/// Users read, changed and written per statement.
const CHUNK: usize = 1000;

/// Makes `group` (its current name) one of the groups of each user in `present`, and none of the
/// groups of each user in `absent`; a user whose employee did not change gets no new version.
pub async fn sync(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    group: &GroupRef,
    present: &[Uuid],
    absent: &[Uuid],
) -> ScimResult<()> {
    let members: HashSet<Uuid> = present.iter().copied().collect();
    let mut ids: Vec<Uuid> = present.iter().chain(absent).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(CHUNK) {
        let rows = users::lock_many(conn, tenant.connection_id, chunk).await?;
        let mut changed = Vec::with_capacity(rows.len());
        for row in &rows {
            let old = stored_employee(row)?;
            let mut new = old.clone();
            new.groups.retain(|g| g.id != group.id);
            if members.contains(&row.id) {
                new.groups.push(group.clone());
                // By id: UUIDv7, so the order groups were created in, and stable across renames.
                new.groups.sort_by(|a, b| a.id.cmp(&b.id));
            }
            if let Some(next) = next_version(&old, new) {
                changed.push((row.id, next));
            }
        }
        if changed.is_empty() {
            continue;
        }
        let snapshots = changed
            .iter()
            .map(|(_, (employee, _))| serde_json::to_value(employee).map_err(|e| ScimError::Internal(e.into())))
            .collect::<ScimResult<Vec<_>>>()?;
        let writes: Vec<EmployeeWrite<'_>> = changed
            .iter()
            .zip(&snapshots)
            .map(|((id, (employee, _)), snapshot)| EmployeeWrite {
                id: *id,
                employee: snapshot,
                version: employee.version as i64,
                updated_at: employee.updated_at.unwrap_or_else(crate::db::now),
            })
            .collect();
        users::store_employees(conn, &writes).await?;
        let messages = changed
            .into_iter()
            .map(|(_, (employee, fields))| events::message(tenant, Change::Updated, &employee, fields))
            .collect();
        outbox::enqueue_many(conn, messages).await?;
    }
    Ok(())
}
