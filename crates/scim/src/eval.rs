//! Evaluates a parsed filter against a JSON resource (RFC 7644 §3.4.2.2): case-insensitive attribute lookup,
//! schema-aware case-exactness, any-match over multi-valued attributes, and value-path filters.

use crate::filter::{AttrPath, CompareOp, Filter};
use crate::schema::ResourceSchema;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cmp::Ordering;

/// True when `resource` satisfies `filter`. Never panics; type mismatches simply do not match.
pub fn matches(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    matches_in(filter, resource, schema, None)
}

/// Like [`matches`], evaluating inside one value of the multi-valued attribute `parent` (lower-case), so names are
/// relative to that value and case-exactness is looked up as `parent.attr`.
pub(crate) fn matches_in(filter: &Filter, resource: &Value, schema: &ResourceSchema, parent: Option<&str>) -> bool {
    match filter {
        Filter::And(left, right) => {
            matches_in(left, resource, schema, parent) && matches_in(right, resource, schema, parent)
        }
        Filter::Or(left, right) => {
            matches_in(left, resource, schema, parent) || matches_in(right, resource, schema, parent)
        }
        Filter::Not(inner) => !matches_in(inner, resource, schema, parent),
        Filter::Present(path) => resolve(resource, path, schema, parent).into_iter().any(is_present),
        Filter::Compare { path, op: CompareOp::Ne, value } => {
            !compare(resource, path, CompareOp::Eq, value, schema, parent)
        }
        Filter::Compare { path, op, value } => compare(resource, path, *op, value, schema, parent),
        Filter::ValuePath { path, filter } => {
            let name = dotted(parent, path);
            resolve(resource, path, schema, parent)
                .into_iter()
                .any(|element| element.is_object() && matches_in(filter, element, schema, Some(&name)))
        }
    }
}

/// Case-insensitive key lookup, preferring an exact match.
pub(crate) fn get_ci<'v>(map: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    map.get(name).or_else(|| map.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value))
}

fn field<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    value.as_object().and_then(|map| get_ci(map, name))
}

/// The lower-case dotted name used for case-exactness, e.g. `members.value`.
pub fn dotted(parent: Option<&str>, path: &AttrPath) -> String {
    let mut name = match parent {
        Some(parent) => format!("{parent}.{}", path.attr),
        None => path.attr.clone(),
    };
    if let Some(sub) = &path.sub {
        name.push('.');
        name.push_str(sub);
    }
    name.to_ascii_lowercase()
}

/// Every value the path designates, flattening multi-valued attributes; absent yields nothing.
fn resolve<'v>(resource: &'v Value, path: &AttrPath, schema: &ResourceSchema, parent: Option<&str>) -> Vec<&'v Value> {
    let base = match (&path.urn, parent) {
        (Some(urn), None) if !schema.is_core_urn(urn) => field(resource, urn),
        _ => Some(resource),
    };
    let Some(value) = base.and_then(|base| field(base, &path.attr)) else {
        return Vec::new();
    };
    let top = flatten(value);
    match &path.sub {
        None => top,
        Some(sub) => top.into_iter().filter_map(|element| field(element, sub)).flat_map(flatten).collect(),
    }
}

fn flatten(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare(
    resource: &Value,
    path: &AttrPath,
    op: CompareOp,
    literal: &Value,
    schema: &ResourceSchema,
    parent: Option<&str>,
) -> bool {
    let values = resolve(resource, path, schema, parent);
    if literal.is_null() {
        // `eq null` means "unassigned" (RFC 7643 §2.5 treats null and absent alike).
        return op == CompareOp::Eq && !values.into_iter().any(|v| !v.is_null());
    }
    let name = dotted(parent, path);
    values.into_iter().any(|value| {
        // A complex value stands for its `value` sub-attribute (`emails co "x"` means `emails.value co "x"`).
        let (value, exact) = match (value, &path.sub) {
            (Value::Object(map), None) => match get_ci(map, "value") {
                Some(inner) => (inner, schema.is_case_exact(&format!("{name}.value"))),
                None => return false,
            },
            _ => (value, schema.is_case_exact(&name)),
        };
        compare_value(value, op, literal, exact)
    })
}

fn fold(s: &str, exact: bool) -> Cow<'_, str> {
    if exact { Cow::Borrowed(s) } else { Cow::Owned(s.to_lowercase()) }
}

fn compare_value(value: &Value, op: CompareOp, literal: &Value, exact: bool) -> bool {
    let ordering = match (value, literal) {
        (Value::String(have), Value::String(want)) => {
            let (have, want) = (fold(have, exact), fold(want, exact));
            match op {
                CompareOp::Co => return have.contains(want.as_ref()),
                CompareOp::Sw => return have.starts_with(want.as_ref()),
                CompareOp::Ew => return have.ends_with(want.as_ref()),
                _ => Some(have.cmp(&want)),
            }
        }
        (Value::Number(have), Value::Number(want)) => compare_numbers(have, want),
        (Value::Bool(have), Value::Bool(want)) => return op == CompareOp::Eq && have == want,
        _ => None,
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return Some(a.cmp(&b));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

#[cfg(test)]
mod tests;
