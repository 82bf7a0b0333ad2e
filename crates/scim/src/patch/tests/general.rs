//! Rules of RFC 7644 §3.5.2 for every operation: compatibility with the attribute's schema and mutability
//! (RFC 7643 §2.2–2.4), `schemas`, the single `primary`, order and atomicity.

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP, USER};

#[test]
fn changing_id_is_mutability() {
    for ops in [
        json!([{"op": "replace", "path": "id", "value": "u-2"}]),
        json!([{"op": "add", "value": {"id": "u-2", "title": "x"}}]),
        json!([{"op": "remove", "path": "id"}]),
    ] {
        assert_eq!(err(&user(), ops.clone(), &USER), ScimType::Mutability, "{ops}");
    }
    let bad = json!([{"op": "replace", "value": {"id": "g-2", "displayName": "New"}}]);
    assert_eq!(err(&group(), bad, &GROUP), ScimType::Mutability);
}

#[test]
fn echoing_the_own_id_is_accepted() {
    // Okta repeats the group's id inside a rename's value.
    let out = ok(&group(), json!([{"op": "replace", "value": {"id": "g-1", "displayName": "New"}}]), &GROUP);
    assert_eq!((&out["displayName"], &out["id"]), (&json!("New"), &json!("g-1")));
}

#[test]
fn removing_a_read_only_attribute_is_mutability() {
    for path in ["meta", "meta.created", "groups", "groups[value eq \"g\"]", "schemas"] {
        assert_eq!(err(&user(), json!([{"op": "remove", "path": path}]), &USER), ScimType::Mutability, "{path}");
    }
}

#[test]
fn removing_a_required_attribute_is_mutability() {
    for ops in [
        json!([{"op": "remove", "path": "userName"}]),
        json!([{"op": "replace", "path": "userName", "value": null}]),
        json!([{"op": "replace", "value": {"userName": null}}]),
        json!([{"op": "remove", "path": format!("{USER_SCHEMA}:userName")}]),
    ] {
        assert_eq!(err(&user(), ops.clone(), &USER), ScimType::Mutability, "{ops}");
    }
    assert_eq!(err(&group(), json!([{"op": "remove", "path": "displayName"}]), &GROUP), ScimType::Mutability);
}

#[test]
fn member_values_are_immutable() {
    for op in [
        json!({"op": "replace", "path": "members.display", "value": "x"}),
        json!({"op": "replace", "path": "members[value eq \"a\"].value", "value": "z"}),
        json!({"op": "replace", "path": "members[value eq \"a\"]", "value": {"value": "z"}}),
        json!({"op": "add", "path": "members[value eq \"a\"]", "value": {"display": "Z"}}),
        json!({"op": "remove", "path": "members[value eq \"a\"].display"}),
    ] {
        assert_eq!(err(&group(), json!([op.clone()]), &GROUP), ScimType::Mutability, "{op}");
    }
    // Adding and removing whole values is what members are for.
    let out = ok(&group(), json!([{"op": "add", "path": "members", "value": {"value": "c"}}]), &GROUP);
    assert_eq!(out["members"].as_array().unwrap().len(), 3);
}

#[test]
fn paths_must_fit_the_attribute() {
    for (ops, expected) in [
        (json!([{"op": "add", "path": "active.foo", "value": 1}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": "title.foo", "value": 1}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": "userName[value pr]", "value": {}}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "name[givenName pr].givenName", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "value": {"title.x": "y"}}]), ScimType::InvalidPath),
        (json!([{"op": "add", "value": {"bad key": 1}}]), ScimType::InvalidPath),
    ] {
        assert_eq!(err(&user(), ops.clone(), &USER), expected, "{ops}");
    }
}

#[test]
fn values_must_fit_the_attribute() {
    for ops in [
        json!([{"op": "replace", "path": "active", "value": "yes"}]),
        json!([{"op": "replace", "path": "name", "value": "Barbara Jensen"}]),
        json!([{"op": "add", "value": {"name": ["Barbara"]}}]),
        json!([{"op": "add", "path": "emails", "value": "b@example.com"}]),
        json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": "x"}]),
    ] {
        assert_eq!(err(&user(), ops.clone(), &USER), ScimType::InvalidValue, "{ops}");
    }
}

