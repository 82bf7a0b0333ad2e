//! PATCH engine tests, one file per part of RFC 7644 §3.5.2, each test named after the rule it shows.

#![allow(clippy::unwrap_used)]

mod add;
mod general;
mod remove;
mod replace;
mod request;
mod tolerances;

use super::*;
use crate::schema::{PATCH_OP_SCHEMA, USER_SCHEMA};
use serde_json::json;

fn user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": "u-1",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]
    })
}

/// A user with two emails and two addresses, for value filters.
fn rich_user() -> Value {
    let mut user = user();
    user["emails"] = json!([
        {"value": "bjensen@example.com", "type": "work", "primary": true},
        {"value": "babs@jensen.org", "type": "home"}
    ]);
    user["addresses"] = json!([
        {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
        {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
    ]);
    user
}

fn group() -> Value {
    json!({"schemas": [crate::schema::GROUP_SCHEMA], "id": "g-1", "displayName": "Eng",
           "members": [{"value": "a", "display": "A"}, {"value": "b"}]})
}

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

fn run(resource: &Value, ops: Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    apply(resource, &parse_request(&body(ops))?, schema)
}

fn ok(resource: &Value, ops: Value, schema: &ResourceSchema) -> Value {
    run(resource, ops, schema).unwrap_or_else(|e| panic!("{e:?}"))
}

fn err(resource: &Value, ops: Value, schema: &ResourceSchema) -> ScimType {
    run(resource, ops, schema).unwrap_err().scim_type
}
