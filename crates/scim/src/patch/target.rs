//! Applies one operation to the attribute a PATCH path designates (RFC 7644 §3.5.2.1–3): simple and complex
//! attributes, sub-attributes, whole multi-valued attributes and extensions, after `schema_rules` has checked the
//! operation against the schema; filtered paths go to `filtered`.

use super::OpKind;
use super::schema_rules::{check_shape, read_only};
use super::values::{
    coerce, container, designates, first_primary_only, invalid_path, invalid_value, keep_one_primary, key_for, merge,
    normalize_element, prune_extension, remove_ci, same_element, set_coerced, unregister_schema,
};
use crate::error::{ScimError, ScimType};
use crate::filter::AttrPath;
use crate::path::PatchPath;
use crate::schema::{ENTERPRISE_USER_SCHEMA, ResourceSchema};
use serde_json::{Map, Value};

type Object = Map<String, Value>;

fn op_name(kind: OpKind) -> &'static str {
    match kind {
        OpKind::Add => "add",
        OpKind::Remove => "remove",
        OpKind::Replace => "replace",
    }
}

/// Applies `kind` at `path` inside `root`. `value` is required for add and replace.
pub(super) fn apply_path(
    root: &mut Object,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let attr = &path.attr;
    if path.filter.is_none()
        && let Some(urn) = whole_extension(attr, schema)
    {
        return extension(root, kind, urn, value, schema);
    }
    let core = attr.urn.as_deref().is_none_or(|urn| schema.is_core_urn(urn));
    if core {
        check_shape(kind, path, value, schema)?;
        if read_only(root, kind, path, value, schema)? {
            return Ok(());
        }
    }
    if kind != OpKind::Remove && value.is_none() {
        return Err(invalid_value(format!("{} requires a `value`", op_name(kind))));
    }
    let value = value.cloned().map(|value| manager_reference(attr, value));
    let Some(container) = container(root, attr.urn.as_deref(), schema, kind != OpKind::Remove)? else {
        return Ok(());
    };
    let listed = core && schema.is_multi_valued(&attr.attr);
    match (&path.filter, &attr.sub, &path.sub_after_filter) {
        (Some(filter), None, sub) => {
            super::filtered::filtered(container, kind, &attr.attr, filter, sub.as_deref(), value, schema)?
        }
        (None, Some(sub), None) => sub_attr(container, kind, &attr.attr, sub, value, listed)?,
        (None, None, None) => whole(container, kind, &attr.attr, value, listed)?,
        _ => return Err(invalid_path(format!("`{path}` is not a valid PATCH path"))),
    }
    if let Some(urn) = attr.urn.as_deref().filter(|_| !core) {
        prune_extension(root, urn);
    }
    Ok(())
}

/// The known extension a path names as a whole: `urn:…:enterprise:2.0:User` parses as attribute `User` of
/// `urn:…:enterprise:2.0`, but the schema URN it spells is the better reading (RFC 7644 §3.5.2: a path may be a
/// schema URN).
fn whole_extension(attr: &AttrPath, schema: &ResourceSchema) -> Option<&'static str> {
    let prefix = attr.urn.as_deref().filter(|_| attr.sub.is_none())?;
    let spelled = format!("{prefix}:{}", attr.attr);
    schema.extension_urns.iter().copied().find(|urn| urn.eq_ignore_ascii_case(&spelled))
}

/// An operation on a whole extension object: add merges its sub-attributes in, replace swaps the object, remove
/// (or a replace with null) drops it and its entry in `schemas`.
fn extension(
    root: &mut Object,
    kind: OpKind,
    urn: &str,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let value = if kind == OpKind::Remove { None } else { to_write(kind, value.cloned(), urn)? };
    let Some(value) = value else {
        remove_ci(root, urn);
        unregister_schema(root, urn);
        return Ok(());
    };
    let Value::Object(update) = value else {
        return Err(invalid_value(format!("the value of `{urn}` must be an object")));
    };
    if kind == OpKind::Replace {
        remove_ci(root, urn);
    }
    let Some(target) = container(root, Some(urn), schema, true)? else {
        return Ok(());
    };
    merge(target, update)?;
    prune_extension(root, urn);
    Ok(())
}

/// Entra ID sends the enterprise `manager` as a bare id string; RFC 7643 §4.3 makes it a complex attribute.
fn manager_reference(attr: &AttrPath, value: Value) -> Value {
    let is_manager = attr.sub.is_none()
        && attr.attr.eq_ignore_ascii_case("manager")
        && attr.urn.as_deref().is_some_and(|urn| urn.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA));
    match value {
        Value::String(id) if is_manager => {
            let mut map = Map::new();
            map.insert("value".to_owned(), Value::String(id));
            Value::Object(map)
        }
        other => other,
    }
}

