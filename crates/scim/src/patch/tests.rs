#![allow(clippy::unwrap_used)]

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP, PATCH_OP_SCHEMA, USER, USER_SCHEMA};
use serde_json::json;

pub(super) fn user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": "u-1",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]
    })
}

pub(super) fn group() -> Value {
    json!({"schemas": [crate::schema::GROUP_SCHEMA], "id": "g-1", "displayName": "Eng",
           "members": [{"value": "a", "display": "A"}, {"value": "b"}]})
}

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

fn run(resource: &Value, ops: Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    apply(resource, &parse_request(&body(ops))?, schema)
}

pub(super) fn ok(resource: &Value, ops: Value, schema: &ResourceSchema) -> Value {
    run(resource, ops, schema).unwrap_or_else(|e| panic!("{e:?}"))
}

pub(super) fn err(resource: &Value, ops: Value, schema: &ResourceSchema) -> ScimType {
    run(resource, ops, schema).unwrap_err().scim_type
}

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
fn complex_merge_keeps_siblings() {
    let out = ok(&user(), json!([{"op": "replace", "path": "name", "value": {"familyName": "Smith"}}]), &USER);
    assert_eq!(out["name"], json!({"givenName": "Barbara", "familyName": "Smith"}));
    let out = ok(&user(), json!([{"op": "replace", "value": {"name": {"givenName": "Babs"}}}]), &USER);
    assert_eq!(out["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    let out = ok(&user(), json!([{"op": "replace", "path": "name.familyName", "value": "J"}]), &USER);
    assert_eq!(out["name"]["familyName"], json!("J"));
    let out = ok(&user(), json!([{"op": "remove", "path": "name.givenName"}]), &USER);
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    let out = ok(&user(), json!([{"op": "remove", "path": "nickName"}, {"op": "remove", "path": "name"}]), &USER);
    assert!(out.get("name").is_none());
}

#[test]
fn filtered_email_replace_and_create() {
    let path = "emails[type eq \"work\"].value";
    let out = ok(&user(), json!([{"op": "replace", "path": path, "value": "b@new.example"}]), &USER);
    assert_eq!(out["emails"], json!([{"value": "b@new.example", "type": "work", "primary": true}]));
    let home = "emails[type eq \"home\"].value";
    let out = ok(&user(), json!([{"op": "replace", "path": home, "value": "b@home.example"}]), &USER);
    assert_eq!(out["emails"][1], json!({"type": "home", "value": "b@home.example"}));
    let bare = json!({"id": "u-2", "userName": "x"});
    let out = ok(&bare, json!([{"op": "add", "path": path, "value": "x@example.com"}]), &USER);
    assert_eq!(out["emails"], json!([{"type": "work", "value": "x@example.com"}]));
    let vague = "emails[value co \"@nowhere\"].type";
    assert_eq!(err(&user(), json!([{"op": "replace", "path": vague, "value": "work"}]), &USER), ScimType::NoTarget);
}

#[test]
fn single_primary_is_kept() {
    let out = ok(
        &user(),
        json!([{"op": "add", "path": "emails", "value": {"value": "h@x", "type": "home", "primary": "True"}}]),
        &USER,
    );
    assert_eq!(out["emails"][0]["primary"], json!(false));
    assert_eq!(out["emails"][1]["primary"], json!(true));
}

#[test]
fn add_to_multi_valued() {
    let out = ok(&user(), json!([{"op": "add", "path": "emails", "value": {"value": "h@x", "type": "home"}}]), &USER);
    assert_eq!(out["emails"].as_array().unwrap().len(), 2);
    let again = ok(&out, json!([{"op": "add", "path": "emails", "value": [{"value": "h@x", "type": "home"}]}]), &USER);
    assert_eq!(again["emails"], out["emails"]);
    let phones =
        ok(&user(), json!([{"op": "add", "value": {"phoneNumbers": [{"value": "555", "type": "work"}]}}]), &USER);
    assert_eq!(phones["phoneNumbers"], json!([{"value": "555", "type": "work"}]));
    let replaced = ok(&user(), json!([{"op": "replace", "value": {"emails": [{"value": "n@x"}]}}]), &USER);
    assert_eq!(replaced["emails"], json!([{"value": "n@x"}]));
}

#[test]
fn group_members() {
    let add = json!([{"op": "add", "path": "members", "value": [{"value": "b", "display": "B"}, {"value": "c"}]}]);
    let out = ok(&group(), add, &GROUP);
    assert_eq!(out["members"], json!([{"value": "a", "display": "A"}, {"value": "b"}, {"value": "c"}]));

    let remove = json!([{"op": "remove", "path": "members[value eq \"a\"]"}]);
    let out = ok(&group(), remove.clone(), &GROUP);
    assert_eq!(out["members"], json!([{"value": "b"}]));
    assert_eq!(ok(&out, remove, &GROUP), out);
    let upper = ok(&group(), json!([{"op": "remove", "path": "members[value eq \"A\"]"}]), &GROUP);
    assert_eq!(upper["members"], group()["members"]);

    let entra = ok(&group(), json!([{"op": "Remove", "path": "members", "value": [{"value": "b"}]}]), &GROUP);
    assert_eq!(entra["members"], json!([{"value": "a", "display": "A"}]));

    let empty = ok(&group(), json!([{"op": "replace", "path": "members", "value": []}]), &GROUP);
    assert_eq!(empty["members"], json!([]));
    let all = ok(&group(), json!([{"op": "remove", "path": "members"}]), &GROUP);
    assert!(all.get("members").is_none());
    assert_eq!(
        err(&group(), json!([{"op": "replace", "path": "members", "value": "a"}]), &GROUP),
        ScimType::InvalidValue
    );
}

#[test]
fn group_rename_with_id() {
    let out = ok(&group(), json!([{"op": "replace", "value": {"id": "g-1", "displayName": "New"}}]), &GROUP);
    assert_eq!(out["displayName"], json!("New"));
    assert_eq!(out["id"], json!("g-1"));
    let bad = json!([{"op": "replace", "value": {"id": "g-2", "displayName": "New"}}]);
    assert_eq!(err(&group(), bad, &GROUP), ScimType::Mutability);
    assert_eq!(err(&group(), json!([{"op": "remove", "path": "id"}]), &GROUP), ScimType::Mutability);
}

#[test]
fn read_only_attributes_are_ignored() {
    let ops =
        json!([{"op": "replace", "value": {"meta": {"created": "x"}, "groups": [{"value": "g"}], "schemas": []}}]);
    assert_eq!(ok(&user(), ops, &USER), user());
}

#[test]
fn entra_manager_string() {
    let path = format!("{ENTERPRISE_USER_SCHEMA}:manager");
    let out = ok(&user(), json!([{"op": "Add", "path": path, "value": "m-1"}]), &USER);
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "m-1"}));
    let out = ok(&out, json!([{"op": "Remove", "path": format!("{path}.value")}]), &USER);
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["manager"], json!({}));
}

