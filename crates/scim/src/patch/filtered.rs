//! Applies an operation to the values of a multi-valued attribute selected by a value filter (RFC 7644 §3.5.2),
//! e.g. `members[value eq "x"]` or `emails[type eq "work"].value`.

use super::OpKind;
use super::target::{json_kind, to_write};
use super::values::{invalid_path, invalid_value, keep_one_primary, key_for, merge, remove_ci, set_coerced};
use crate::error::{ScimError, ScimType};
use crate::eval::matches_in;
use crate::filter::{CompareOp, Filter};
use crate::schema::ResourceSchema;
use serde_json::{Map, Value};

type Object = Map<String, Value>;

/// A path with a value filter: `members[value eq "x"]`, `emails[type eq "work"].value`.
pub(super) fn filtered(
    container: &mut Object,
    kind: OpKind,
    attr: &str,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let key = key_for(container, attr);
    let mut elements = match container.get(&key) {
        Some(Value::Array(elements)) => elements.clone(),
        None | Some(Value::Null) if kind == OpKind::Remove => return Ok(()),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => {
            let kind_of = json_kind(other);
            return Err(invalid_path(format!("`{attr}` is {kind_of}, not a multi-valued attribute")));
        }
    };
    let parent = attr.to_ascii_lowercase();
    let hits: Vec<usize> = (0..elements.len())
        .filter(|&i| elements.get(i).is_some_and(|e| e.is_object() && matches_in(filter, e, schema, Some(&parent))))
        .collect();
    if kind == OpKind::Remove {
        // Removing a value that is not there is a no-op: Okta removes group members idempotently.
        match sub {
            None => {
                let mut index = 0;
                elements.retain(|_| {
                    let keep = !hits.contains(&index);
                    index += 1;
                    keep
                });
            }
            Some(sub) => {
                for &i in &hits {
                    if let Some(Value::Object(map)) = elements.get_mut(i) {
                        remove_ci(map, sub);
                    }
                }
            }
        }
        // With no values left the attribute is unassigned (RFC 7644 §3.5.2.2).
        if elements.is_empty() {
            container.remove(&key);
        } else {
            container.insert(key, Value::Array(elements));
        }
        return Ok(());
    }
    let Some(value) = to_write(kind, value, attr)? else {
        if hits.is_empty() {
            return Ok(());
        }
        let Some(sub) = sub else {
            return Err(invalid_value(format!("cannot replace values of `{attr}` with null; use remove")));
        };
        for &i in &hits {
            if let Some(Value::Object(map)) = elements.get_mut(i) {
                remove_ci(map, sub);
            }
        }
        container.insert(key, Value::Array(elements));
        return Ok(());
    };
    let created = hits.is_empty();
    let targets = if created {
        // Entra and Okta replace `emails[type eq "work"].value` on users that have no work email yet: create the
        // value the equality filter describes instead of failing with noTarget.
        let Some(element) = element_from(filter, schema, &parent) else {
            return Err(ScimError::new(ScimType::NoTarget, format!("no value of `{attr}` matches the filter")));
        };
        elements.push(Value::Object(element));
        vec![elements.len().saturating_sub(1)]
    } else {
        hits
    };
    // Replace swaps each matching value for the new one (RFC 7644 §3.5.2.3); add merges into it, as into a
    // complex attribute (§3.5.2.1), and so does a value created from the filter.
    let swap = kind == OpKind::Replace && !created;
    for &i in &targets {
        if let Some(Value::Object(map)) = elements.get_mut(i) {
            write_element(map, sub, value.clone(), attr, swap)?;
        }
        keep_one_primary(&mut elements, i);
    }
    container.insert(key, Value::Array(elements));
    Ok(())
}

fn write_element(map: &mut Object, sub: Option<&str>, value: Value, attr: &str, swap: bool) -> Result<(), ScimError> {
    match (sub, value) {
        (Some(sub), value) => set_coerced(map, sub, value),
        (None, Value::Object(update)) if swap => {
            map.clear();
            merge(map, update)
        }
        (None, Value::Object(update)) => merge(map, update),
        (None, other) => {
            let kind_of = json_kind(&other);
            Err(invalid_value(format!(
                "a value of `{attr}` selected by a filter must be set to an object, got {kind_of}"
            )))
        }
    }
}

/// Builds a new value from a filter made only of `attr eq literal` joined by `and`, if the result satisfies it.
fn element_from(filter: &Filter, schema: &ResourceSchema, parent: &str) -> Option<Object> {
    let mut map = Map::new();
    if !collect_equalities(filter, &mut map) {
        return None;
    }
    let element = Value::Object(map);
    if !matches_in(filter, &element, schema, Some(parent)) {
        return None;
    }
    match element {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn collect_equalities(filter: &Filter, map: &mut Object) -> bool {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value } => {
            let plain = path.urn.is_none() && path.sub.is_none();
            let literal = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
            if plain && literal {
                map.insert(path.attr.clone(), value.clone());
            }
            plain && literal
        }
        Filter::And(left, right) => collect_equalities(left, map) && collect_equalities(right, map),
        _ => false,
    }
}