/// The value to write, or `None` when a replace with null means "unassign".
pub(super) fn to_write(kind: OpKind, value: Option<Value>, what: &str) -> Result<Option<Value>, ScimError> {
    match value {
        None => Err(invalid_value(format!("{} of `{what}` requires a `value`", op_name(kind)))),
        Some(Value::Null) if kind == OpKind::Add => Err(invalid_value(format!("cannot add null to `{what}`"))),
        Some(Value::Null) => Ok(None),
        Some(value) => Ok(Some(value)),
    }
}

/// A path naming the attribute itself: `active`, `name`, `members`.
fn whole(
    container: &mut Object,
    kind: OpKind,
    attr: &str,
    value: Option<Value>,
    listed: bool,
) -> Result<(), ScimError> {
    let key = key_for(container, attr);
    if kind == OpKind::Remove {
        // Entra removes members with `"path": "members"` plus the list of members to drop.
        match (value, container.get_mut(&key)) {
            (Some(items), Some(Value::Array(elements))) if !items.is_null() => {
                let items = into_list(items);
                elements.retain(|element| !items.iter().any(|item| designates(item, element)));
            }
            _ => {
                container.remove(&key);
            }
        }
        return Ok(());
    }
    let Some(value) = to_write(kind, value, attr)? else {
        container.remove(&key);
        return Ok(());
    };
    if listed || matches!(container.get(&key), Some(Value::Array(_))) {
        return set_multi(container, key, kind, attr, value, listed);
    }
    if let (Some(Value::Object(existing)), Value::Object(update)) = (container.get_mut(&key), &value) {
        return merge(existing, update.clone());
    }
    let value = coerce(attr, container.get(&key), value)?;
    container.insert(key, value);
    Ok(())
}

fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// Add appends with de-duplication; replace swaps the whole list (`[]` empties it).
fn set_multi(
    container: &mut Object,
    key: String,
    kind: OpKind,
    attr: &str,
    value: Value,
    listed: bool,
) -> Result<(), ScimError> {
    let new = into_list(value);
    if listed && let Some(bad) = new.iter().find(|element| !element.is_object()) {
        let kind_of = json_kind(bad);
        return Err(invalid_value(format!("values of `{attr}` must be objects, got {kind_of}")));
    }
    let mut elements = match (kind, container.get_mut(&key).map(Value::take)) {
        (OpKind::Add, Some(Value::Array(existing))) => existing,
        (OpKind::Add, Some(other)) if !other.is_null() => vec![other],
        _ => Vec::new(),
    };
    for element in new {
        let element = normalize_element(element)?;
        if !elements.iter().any(|existing| same_element(attr, existing, &element)) {
            elements.push(element);
            let last = elements.len().saturating_sub(1);
            keep_one_primary(&mut elements, last);
        }
    }
    container.insert(key, Value::Array(elements));
    Ok(())
}

pub(super) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Writes or removes one sub-attribute of a complex value.
fn set_sub(map: &mut Object, kind: OpKind, sub: &str, value: Option<Value>) -> Result<(), ScimError> {
    if kind == OpKind::Remove {
        remove_ci(map, sub);
        return Ok(());
    }
    match to_write(kind, value, sub)? {
        Some(value) => set_coerced(map, sub, value),
        None => {
            remove_ci(map, sub);
            Ok(())
        }
    }
}

/// A path naming a sub-attribute without a filter: `name.familyName`, or `emails.primary` for every value.
fn sub_attr(
    container: &mut Object,
    kind: OpKind,
    attr: &str,
    sub: &str,
    value: Option<Value>,
    listed: bool,
) -> Result<(), ScimError> {
    let key = key_for(container, attr);
    match container.get_mut(&key) {
        Some(Value::Object(map)) => {
            set_sub(map, kind, sub, value)?;
            // A complex attribute whose last sub-attribute went is unassigned (RFC 7644 §3.5.2.2).
            if map.is_empty() {
                container.remove(&key);
            }
            Ok(())
        }
        Some(Value::Array(elements)) => {
            let mut touched = false;
            for element in elements.iter_mut() {
                if let Value::Object(map) = element {
                    set_sub(map, kind, sub, value.clone())?;
                    touched = true;
                }
            }
            // `emails.primary: true` sets every value: only the first stays primary (RFC 7643 §2.4).
            if sub.eq_ignore_ascii_case("primary") {
                first_primary_only(elements);
            }
            if touched || kind == OpKind::Remove {
                Ok(())
            } else {
                Err(ScimError::new(ScimType::NoTarget, format!("`{attr}` has no complex values to set `{sub}` on")))
            }
        }
        None | Some(Value::Null) if kind == OpKind::Remove => Ok(()),
        None | Some(Value::Null) if listed => {
            Err(ScimError::new(ScimType::NoTarget, format!("`{attr}` has no values to set `{sub}` on")))
        }
        None | Some(Value::Null) => {
            let mut map = Map::new();
            set_sub(&mut map, kind, sub, value)?;
            if !map.is_empty() {
                container.insert(key, Value::Object(map));
            }
            Ok(())
        }
        Some(other) => {
            let kind_of = json_kind(other);
            Err(invalid_path(format!("`{attr}.{sub}` does not exist: `{attr}` is {kind_of}, not a complex attribute")))
        }
    }
}
