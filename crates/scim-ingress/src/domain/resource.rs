//! The stored SCIM User: what a POST/PUT body becomes (validated, `id`/`meta`/`groups`/`password`
//! removed, booleans normalized) and how a stored user is rendered back (`id`, `meta`, `groups`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uapi_scim::schema::USER_SCHEMA;
use uuid::Uuid;

use crate::scim::error::{ScimError, ScimResult};

/// Attributes a client never sets: server-assigned or read-only (RFC 7643), or write-only.
const DROPPED: [&str; 4] = ["id", "meta", "groups", "password"];

fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// Validates a User body and returns what we store. `id`, when present, must equal `expected_id`
/// (PUT echoes it); anything else is a `mutability` error.
pub fn clean(body: Value, expected_id: Option<Uuid>) -> ScimResult<Map<String, Value>> {
    let Value::Object(map) = body else {
        return Err(ScimError::bad_request("invalidSyntax", "a User must be a JSON object"));
    };
    let mut out = Map::new();
    for (key, value) in map {
        let lower = key.to_ascii_lowercase();
        if lower == "id" {
            check_id(&value, expected_id)?;
            continue;
        }
        if DROPPED.contains(&lower.as_str()) {
            continue;
        }
        out.insert(key, value);
    }
    normalize_booleans(&mut out)?;
    super::bounds::check(&out)?;
    validate(&out)?;
    ensure_schema(&mut out, USER_SCHEMA)?;
    Ok(out)
}

/// An `id` in a body: ignored on create (`expected` is `None`: the server assigns ids); on PUT
/// and in PATCH values it may only repeat the resource's own id, anything else is `mutability`.
pub fn check_id(value: &Value, expected: Option<Uuid>) -> ScimResult<()> {
    let same = match (value, expected) {
        (Value::String(s), Some(id)) => Uuid::parse_str(s).ok() == Some(id),
        (Value::Null, _) | (_, None) => true,
        _ => false,
    };
    if same { Ok(()) } else { Err(ScimError::bad_request("mutability", "`id` is read-only and cannot be changed")) }
}

/// Makes `schemas` list the core `urn` (first, when it was missing).
pub fn ensure_schema(map: &mut Map<String, Value>, urn: &str) -> ScimResult<()> {
    match map.get_mut("schemas") {
        Some(Value::Array(schemas)) => {
            if !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))) {
                schemas.insert(0, json!(urn));
            }
        }
        Some(_) => return Err(invalid_value("`schemas` must be an array of URIs")),
        None => {
            map.insert("schemas".into(), json!([urn]));
        }
    }
    Ok(())
}

/// `active: "True"` (Entra) becomes `true`; anything else non-boolean is refused.
fn normalize_booleans(map: &mut Map<String, Value>) -> ScimResult<()> {
    if let Some((_, v)) = map.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("active")) {
        match v {
            Value::Bool(_) | Value::Null => {}
            Value::String(s) if s.eq_ignore_ascii_case("true") => *v = Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => *v = Value::Bool(false),
            other => return Err(invalid_value(format!("`active` must be a boolean, got {other}"))),
        }
    }
    Ok(())
}

/// The attribute `key`, matched case-insensitively (RFC 7643 §2.1).
pub fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

fn validate(map: &Map<String, Value>) -> ScimResult<()> {
    match get(map, "userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            if s.chars().count() > 512 {
                return Err(invalid_value("`userName` must be at most 512 characters"));
            }
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ScimError::bad_request("invalidValue", "`userName` is required and must not be empty"));
        }
        Some(other) => return Err(invalid_value(format!("`userName` must be a string, got {other}"))),
    }
    for key in ["externalId", "displayName", "nickName", "title", "userType", "locale", "timezone", "preferredLanguage"]
    {
        match get(map, key) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => return Err(invalid_value(format!("`{key}` must be a string, got {other}"))),
        }
    }
    if let Some(name) = get(map, "name")
        && !matches!(name, Value::Object(_) | Value::Null)
    {
        return Err(invalid_value("`name` must be an object"));
    }
    for key in ["emails", "phoneNumbers", "addresses", "ims", "photos", "entitlements", "roles", "x509Certificates"] {
        match get(map, key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                if items.iter().any(|i| !i.is_object()) {
                    return Err(invalid_value(format!("every item of `{key}` must be an object")));
                }
                if key == "emails"
                    && items
                        .iter()
                        .any(|i| !matches!(i.get("value"), Some(Value::String(_)) | None | Some(Value::Null)))
                {
                    return Err(invalid_value("`emails[].value` must be a string"));
                }
            }
            Some(_) => return Err(invalid_value(format!("`{key}` must be an array"))),
        }
    }
    for (key, value) in map {
        if key.to_ascii_lowercase().starts_with("urn:") && !key.eq_ignore_ascii_case("schemas") && !value.is_object() {
            return Err(invalid_value(format!("extension `{key}` must be an object")));
        }
    }
    Ok(())
}

