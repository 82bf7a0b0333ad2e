//! PATCH on a group (RFC 7644 §3.5.2). Operations on `members` become a [`MemberPlan`]: which
//! users to add and remove, so that the write touches only those rows even in a 10,000-member
//! group. Every other operation (rename, `externalId`, extensions, the `id` Okta repeats inside a
//! rename's value) goes to the PATCH engine of `uapi_scim`, on the group's attributes.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use uapi_scim::filter::{CompareOp, Filter};
use uapi_scim::patch::{OpKind, Operation};
use uapi_scim::schema::{GROUP, GROUP_SCHEMA};
use uuid::Uuid;

use super::group_resource::member_ids;
use crate::db::groups::Member;
use crate::scim::error::{ScimError, ScimResult};

/// One operation on the member list, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    /// Append (members already there stay once).
    Add(Vec<Uuid>),
    /// Remove these (absent ones are ignored: Okta removes idempotently).
    Remove(Vec<Uuid>),
    /// Remove every member.
    Clear,
    /// The whole list (`[]` empties the group).
    Replace(Vec<Uuid>),
    /// Remove the members a value filter other than `value eq "…"` selects.
    RemoveWhere(Filter),
}

impl MemberOp {
    /// The users this operation makes members, which must be users of the connection.
    pub fn added(&self) -> &[Uuid] {
        match self {
            Self::Add(ids) | Self::Replace(ids) => ids,
            _ => &[],
        }
    }
}

/// A PATCH request taken apart.
#[derive(Debug, Default)]
pub struct GroupPatch {
    /// Operations for the PATCH engine, with their position in the request.
    pub attribute_ops: Vec<(usize, Operation)>,
    pub member_ops: Vec<MemberOp>,
}

fn numbered(index: usize, e: ScimError) -> ScimError {
    match e {
        ScimError::Client { status, scim_type, detail } => {
            ScimError::Client { status, scim_type, detail: format!("operation {}: {detail}", index + 1) }
        }
        other => other,
    }
}

/// A member's `value`, `type` and `$ref` are immutable and its `display` read-only (RFC 7643 §8.7.1, our
/// `/Schemas`): a member is added or removed, never changed (RFC 7644 §3.5.2: `mutability`).
fn immutable_member(detail: &str) -> ScimError {
    ScimError::bad_request("mutability", detail)
}

fn is_members(urn: Option<&str>, attr: &str) -> bool {
    attr.eq_ignore_ascii_case("members") && urn.is_none_or(|u| u.eq_ignore_ascii_case(GROUP_SCHEMA))
}

/// Splits parsed operations into member operations and engine operations.
pub fn split(ops: Vec<Operation>) -> ScimResult<GroupPatch> {
    let mut patch = GroupPatch::default();
    for (index, op) in ops.into_iter().enumerate() {
        split_one(&mut patch, index, op).map_err(|e| numbered(index, e))?;
    }
    Ok(patch)
}

fn split_one(patch: &mut GroupPatch, index: usize, op: Operation) -> ScimResult<()> {
    match &op.path {
        Some(path) if is_members(path.attr.urn.as_deref(), &path.attr.attr) => {
            if path.attr.sub.is_some() || path.sub_after_filter.is_some() {
                return Err(immutable_member("sub-attributes of members cannot be changed; add or remove the member"));
            }
            let member_op = match (&path.filter, op.op) {
                (Some(filter), OpKind::Remove) => match value_eq(filter) {
                    Some(values) => MemberOp::Remove(values.iter().filter_map(|v| Uuid::parse_str(v).ok()).collect()),
                    None => MemberOp::RemoveWhere(filter.clone()),
                },
                (Some(_), _) => {
                    return Err(immutable_member("members selected by a filter can only be removed, not changed"));
                }
                (None, OpKind::Add) => MemberOp::Add(member_ids(op.value.as_ref().unwrap_or(&Value::Null))?),
                (None, OpKind::Replace) => match &op.value {
                    None | Some(Value::Null) => MemberOp::Clear,
                    Some(value) => MemberOp::Replace(member_ids(value)?),
                },
                // Entra names the members to remove in `value`; without one, all go.
                (None, OpKind::Remove) => match &op.value {
                    None | Some(Value::Null) => MemberOp::Clear,
                    Some(value) => MemberOp::Remove(removal_ids(value)?),
                },
            };
            patch.member_ops.push(member_op);
        }
        Some(_) => patch.attribute_ops.push((index, op)),
        None => {
            let Some(Value::Object(entries)) = &op.value else {
                // Not a value object: the engine gives the right error.
                patch.attribute_ops.push((index, op));
                return Ok(());
            };
            let mut entries = entries.clone();
            if let Some(members) = take_members(&mut entries) {
                patch.member_ops.push(match op.op {
                    OpKind::Replace if members.is_null() => MemberOp::Clear,
                    OpKind::Replace => MemberOp::Replace(member_ids(&members)?),
                    _ => MemberOp::Add(member_ids(&members)?),
                });
            }
            if !entries.is_empty() {
                patch.attribute_ops.push((index, Operation { value: Some(Value::Object(entries)), ..op }));
            }
        }
    }
    Ok(())
}