#[test]
fn request_errors() {
    let remove = body(json!([{"op": "remove"}]));
    assert_eq!(parse_request(&remove).unwrap_err().scim_type, ScimType::NoTarget);
    let missing = Operation { op: OpKind::Remove, path: None, value: None };
    assert_eq!(apply(&user(), &[missing], &USER).unwrap_err().scim_type, ScimType::NoTarget);
    let cases = [
        (json!([]), ScimType::InvalidSyntax),
        (json!("x"), ScimType::InvalidSyntax),
        (json!([{"op": "move", "path": "a"}]), ScimType::InvalidSyntax),
        (json!([{"op": "add", "path": "active"}]), ScimType::InvalidValue),
        (json!([{"op": "replace"}]), ScimType::InvalidValue),
        (json!([{"op": "add", "path": "emails["}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": 3, "value": 1}]), ScimType::InvalidPath),
        (json!([7]), ScimType::InvalidSyntax),
    ];
    for (ops, expected) in cases {
        assert_eq!(parse_request(&body(ops.clone())).unwrap_err().scim_type, expected, "{ops}");
    }
    assert_eq!(parse_request(&json!([])).unwrap_err().scim_type, ScimType::InvalidSyntax);
    let wrong_schema = json!({"schemas": [USER_SCHEMA], "Operations": [{"op": "add", "value": {}}]});
    assert_eq!(parse_request(&wrong_schema).unwrap_err().scim_type, ScimType::InvalidSyntax);
    let no_schemas = json!({"operations": [{"OP": "Add", "Path": "title", "Value": "x"}]});
    assert_eq!(parse_request(&no_schemas).unwrap().len(), 1);
    let detail = parse_request(&body(json!([{"op": "add", "value": {}}, {"op": "nope"}]))).unwrap_err().detail;
    assert!(detail.starts_with("operation 2: "), "{detail}");
}

#[test]
fn apply_errors() {
    assert_eq!(err(&user(), json!([{"op": "add", "path": "active.foo", "value": 1}]), &USER), ScimType::InvalidPath);
    assert_eq!(err(&user(), json!([{"op": "add", "value": "x"}]), &USER), ScimType::InvalidValue);
    assert_eq!(err(&user(), json!([{"op": "add", "value": {"bad key": 1}}]), &USER), ScimType::InvalidPath);
    assert_eq!(
        err(&user(), json!([{"op": "add", "path": "userName[value pr]", "value": {}}]), &USER),
        ScimType::InvalidPath
    );
    let not_object = apply(&json!([1]), &[], &USER).unwrap_err();
    assert_eq!(not_object.scim_type, ScimType::InvalidSyntax);
}

#[test]
fn atomic_on_failure() {
    let original = user();
    let ops = json!([{"op": "replace", "path": "userName", "value": "changed"}, {"op": "add", "path": "active.x", "value": 1}]);
    let error = run(&original, ops, &USER).unwrap_err();
    assert_eq!(error.scim_type, ScimType::InvalidPath);
    assert!(error.detail.starts_with("operation 2: "));
    assert_eq!(original, user());
}

#[test]
fn a_path_naming_the_whole_extension() {
    let added =
        ok(&user(), json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"employeeNumber": "7"}}]), &USER);
    assert_eq!(added[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "7"}));
    assert_eq!(added["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert!(added.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0").is_none());
    let merged =
        ok(&added, json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"division": "R&D"}}]), &USER);
    assert_eq!(merged[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "7", "division": "R&D"}));
    let replaced =
        ok(&merged, json!([{"op": "Replace", "path": ENTERPRISE_USER_SCHEMA, "value": {"costCenter": "42"}}]), &USER);
    assert_eq!(replaced[ENTERPRISE_USER_SCHEMA], json!({"costCenter": "42"}));
    let removed = ok(&replaced, json!([{"op": "remove", "path": ENTERPRISE_USER_SCHEMA.to_uppercase()}]), &USER);
    assert!(removed.get(ENTERPRISE_USER_SCHEMA).is_none());
    assert_eq!(removed["schemas"], json!([USER_SCHEMA]));
    assert_eq!(
        err(&user(), json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": "x"}]), &USER),
        ScimType::InvalidValue
    );
}
