//! What Okta and Entra ID send beyond the letter of RFC 7644 (okta-scim.md §3.1), accepted on purpose.

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, USER};

#[test]
fn okta_deactivate() {
    let request = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                         "Operations":[{"op":"replace","value":{"active":false}}]});
    let ops = parse_request(&request).unwrap();
    assert_eq!(ops, vec![Operation { op: OpKind::Replace, path: None, value: Some(json!({"active": false})) }]);
    assert_eq!(apply(&user(), &ops, &USER).unwrap()["active"], json!(false));
}

#[test]
fn entra_string_booleans() {
    let out = ok(&user(), json!([{"op": "Replace", "path": "active", "value": "False"}]), &USER);
    assert_eq!(out["active"], json!(false));
    let out = ok(&out, json!([{"op": "replace", "value": {"ACTIVE": "TRUE"}}]), &USER);
    assert_eq!(out["active"], json!(true));
    assert!(out.get("ACTIVE").is_none());
    let out = ok(&user(), json!([{"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "False"}]), &USER);
    assert_eq!(out["emails"][0]["primary"], json!(false));
    assert_eq!(
        err(&user(), json!([{"op": "replace", "path": "active", "value": "yes"}]), &USER),
        ScimType::InvalidValue
    );
}

#[test]
fn keys_keep_the_resource_spelling() {
    let out = ok(&user(), json!([{"op": "replace", "path": "username", "value": "new@example.com"}]), &USER);
    assert_eq!(out["userName"], json!("new@example.com"));
    assert!(out.get("username").is_none());
    let out = ok(&user(), json!([{"op": "add", "value": {"nickName": "Babs"}}]), &USER);
    assert_eq!(out["nickName"], json!("Babs"));
}

#[test]
fn pathless_dotted_and_urn_keys() {
    let dept = format!("{ENTERPRISE_USER_SCHEMA}:department");
    let core = format!("{USER_SCHEMA}:displayName");
    let out =
        ok(&user(), json!([{"op": "replace", "value": {"name.givenName": "Babs", dept: "Eng", core: "B J"}}]), &USER);
    assert_eq!(out["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["department"], json!("Eng"));
    assert_eq!(out["displayName"], json!("B J"));
    assert_eq!(out["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));

    let merged = ok(
        &out,
        json!([{"op": "add", "value": {ENTERPRISE_USER_SCHEMA: {"costCenter": "42", "manager": {"value": "m"}}}}]),
        &USER,
    );
    assert_eq!(
        merged[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Eng", "costCenter": "42", "manager": {"value": "m"}})
    );

    let acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    let tier = format!("{acme}:licenseTier");
    let out = ok(&user(), json!([{"op": "add", "value": {tier: "gold"}}]), &USER);
    assert_eq!(out[acme], json!({"licenseTier": "gold"}));
    let out = ok(&out, json!([{"op": "add", "value": {acme: {"seats": 3}}}]), &USER);
    assert_eq!(out[acme], json!({"licenseTier": "gold", "seats": 3}));
}

#[test]
fn pathless_keys_with_value_filters() {
    let ops = json!([{"op": "Replace", "value": {"emails[type eq \"work\"].value": "b@new.example", "name.familyName": "J"}}]);
    let out = ok(&user(), ops, &USER);
    assert_eq!(out["emails"][0]["value"], json!("b@new.example"));
    assert_eq!(out["name"]["familyName"], json!("J"));
}

#[test]
fn read_only_values_in_add_or_replace_are_ignored() {
    // Okta echoes the resource: `meta`, a user's `groups` and `schemas` come back in values (RFC 7644 §3.5.1 has
    // PUT ignore them, and we do the same for PATCH).
    let ops =
        json!([{"op": "replace", "value": {"meta": {"created": "x"}, "groups": [{"value": "g"}], "schemas": []}}]);
    assert_eq!(ok(&user(), ops, &USER), user());
    let ops = json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}, {"op": "replace", "path": "meta.created", "value": "x"}]);
    assert_eq!(ok(&user(), ops, &USER), user());
}

#[test]
fn entra_manager_string() {
    let path = format!("{ENTERPRISE_USER_SCHEMA}:manager");
    let out = ok(&user(), json!([{"op": "Add", "path": path, "value": "m-1"}]), &USER);
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "m-1"}));
    let out = ok(&out, json!([{"op": "Remove", "path": format!("{path}.value")}]), &USER);
    // The manager without its value is unassigned, and so is the extension left empty.
    assert_eq!(out, user());
}