/// Removes and returns `members` from a path-less value object: as a key of its own, qualified by
/// the Group URN, or inside the Group URN's object.
fn take_members(entries: &mut Map<String, Value>) -> Option<Value> {
    let qualified = format!("{GROUP_SCHEMA}:members");
    let mut found = None;
    for key in entries.keys().cloned().collect::<Vec<_>>() {
        if key.eq_ignore_ascii_case("members") || key.eq_ignore_ascii_case(&qualified) {
            found = entries.remove(&key);
        } else if key.eq_ignore_ascii_case(GROUP_SCHEMA)
            && let Some(Value::Object(inner)) = entries.get_mut(&key)
        {
            if let Some(k) = inner.keys().find(|k| k.eq_ignore_ascii_case("members")).cloned() {
                found = inner.remove(&k);
            }
            if inner.is_empty() {
                entries.remove(&key);
            }
        }
    }
    found
}

/// The values of a filter made only of `value eq "…"` joined by `or` (Okta's and Entra's form).
fn value_eq(filter: &Filter) -> Option<Vec<&str>> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: Value::String(v) }
            if path.attr.eq_ignore_ascii_case("value") && path.sub.is_none() && path.urn.is_none() =>
        {
            Some(vec![v.as_str()])
        }
        Filter::Or(a, b) => {
            let mut values = value_eq(a)?;
            values.extend(value_eq(b)?);
            Some(values)
        }
        _ => None,
    }
}

/// The ids of `remove` values: a value that is not one of our ids cannot be a member, so it is
/// simply not there to remove.
fn removal_ids(value: &Value) -> ScimResult<Vec<Uuid>> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    };
    items
        .iter()
        .map(|item| match item.get("value") {
            Some(Value::String(v)) => Ok(Uuid::parse_str(v.trim()).ok()),
            _ => Err(ScimError::bad_request("invalidValue", "members to remove need a string `value`")),
        })
        .filter_map(Result::transpose)
        .collect()
}

/// Whether [`plan`] needs the stored members (a filter other than `value eq` must see them).
pub fn needs_stored(ops: &[MemberOp]) -> bool {
    ops.iter().any(|op| matches!(op, MemberOp::RemoveWhere(_)))
}

/// What the member operations amount to: the stored members minus `remove` (or none of them,
/// without `keep_stored`), plus `add`.
#[derive(Debug, Default, PartialEq)]
pub struct MemberPlan {
    pub keep_stored: bool,
    /// In request order, without repeats.
    pub add: Vec<Uuid>,
    pub remove: Vec<Uuid>,
}

/// Folds `ops` in order. `stored` (with userNames, for filters on `display`) is needed only
/// when [`needs_stored`]; `names` are the userNames of the users the operations add.
pub fn plan(ops: &[MemberOp], stored: Option<&[Member]>, names: &HashMap<Uuid, String>) -> MemberPlan {
    let mut keep_stored = true;
    let (mut add, mut adding, mut remove) = (Vec::new(), HashSet::new(), HashSet::new());
    for op in ops {
        match op {
            MemberOp::Add(ids) => {
                for id in ids {
                    remove.remove(id);
                    if adding.insert(*id) {
                        add.push(*id);
                    }
                }
            }
            MemberOp::Remove(ids) => {
                for id in ids {
                    adding.remove(id);
                    remove.insert(*id);
                }
            }
            MemberOp::Clear | MemberOp::Replace(_) => {
                keep_stored = false;
                (add, adding, remove) = (Vec::new(), HashSet::new(), HashSet::new());
                for id in op.added() {
                    if adding.insert(*id) {
                        add.push(*id);
                    }
                }
            }
            MemberOp::RemoveWhere(filter) => {
                let kept = stored.filter(|_| keep_stored).unwrap_or_default();
                let current = kept
                    .iter()
                    .filter(|m| !remove.contains(&m.user_id))
                    .map(|m| (m.user_id, m.user_name.as_str()))
                    .chain(
                        add.iter()
                            .filter(|id| adding.contains(id))
                            .map(|id| (*id, names.get(id).map(String::as_str).unwrap_or_default())),
                    );
                let hits: Vec<Uuid> = current
                    .filter(|(id, name)| {
                        let element = json!({ "value": id.to_string(), "display": name, "type": "User" });
                        uapi_scim::eval::matches(filter, &element, &GROUP)
                    })
                    .map(|(id, _)| id)
                    .collect();
                for id in hits {
                    adding.remove(&id);
                    remove.insert(id);
                }
            }
        }
    }
    // An id added, removed and added again stands twice in `add`: keep its first place only.
    let mut seen = HashSet::new();
    add.retain(|id| adding.contains(id) && seen.insert(*id));
    let mut remove: Vec<Uuid> = if keep_stored { remove.into_iter().collect() } else { Vec::new() };
    remove.sort_unstable();
    MemberPlan { keep_stored, add, remove }
}

#[cfg(test)]
mod tests;
