//! PATCH (RFC 7644 §3.5.2): the operation model, request parsing, and atomic application of operations to a JSON
//! resource, including the path-less object form Okta sends and the string booleans Entra ID sends.

mod filtered;
mod request;
mod schema_rules;
mod target;
#[cfg(test)]
mod tests;
mod values;

use crate::error::{ScimError, ScimType};
use crate::filter::parse_attr_path;
use crate::path::PatchPath;
use crate::schema::ResourceSchema;
use serde_json::Value;

/// The PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `add`: set, merge or append.
    Add,
    /// `remove`: unassign the target.
    Remove,
    /// `replace`: set, merge or replace the whole target.
    Replace,
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// What to do.
    pub op: OpKind,
    /// Where; `None` means the value is an object of attributes to apply to the resource.
    pub path: Option<PatchPath>,
    /// The value; required for add and replace.
    pub value: Option<Value>,
}

/// Parses a PatchOp request body: checks `schemas` contains the PatchOp URN when `schemas` is present (if absent,
/// tolerate); `Operations` must be a non-empty array (key matched case-insensitively); each op's `op` is
/// case-insensitive, `path` is parsed with [`crate::path::parse`], `value` is optional.
/// add/replace without `value` → `InvalidValue`; remove without `path` → `NoTarget`; unknown op or a body that is
/// not an object → `InvalidSyntax`. Details name the failing operation by its 1-based number.
pub fn parse_request(body: &Value) -> Result<Vec<Operation>, ScimError> {
    request::parse(body)
}

/// Applies all operations in order to a copy; returns the new resource, or the first error (the input is untouched:
/// atomic).
pub fn apply(resource: &Value, ops: &[Operation], schema: &ResourceSchema) -> Result<Value, ScimError> {
    apply_numbered(resource, ops.iter().enumerate(), schema)
}

/// [`apply`] for some of a request's operations, each with its 0-based position in the request, so that errors
/// name the operation the client sent. For servers that carry out the other operations themselves (group members
/// stored as rows, for instance).
pub fn apply_numbered<'a>(
    resource: &Value,
    ops: impl IntoIterator<Item = (usize, &'a Operation)>,
    schema: &ResourceSchema,
) -> Result<Value, ScimError> {
    let mut updated = resource.clone();
    let Value::Object(root) = &mut updated else {
        return Err(ScimError::new(ScimType::InvalidSyntax, "the resource to patch must be a JSON object"));
    };
    for (index, op) in ops {
        apply_one(root, op, schema).map_err(|err| request::numbered(index, err))?;
    }
    Ok(updated)
}

fn apply_one(
    root: &mut serde_json::Map<String, Value>,
    op: &Operation,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    match (&op.path, &op.value) {
        (Some(path), value) => target::apply_path(root, op.op, path, value.as_ref(), schema),
        (None, _) if op.op == OpKind::Remove => Err(ScimError::new(ScimType::NoTarget, "remove requires a `path`")),
        (None, Some(Value::Object(entries))) => {
            for (key, value) in entries {
                apply_entry(root, op.op, key, value, schema)?;
            }
            Ok(())
        }
        (None, Some(_)) => Err(values::invalid_value("without a `path`, the `value` must be an object of attributes")),
        (None, None) => Err(values::invalid_value("add and replace require a `value`")),
    }
}

fn is_urn(key: &str) -> bool {
    key.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"))
}

/// One key of a path-less value object: a plain or dotted attribute, a URN-qualified attribute, or a whole schema
/// URN whose object holds that schema's attributes.
fn apply_entry(
    root: &mut serde_json::Map<String, Value>,
    kind: OpKind,
    key: &str,
    value: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
        return Ok(());
    }
    // A key is a PATCH path: `name.givenName`, or `emails[type eq "work"].value` as Entra writes it.
    let path = crate::path::parse(key);
    // `urn:…:acme:2.0:User` could be a schema or attribute `User` of `urn:…:acme:2.0`; an object value under a
    // URN that is not itself known-qualified is taken as the schema form.
    let qualified_by_known = path.as_ref().is_ok_and(|p| p.attr.urn.as_deref().is_some_and(|u| schema.is_known_urn(u)));
    let filtered = path.as_ref().is_ok_and(|p| p.filter.is_some());
    let whole_schema =
        !filtered && is_urn(key) && (schema.is_known_urn(key) || (value.is_object() && !qualified_by_known));
    if !whole_schema {
        return target::apply_path(root, kind, &path?, Some(value), schema);
    }
    let Value::Object(entries) = value else {
        return Err(values::invalid_value(format!("`{key}` must be an object of that schema's attributes")));
    };
    for (name, value) in entries {
        let mut attr = parse_attr_path(name).map_err(values::invalid_path)?;
        if attr.urn.is_some() {
            return Err(values::invalid_path(format!("`{name}` inside `{key}` must not carry its own schema URN")));
        }
        attr.urn = Some(key.to_owned());
        let path = PatchPath { attr, filter: None, sub_after_filter: None };
        target::apply_path(root, kind, &path, Some(value), schema)?;
    }
    Ok(())
}
