//! Small JSON helpers for PATCH: case-insensitive keys, boolean coercion for Entra's string booleans, extension
//! containers, de-duplication of multi-valued elements and the single-`primary` rule (RFC 7643 §2.4).

use crate::error::{ScimError, ScimType};
use crate::schema::ResourceSchema;
use serde_json::{Map, Value};

/// Sub-attributes that are boolean everywhere in RFC 7643.
const BOOLEAN_NAMES: &[&str] = &["active", "primary"];

pub(super) fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidValue, detail)
}

pub(super) fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidPath, detail)
}

pub(super) fn mutability(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::Mutability, detail)
}

/// The existing key matching `name` case-insensitively, preferring an exact match.
pub(super) fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|key| key.eq_ignore_ascii_case(name)).cloned()
}

/// The key to write `name` under: the resource's spelling if present, else the given one.
pub(super) fn key_for(map: &Map<String, Value>, name: &str) -> String {
    find_key(map, name).unwrap_or_else(|| name.to_owned())
}

/// Removes `name` (any case); absent is fine.
pub(super) fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = find_key(map, name) {
        map.remove(&key);
    }
}

/// Turns "true"/"false" strings into booleans for boolean attributes and rejects other non-boolean values for them.
pub(super) fn coerce(name: &str, existing: Option<&Value>, value: Value) -> Result<Value, ScimError> {
    let named = BOOLEAN_NAMES.iter().any(|b| b.eq_ignore_ascii_case(name));
    if !named && !matches!(existing, Some(Value::Bool(_))) {
        return Ok(value);
    }
    match value {
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        value @ (Value::Bool(_) | Value::Null) => Ok(value),
        value if named => Err(invalid_value(format!("`{name}` must be a boolean, got {value}"))),
        value => Ok(value),
    }
}

/// Sets `name` in `map`, keeping an existing key's spelling and coercing booleans.
pub(super) fn set_coerced(map: &mut Map<String, Value>, name: &str, value: Value) -> Result<(), ScimError> {
    let key = key_for(map, name);
    let value = coerce(name, map.get(&key), value)?;
    map.insert(key, value);
    Ok(())
}

/// Merges `update`'s keys into `target` one by one; a null removes the key (RFC 7643 §2.5: null means unassigned).
pub(super) fn merge(target: &mut Map<String, Value>, update: Map<String, Value>) -> Result<(), ScimError> {
    for (name, value) in update {
        if value.is_null() {
            remove_ci(target, &name);
        } else {
            set_coerced(target, &name, value)?;
        }
    }
    Ok(())
}

/// Coerces boolean sub-attributes of a new multi-valued element.
pub(super) fn normalize_element(element: Value) -> Result<Value, ScimError> {
    match element {
        Value::Object(map) => {
            let mut out = Map::new();
            merge(&mut out, map)?;
            Ok(Value::Object(out))
        }
        other => Ok(other),
    }
}

/// The object holding attributes of `urn` (the resource itself for the core schema or no URN), created on demand.
/// `Ok(None)` when the extension is absent and `create` is false.
pub(super) fn container<'m>(
    root: &'m mut Map<String, Value>,
    urn: Option<&str>,
    schema: &ResourceSchema,
    create: bool,
) -> Result<Option<&'m mut Map<String, Value>>, ScimError> {
    let Some(urn) = urn.filter(|urn| !schema.is_core_urn(urn)) else {
        return Ok(Some(root));
    };
    let key = key_for(root, urn);
    let missing = matches!(root.get(&key), None | Some(Value::Null));
    if missing {
        if !create {
            return Ok(None);
        }
        register_schema(root, urn);
        root.insert(key.clone(), Value::Object(Map::new()));
    }
    match root.get_mut(&key) {
        Some(Value::Object(map)) => Ok(Some(map)),
        _ => Err(invalid_path(format!("extension `{urn}` is not a JSON object"))),
    }
}

/// Lists a newly used extension URN in the resource's `schemas` array, when it has one.
fn register_schema(root: &mut Map<String, Value>, urn: &str) {
    let Some(key) = find_key(root, "schemas") else {
        return;
    };
    if let Some(Value::Array(schemas)) = root.get_mut(&key)
        && !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
    {
        schemas.push(Value::String(urn.to_owned()));
    }
}

/// Drops the object of extension `urn` when it has no attributes left, and its `schemas` entry: an extension
/// without attributes is unassigned.
pub(super) fn prune_extension(root: &mut Map<String, Value>, urn: &str) {
    let Some(key) = find_key(root, urn) else {
        return;
    };
    if matches!(root.get(&key), Some(Value::Object(map)) if map.is_empty()) {
        root.remove(&key);
        unregister_schema(root, urn);
    }
}

/// Drops an extension URN from the resource's `schemas` array once its object is gone.
pub(super) fn unregister_schema(root: &mut Map<String, Value>, urn: &str) {
    let Some(key) = find_key(root, "schemas") else {
        return;
    };
    if let Some(Value::Array(schemas)) = root.get_mut(&key) {
        schemas.retain(|s| !s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    }
}

fn value_of(element: &Value) -> Option<&Value> {
    element.as_object().and_then(|map| crate::eval::get_ci(map, "value"))
}

/// Whether `element` is already represented by `existing`: group members are identified by `value`, anything else
/// by full equality.
pub(super) fn same_element(attr: &str, existing: &Value, element: &Value) -> bool {
    if attr.eq_ignore_ascii_case("members")
        && let (Some(a), Some(b)) = (value_of(existing), value_of(element))
    {
        return a == b;
    }
    existing == element
}

/// Whether a `remove` value item designates `element`: by `value` when the item has one, else by equality.
pub(super) fn designates(item: &Value, element: &Value) -> bool {
    match (value_of(item), value_of(element)) {
        (Some(a), Some(b)) => a == b,
        _ => item == element,
    }
}

fn is_primary(element: &Value) -> bool {
    element.as_object().and_then(|map| crate::eval::get_ci(map, "primary")) == Some(&Value::Bool(true))
}

/// If `elements[keep]` is primary, clears `primary` on every other element so at most one stays primary.
pub(super) fn keep_one_primary(elements: &mut [Value], keep: usize) {
    if !elements.get(keep).is_some_and(is_primary) {
        return;
    }
    for (i, element) in elements.iter_mut().enumerate() {
        if i != keep
            && is_primary(element)
            && let Value::Object(map) = element
        {
            let key = key_for(map, "primary");
            map.insert(key, Value::Bool(false));
        }
    }
}

/// Clears `primary` on every element but the first primary one.
pub(super) fn first_primary_only(elements: &mut [Value]) {
    if let Some(first) = elements.iter().position(is_primary) {
        keep_one_primary(elements, first);
    }
}
