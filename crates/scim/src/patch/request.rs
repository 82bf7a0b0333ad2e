//! Parses a PatchOp request body (RFC 7644 §3.5.2) into operations, tolerating the spellings Okta and Entra use.

use super::{OpKind, Operation};
use crate::error::{ScimError, ScimType};
use crate::eval::get_ci;
use crate::path;
use crate::schema::PATCH_OP_SCHEMA;
use serde_json::Value;

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidSyntax, detail)
}

fn check_schemas(schemas: &Value) -> Result<(), ScimError> {
    let names: Vec<&Value> = match schemas {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let listed = names.iter().any(|name| name.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA)));
    if listed { Ok(()) } else { Err(syntax(format!("`schemas` must contain \"{PATCH_OP_SCHEMA}\""))) }
}

/// See [`super::parse_request`].
pub(super) fn parse(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(body) = body else {
        return Err(syntax("PATCH request body must be a JSON object"));
    };
    if let Some(schemas) = get_ci(body, "schemas") {
        check_schemas(schemas)?;
    }
    let ops = match get_ci(body, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        Some(Value::Array(_)) => return Err(syntax("`Operations` must not be empty")),
        Some(_) => return Err(syntax("`Operations` must be an array")),
        None => return Err(syntax("PATCH request body has no `Operations`")),
    };
    ops.iter().enumerate().map(|(i, op)| parse_operation(op).map_err(|e| numbered(i, e))).collect()
}

/// Prefixes the detail with the 1-based operation number so clients can tell which one failed.
pub(super) fn numbered(index: usize, err: ScimError) -> ScimError {
    ScimError::new(err.scim_type, format!("operation {}: {}", index + 1, err.detail))
}

fn parse_operation(op: &Value) -> Result<Operation, ScimError> {
    let Value::Object(op) = op else {
        return Err(syntax("each operation must be a JSON object"));
    };
    let kind = match get_ci(op, "op") {
        Some(Value::String(name)) => match name.to_ascii_lowercase().as_str() {
            "add" => OpKind::Add,
            "remove" => OpKind::Remove,
            "replace" => OpKind::Replace,
            _ => return Err(syntax(format!("unknown op `{name}`; expected add, remove or replace"))),
        },
        Some(_) => return Err(syntax("`op` must be a string")),
        None => return Err(syntax("operation has no `op`")),
    };
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(path::parse(text)?),
        Some(_) => return Err(ScimError::new(ScimType::InvalidPath, "`path` must be a string")),
    };
    let value = get_ci(op, "value").cloned();
    match kind {
        OpKind::Remove if path.is_none() => Err(ScimError::new(ScimType::NoTarget, "remove requires a `path`")),
        OpKind::Add | OpKind::Replace if value.is_none() => {
            let name = if kind == OpKind::Add { "add" } else { "replace" };
            Err(ScimError::new(ScimType::InvalidValue, format!("{name} requires a `value`")))
        }
        _ => Ok(Operation { op: kind, path, value }),
    }
}
