//! The stored SCIM Group: what a POST/PUT body becomes (validated, `id` and `meta` removed,
//! `members` taken out: they are stored as rows) and how a stored group is rendered back.

use serde_json::{Map, Value, json};
use uapi_scim::schema::GROUP_SCHEMA;
use uuid::Uuid;

use super::resource::{Served, check_id, ensure_schema, get, render_resource};
use crate::db::groups::{GroupRow, Member};
use crate::scim::error::{ScimError, ScimResult};

fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// Longest `displayName` accepted (Okta's own limit for group names is 255).
const MAX_NAME: usize = 1024;

/// A validated Group body: its attributes and the members it names.
pub struct GroupBody {
    pub attributes: Map<String, Value>,
    pub members: Vec<Uuid>,
}

/// Validates a POST/PUT body. `id`, when present, must equal `expected_id` (PUT echoes it).
/// A missing or null `members` means none.
pub fn clean(body: Value, expected_id: Option<Uuid>) -> ScimResult<GroupBody> {
    let Value::Object(map) = body else {
        return Err(ScimError::bad_request("invalidSyntax", "a Group must be a JSON object"));
    };
    let mut attributes = Map::new();
    let mut members = Vec::new();
    for (key, value) in map {
        match key.to_ascii_lowercase().as_str() {
            "id" => check_id(&value, expected_id)?,
            "meta" => {}
            "members" => members = member_ids(&value)?,
            _ => {
                attributes.insert(key, value);
            }
        }
    }
    Ok(GroupBody { attributes: clean_attributes(attributes, expected_id)?, members })
}

/// Validates the attributes of a group (no `members`): what a PATCH leaves behind, too.
pub fn clean_attributes(mut map: Map<String, Value>, expected_id: Option<Uuid>) -> ScimResult<Map<String, Value>> {
    if let Some(key) = map.keys().find(|k| k.eq_ignore_ascii_case("id")).cloned() {
        check_id(&map[&key], expected_id)?;
        map.remove(&key);
    }
    map.retain(|k, _| !k.eq_ignore_ascii_case("meta") && !k.eq_ignore_ascii_case("members"));
    super::bounds::check(&map)?;
    match get(&map, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            if s.chars().count() > MAX_NAME {
                return Err(invalid_value(format!("`displayName` must be at most {MAX_NAME} characters")));
            }
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(invalid_value("`displayName` is required and must not be empty"));
        }
        Some(other) => return Err(invalid_value(format!("`displayName` must be a string, got {other}"))),
    }
    match get(&map, "externalId") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(other) => return Err(invalid_value(format!("`externalId` must be a string, got {other}"))),
    }
    for (key, value) in &map {
        if key.to_ascii_lowercase().starts_with("urn:") && !value.is_object() {
            return Err(invalid_value(format!("extension `{key}` must be an object")));
        }
    }
    ensure_schema(&mut map, GROUP_SCHEMA)?;
    Ok(map)
}

/// The user ids a `members` value names: an array (or one object) of `{value, display?, type?}`.
/// Only users are members (no nested groups); the `value` decides, not `type` (clients send
/// anything there). A value that is not one of our ids is refused here, one that is not a user of
/// the connection when the write checks the users.
pub fn member_ids(value: &Value) -> ScimResult<Vec<Uuid>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items.as_slice(),
        one @ Value::Object(_) => std::slice::from_ref(one),
        _ => return Err(invalid_value("`members` must be an array of objects with a `value`")),
    };
    items.iter().map(member_id).collect()
}

fn member_id(item: &Value) -> ScimResult<Uuid> {
    let Value::Object(member) = item else {
        return Err(invalid_value("every member must be an object with a `value`"));
    };
    match get(member, "value") {
        Some(Value::String(v)) => Uuid::parse_str(v.trim()).map_err(|_| unknown_member(v)),
        _ => Err(invalid_value("every member needs a string `value`: the id of a user")),
    }
}

/// The error for a member value that is not a user of the connection.
pub fn unknown_member(value: &str) -> ScimError {
    invalid_value(format!("member {value:?} is not a user of this connection"))
}

/// The `displayName` of cleaned attributes.
pub fn display_name(map: &Map<String, Value>) -> String {
    get(map, "displayName").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The `externalId`, when a non-empty string.
pub fn external_id(map: &Map<String, Value>) -> Option<String> {
    get(map, "externalId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The Group as served. `members` is `None` when the response does not carry them (they were
/// excluded, so they were not even read).
pub fn render(row: &GroupRow, members: Option<&[Member]>, base_url: &str) -> Value {
    let extra = match members {
        Some(members) => {
            let members = members
                .iter()
                .map(|m| {
                    json!({
                        "value": m.user_id.to_string(), "display": m.user_name,
                        "$ref": format!("{base_url}/Users/{}", m.user_id), "type": "User",
                    })
                })
                .collect();
            vec![("members", Value::Array(members))]
        }
        None => Vec::new(),
    };
    let served = Served {
        id: row.id,
        resource_type: "Group",
        location: format!("{base_url}/Groups/{}", row.id),
        version: row.version,
        created: row.created_at,
        modified: row.updated_at,
        attributes: &row.resource,
        core_schema: GROUP_SCHEMA,
    };
    render_resource(served, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_create_body_is_cleaned() {
        let body = json!({ "schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": [] });
        let clean = clean(body, None).expect("valid");
        assert!(clean.members.is_empty());
        assert_eq!(
            clean.attributes,
            *json!({ "schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2" }).as_object().expect("object")
        );
        let no_schemas = clean_attributes(json!({ "displayName": "G" }).as_object().cloned().expect("object"), None);
        assert_eq!(no_schemas.expect("valid")["schemas"], json!([GROUP_SCHEMA]));
    }

    #[test]
    fn members_are_user_ids() {
        let id = Uuid::now_v7();
        let body = json!({ "displayName": "G", "members": [{ "value": id.to_string(), "display": "a@b" }] });
        assert_eq!(clean(body, None).expect("valid").members, vec![id]);
        // `type` is a label; the value decides (a group's id is not a user's, so it fails later).
        let typed = json!({ "displayName": "G", "members": [{ "value": id.to_string(), "type": "Whatever" }] });
        assert_eq!(clean(typed, None).expect("valid").members, vec![id]);
        for members in [json!("x"), json!([1]), json!([{ "display": "no value" }]), json!([{ "value": "not-a-uuid" }])]
        {
            let err = clean(json!({ "displayName": "G", "members": members }), None);
            assert!(matches!(err, Err(ScimError::Client { scim_type: Some("invalidValue"), .. })), "{members}");
        }
    }

    #[test]
    fn bad_attributes_are_invalid_value_and_ids_are_immutable() {
        for body in [
            json!({}),
            json!({ "displayName": " " }),
            json!({ "displayName": 7 }),
            json!({ "displayName": "G", "externalId": 1 }),
        ] {
            assert!(
                matches!(clean(body.clone(), None), Err(ScimError::Client { scim_type: Some("invalidValue"), .. })),
                "{body}"
            );
        }
        let id = Uuid::now_v7();
        assert!(clean(json!({ "displayName": "G", "id": id.to_string() }), Some(id)).is_ok());
        let other = clean(json!({ "displayName": "G", "id": Uuid::now_v7().to_string() }), Some(id));
        assert!(matches!(other, Err(ScimError::Client { scim_type: Some("mutability"), .. })));
    }
}
