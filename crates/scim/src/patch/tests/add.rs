//! RFC 7644 §3.5.2.1: the add operation.

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP, USER};

#[test]
fn add_without_path_needs_an_object() {
    for value in [json!("x"), json!(["title"]), json!(null)] {
        assert_eq!(
            err(&user(), json!([{"op": "add", "value": value.clone()}]), &USER),
            ScimType::InvalidValue,
            "{value}"
        );
    }
}

#[test]
fn add_without_path_merges_attributes_into_the_resource() {
    let out = ok(&user(), json!([{"op": "add", "value": {"nickName": "Babs", "name": {"middleName": "J"}}}]), &USER);
    assert_eq!(out["nickName"], json!("Babs"));
    assert_eq!(out["name"], json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}));
    assert_eq!(out["userName"], user()["userName"]);
}

#[test]
fn add_creates_a_missing_attribute() {
    let bare = json!({"id": "u-2", "userName": "x"});
    let out = ok(&bare, json!([{"op": "add", "path": "name.givenName", "value": "X"}]), &USER);
    assert_eq!(out["name"], json!({"givenName": "X"}));
    let out = ok(&bare, json!([{"op": "add", "path": "emails", "value": {"value": "x@example.com"}}]), &USER);
    assert_eq!(out["emails"], json!([{"value": "x@example.com"}]));
}

#[test]
fn add_to_a_single_valued_attribute_replaces_it() {
    let out = ok(&user(), json!([{"op": "add", "path": "userName", "value": "babs@example.com"}]), &USER);
    assert_eq!(out["userName"], json!("babs@example.com"));
    let out = ok(&user(), json!([{"op": "add", "path": "active", "value": false}]), &USER);
    assert_eq!(out["active"], json!(false));
}

#[test]
fn add_to_a_complex_attribute_merges_sub_attributes() {
    let out = ok(
        &user(),
        json!([{"op": "add", "path": "name", "value": {"familyName": "Smith", "honorificPrefix": "Ms."}}]),
        &USER,
    );
    assert_eq!(out["name"], json!({"givenName": "Barbara", "familyName": "Smith", "honorificPrefix": "Ms."}));
    assert_eq!(err(&user(), json!([{"op": "add", "path": "name", "value": "Babs"}]), &USER), ScimType::InvalidValue);
}

#[test]
fn add_to_a_multi_valued_attribute_appends() {
    let out = ok(&user(), json!([{"op": "add", "path": "emails", "value": {"value": "h@x", "type": "home"}}]), &USER);
    assert_eq!(out["emails"][1], json!({"value": "h@x", "type": "home"}));
    let pathless = ok(&user(), json!([{"op": "add", "value": {"emails": [{"value": "o@x", "type": "other"}]}}]), &USER);
    assert_eq!(pathless["emails"].as_array().unwrap().len(), 2);
    let phones =
        ok(&user(), json!([{"op": "add", "value": {"phoneNumbers": [{"value": "555", "type": "work"}]}}]), &USER);
    assert_eq!(phones["phoneNumbers"], json!([{"value": "555", "type": "work"}]));
    let members = json!([{"op": "add", "path": "members", "value": [{"value": "b", "display": "B"}, {"value": "c"}]}]);
    let out = ok(&group(), members, &GROUP);
    // Members are the same member by `value`: `b` stays once, as it was.
    assert_eq!(out["members"], json!([{"value": "a", "display": "A"}, {"value": "b"}, {"value": "c"}]));
}

#[test]
fn add_of_an_existing_value_changes_nothing() {
    let existing = json!({"value": "bjensen@example.com", "type": "work", "primary": true});
    assert_eq!(ok(&user(), json!([{"op": "add", "path": "emails", "value": [existing]}]), &USER), user());
    assert_eq!(ok(&user(), json!([{"op": "add", "path": "active", "value": true}]), &USER), user());
    assert_eq!(ok(&user(), json!([{"op": "add", "value": {"name": {"givenName": "Barbara"}}}]), &USER), user());
    assert_eq!(ok(&group(), json!([{"op": "add", "path": "members", "value": {"value": "a"}}]), &GROUP), group());
}

#[test]
fn add_of_null_is_invalid_value() {
    assert_eq!(err(&user(), json!([{"op": "add", "path": "title", "value": null}]), &USER), ScimType::InvalidValue);
}

#[test]
fn add_with_a_filter_merges_into_the_matching_values() {
    let out = ok(
        &rich_user(),
        json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
        &USER,
    );
    assert_eq!(out["emails"][1], json!({"value": "babs@jensen.org", "type": "home", "display": "Home"}));
}

#[test]
fn add_to_an_extension() {
    let path = format!("{ENTERPRISE_USER_SCHEMA}:manager.value");
    let out = ok(&user(), json!([{"op": "add", "path": path, "value": "m-1"}]), &USER);
    assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"manager": {"value": "m-1"}}));
    let whole = ok(&out, json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"division": "R&D"}}]), &USER);
    assert_eq!(whole[ENTERPRISE_USER_SCHEMA], json!({"manager": {"value": "m-1"}, "division": "R&D"}));
}