/// The `userName` of a cleaned resource.
pub fn user_name(map: &Map<String, Value>) -> String {
    get(map, "userName").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The `externalId`, when a non-empty string.
pub fn external_id(map: &Map<String, Value>) -> Option<String> {
    get(map, "externalId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `active` (absent means active, as Okta creates users active).
pub fn active(map: &Map<String, Value>) -> bool {
    get(map, "active").and_then(Value::as_bool).unwrap_or(true)
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What every served resource says about itself besides its attributes.
pub struct Served<'a> {
    pub id: Uuid,
    pub resource_type: &'static str,
    /// `<base_url>/<endpoint>/<id>`.
    pub location: String,
    pub version: i64,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    /// The stored attributes (no id or meta).
    pub attributes: &'a Value,
    /// The core schema URN, for a resource stored without `schemas`.
    pub core_schema: &'static str,
}

/// A resource as served: schemas and id first, then the stored attributes, `extra` (computed
/// attributes such as `groups` or `members`) and `meta`.
pub fn render_resource(served: Served<'_>, extra: Vec<(&'static str, Value)>) -> Value {
    let mut out = Map::new();
    let stored = served.attributes.as_object().cloned().unwrap_or_default();
    out.insert("schemas".into(), stored.get("schemas").cloned().unwrap_or_else(|| json!([served.core_schema])));
    out.insert("id".into(), json!(served.id.to_string()));
    for (k, v) in stored {
        if k != "schemas" {
            out.insert(k, v);
        }
    }
    for (k, v) in extra {
        out.insert(k.into(), v);
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": served.resource_type,
            "created": timestamp(served.created),
            "lastModified": timestamp(served.modified),
            "location": served.location,
            "version": format!("W/\"{}\"", served.version),
        }),
    );
    Value::Object(out)
}

/// The User as served; its read-only `groups` come from the employee's memberships.
pub fn render(
    id: Uuid,
    resource: &Value,
    employee: &Value,
    base_url: &str,
    version: i64,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
) -> Value {
    let groups: Vec<Value> = employee
        .get("groups")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| Some((g.get("id")?.as_str()?, g.get("name")?.as_str()?)))
                .map(|(gid, name)| {
                    json!({ "value": gid, "display": name, "$ref": format!("{base_url}/Groups/{gid}"), "type": "direct" })
                })
                .collect()
        })
        .unwrap_or_default();
    let served = Served {
        id,
        resource_type: "User",
        location: format!("{base_url}/Users/{id}"),
        version,
        created,
        modified,
        attributes: resource,
        core_schema: USER_SCHEMA,
    };
    render_resource(served, vec![("groups", Value::Array(groups))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_create_body_is_cleaned() {
        let body = json!({
            "schemas": [USER_SCHEMA], "userName": "test.user@okta.local", "password": "1mz050nq",
            "groups": [], "active": "True", "id": "ignored-on-create", "meta": {}
        });
        let clean = clean(body, None).expect("valid");
        assert!(clean.get("password").is_none() && clean.get("groups").is_none() && clean.get("meta").is_none());
        assert_eq!(clean["active"], json!(true));
    }

    #[test]
    fn bad_values_are_invalid_value() {
        for body in [
            json!({ "userName": "" }),
            json!({ "userName": 5 }),
            json!({}),
            json!({ "userName": "a", "active": "maybe" }),
            json!({ "userName": "a", "emails": "a@b.c" }),
            json!({ "userName": "a", "emails": [{ "value": 1 }] }),
            json!({ "userName": "a", "name": "Jane" }),
            json!({ "userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "x" }),
        ] {
            assert!(clean(body.clone(), None).is_err(), "{body}");
        }
    }

    #[test]
    fn put_may_echo_its_own_id_only() {
        let id = Uuid::now_v7();
        assert!(clean(json!({ "userName": "a", "id": id.to_string() }), Some(id)).is_ok());
        let err = clean(json!({ "userName": "a", "id": Uuid::now_v7().to_string() }), Some(id));
        assert!(matches!(err, Err(ScimError::Client { scim_type: Some("mutability"), .. })));
    }
}
