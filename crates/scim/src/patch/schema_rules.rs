//! What the resource's schema allows a PATCH operation to do (RFC 7644 §3.5.2, RFC 7643 §2.2–2.4 and §7): the
//! path must fit the attribute, read-only and immutable values stay as they are, required attributes keep a value.

use super::OpKind;
use super::values::{invalid_path, invalid_value, mutability};
use crate::error::ScimError;
use crate::path::PatchPath;
use crate::schema::ResourceSchema;
use serde_json::{Map, Value};

/// What the core schema says about a path (RFC 7643 §2.3–2.4, RFC 7644 §3.5.2): value filters select values of
/// multi-valued attributes only, only complex attributes have sub-attributes (and take objects), a group's members
/// are added and removed but never changed, and a required attribute cannot be unassigned (§3.5.2.2).
pub(super) fn check_shape(
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let name = &path.attr.attr;
    let sub = path.attr.sub.is_some() || path.sub_after_filter.is_some();
    let filtered = path.filter.is_some();
    if schema.is_simple(name) && (sub || filtered) {
        return Err(invalid_path(format!(
            "`{name}` is a simple attribute: it has no sub-attributes or values to select"
        )));
    }
    if schema.is_complex(name) && filtered {
        return Err(invalid_path(format!("`{name}` is single-valued: a value filter cannot select among its values")));
    }
    if schema.has_fixed_values(name) && (sub || (filtered && kind != OpKind::Remove)) {
        return Err(mutability(format!(
            "the values of `{name}` are immutable: add or remove a value, its sub-attributes cannot be changed"
        )));
    }
    let unassigns = kind == OpKind::Remove || value.is_some_and(Value::is_null);
    if schema.is_required(name) && !sub && !filtered && unassigns {
        return Err(mutability(format!("`{name}` is required and cannot be removed")));
    }
    let not_an_object = value.is_some_and(|v| !v.is_object() && !v.is_null());
    if schema.is_complex(name) && !sub && kind != OpKind::Remove && not_an_object {
        return Err(invalid_value(format!(
            "`{name}` is a complex attribute: its value must be an object of sub-attributes"
        )));
    }
    Ok(())
}

/// Handles read-only core attributes and `schemas`, which the server keeps. Removing one is a `mutability` error
/// (RFC 7644 §3.5.2.2); `id` may only be "set" to its current value; values written to `meta`, `schemas` and other
/// read-only attributes (e.g. a user's `groups`, which Okta echoes back) are ignored, as RFC 7644 §3.5.1 has PUT do.
/// Returns true when handled.
pub(super) fn read_only(
    root: &Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<bool, ScimError> {
    let name = &path.attr.attr;
    let is_id = name.eq_ignore_ascii_case("id");
    if !is_id && !schema.is_read_only(name) && !name.eq_ignore_ascii_case("schemas") {
        return Ok(false);
    }
    if kind == OpKind::Remove {
        return Err(mutability(format!("attribute `{name}` is kept by the server and cannot be removed")));
    }
    if is_id {
        let current = crate::eval::get_ci(root, "id").and_then(Value::as_str);
        let same = path.attr.sub.is_none()
            && path.filter.is_none()
            && current.is_some()
            && value.and_then(Value::as_str) == current;
        if !same {
            return Err(mutability("attribute `id` is read-only and cannot be changed"));
        }
    }
    Ok(true)
}