#[test]
fn unknown_attributes_are_kept() {
    // Okta sends custom attributes under the core or enterprise namespace with names of the admin's choosing.
    let ops =
        json!([{"op": "add", "value": {"costCode": "7", format!("{ENTERPRISE_USER_SCHEMA}:startDate"): "2026-01-01"}}]);
    let out = ok(&user(), ops, &USER);
    assert_eq!(out["costCode"], json!("7"));
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["startDate"], json!("2026-01-01"));
}

#[test]
fn adding_an_extension_attribute_lists_its_schema() {
    let path = format!("{ENTERPRISE_USER_SCHEMA}:department");
    let out = ok(&user(), json!([{"op": "add", "path": path, "value": "Eng"}]), &USER);
    assert_eq!(out["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"department": "Eng"}));
}

#[test]
fn removing_the_last_extension_attribute_unlists_its_schema() {
    let path = format!("{ENTERPRISE_USER_SCHEMA}:department");
    let with = ok(&user(), json!([{"op": "add", "path": path, "value": "Eng"}]), &USER);
    let out = ok(&with, json!([{"op": "remove", "path": path}]), &USER);
    assert_eq!(out, user());
    let nulled = ok(&with, json!([{"op": "replace", "value": {path.clone(): null}}]), &USER);
    assert_eq!(nulled, user());
    // Replacing a missing attribute with null leaves no empty extension behind.
    assert_eq!(ok(&user(), json!([{"op": "replace", "path": path, "value": null}]), &USER), user());
}

#[test]
fn primary_true_clears_the_other_values() {
    let added = ok(
        &user(),
        json!([{"op": "add", "path": "emails", "value": {"value": "h@x", "type": "home", "primary": "True"}}]),
        &USER,
    );
    assert_eq!((&added["emails"][0]["primary"], &added["emails"][1]["primary"]), (&json!(false), &json!(true)));
    let filtered =
        ok(&rich_user(), json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]), &USER);
    assert_eq!((&filtered["emails"][0]["primary"], &filtered["emails"][1]["primary"]), (&json!(false), &json!(true)));
    let every = ok(&rich_user(), json!([{"op": "replace", "path": "emails.primary", "value": true}]), &USER);
    assert_eq!((&every["emails"][0]["primary"], &every["emails"][1]["primary"]), (&json!(true), &json!(false)));
    let listed = json!([{"op": "replace", "path": "emails", "value": [
        {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}
    ]}]);
    let listed = ok(&user(), listed, &USER);
    assert_eq!((&listed["emails"][0]["primary"], &listed["emails"][1]["primary"]), (&json!(false), &json!(true)));
}

#[test]
fn operations_apply_in_order() {
    let ops = json!([
        {"op": "add", "path": "title", "value": "Lead"},
        {"op": "replace", "path": "title", "value": "Head"},
        {"op": "remove", "path": "nickName"},
        {"op": "add", "path": "nickName", "value": "Babs"}
    ]);
    let out = ok(&user(), ops, &USER);
    assert_eq!((&out["title"], &out["nickName"]), (&json!("Head"), &json!("Babs")));
}

#[test]
fn a_failing_operation_changes_nothing() {
    let original = user();
    let ops = json!([
        {"op": "replace", "path": "userName", "value": "changed"},
        {"op": "add", "path": "emails", "value": {"value": "h@x"}},
        {"op": "replace", "path": "emails[type eq \"fax\" or value co \"@nowhere\"].value", "value": "x"}
    ]);
    let error = run(&original, ops, &USER).unwrap_err();
    assert_eq!(error.scim_type, ScimType::NoTarget);
    assert!(error.detail.starts_with("operation 3: "));
    assert_eq!(original, user());
    let not_object = apply(&json!([1]), &[], &USER).unwrap_err();
    assert_eq!(not_object.scim_type, ScimType::InvalidSyntax);
}
