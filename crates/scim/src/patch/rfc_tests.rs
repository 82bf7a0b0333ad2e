//! RFC 7644 §3.5.2, rule by rule: one test per normative statement about add, remove and replace,
//! named after it, and the deliberate tolerances (docs/scim.md "PATCH: the rules we follow").

use super::tests::{err, group, ok, user};
use crate::error::ScimType;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP, USER};
use serde_json::json;

// §3.5.2.1 add

#[test]
fn add_without_path_merges_the_value_object_into_the_resource() {
    let out = ok(&user(), json!([{"op": "add", "value": {"title": "Eng", "name": {"middleName": "K"}}}]), &USER);
    assert_eq!(out["title"], "Eng");
    assert_eq!(out["name"], json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "K"}));
}

#[test]
fn add_of_a_missing_attribute_adds_it() {
    assert_eq!(ok(&user(), json!([{"op": "add", "path": "nickName", "value": "Babs"}]), &USER)["nickName"], "Babs");
}

#[test]
fn add_of_a_single_valued_attribute_replaces_its_value() {
    assert_eq!(ok(&user(), json!([{"op": "add", "path": "userName", "value": "b2"}]), &USER)["userName"], "b2");
}

#[test]
fn add_to_a_multi_valued_attribute_appends() {
    let added = json!([{"value": "b@home.example", "type": "home"}]);
    let out = ok(&user(), json!([{"op": "add", "path": "emails", "value": added}]), &USER);
    assert_eq!(out["emails"].as_array().map(Vec::len), Some(2));
}

#[test]
fn add_of_a_value_already_there_changes_nothing() {
    // "If the target location already contains the value specified, no changes SHOULD be made."
    let same = json!([{"value": "bjensen@example.com", "type": "work", "primary": true}]);
    assert_eq!(ok(&user(), json!([{"op": "add", "path": "emails", "value": same}]), &USER), user());
    let members = json!([{"value": "a"}]);
    assert_eq!(ok(&group(), json!([{"op": "add", "path": "members", "value": members}]), &GROUP), group());
}

#[test]
fn add_to_a_complex_attribute_sets_its_sub_attributes() {
    let out = ok(&user(), json!([{"op": "add", "path": "name", "value": {"honorificPrefix": "Ms."}}]), &USER);
    assert_eq!(out["name"]["honorificPrefix"], "Ms.");
    assert_eq!(out["name"]["givenName"], "Barbara");
}

#[test]
fn add_without_a_value_is_invalid_value() {
    assert_eq!(err(&user(), json!([{"op": "add", "path": "title"}]), &USER), ScimType::InvalidValue);
}

// §3.5.2.2 remove

#[test]
fn remove_without_path_is_no_target() {
    assert_eq!(err(&user(), json!([{"op": "remove"}]), &USER), ScimType::NoTarget);
}

#[test]
fn remove_of_a_single_valued_attribute_unassigns_it() {
    let out = ok(&user(), json!([{"op": "remove", "path": "name.givenName"}]), &USER);
    assert!(out["name"].get("givenName").is_none());
    assert!(ok(&user(), json!([{"op": "remove", "path": "name"}]), &USER).get("name").is_none());
}

#[test]
fn remove_of_a_multi_valued_attribute_without_filter_removes_every_value() {
    let out = ok(&group(), json!([{"op": "remove", "path": "members"}]), &GROUP);
    assert!(out.get("members").is_none_or(|m| m == &json!([])));
}

#[test]
fn remove_with_a_value_filter_removes_only_the_matching_values() {
    let out = ok(&group(), json!([{"op": "remove", "path": "members[value eq \"a\"]"}]), &GROUP);
    assert_eq!(out["members"], json!([{"value": "b"}]));
}

#[test]
fn remove_of_a_sub_attribute_of_filtered_values() {
    let out = ok(&user(), json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]), &USER);
    assert_eq!(out["emails"], json!([{"value": "bjensen@example.com", "type": "work"}]));
}

#[test]
fn remove_with_a_filter_matching_nothing_succeeds_and_changes_nothing() {
    // Tolerance: Okta removes members it believes are there and retries; an idempotent removal
    // answers 200 rather than noTarget (docs/scim.md).
    assert_eq!(ok(&group(), json!([{"op": "remove", "path": "members[value eq \"zz\"]"}]), &GROUP), group());
}

// §3.5.2.3 replace

#[test]
fn replace_without_path_replaces_each_attribute_named_in_the_value() {
    let out = ok(&user(), json!([{"op": "replace", "value": {"active": false, "name.familyName": "J"}}]), &USER);
    assert_eq!((&out["active"], &out["name"]["familyName"]), (&json!(false), &json!("J")));
    assert_eq!(out["name"]["givenName"], "Barbara");
}

#[test]
fn replace_of_a_missing_attribute_is_an_add() {
    // "If the target location path specifies an attribute that does not exist, the service provider
    // SHALL treat the operation as an add."
    assert_eq!(ok(&user(), json!([{"op": "replace", "path": "title", "value": "Lead"}]), &USER)["title"], "Lead");
}

#[test]
fn replace_of_a_multi_valued_attribute_replaces_all_its_values() {
    let members = json!([{"value": "c"}]);
    let out = ok(&group(), json!([{"op": "replace", "path": "members", "value": members}]), &GROUP);
    assert_eq!(out["members"], json!([{"value": "c"}]));
    assert_eq!(ok(&group(), json!([{"op": "replace", "path": "members", "value": []}]), &GROUP)["members"], json!([]));
}

#[test]
fn replace_of_a_complex_attribute_replaces_the_named_sub_attributes() {
    let out = ok(&user(), json!([{"op": "replace", "path": "name", "value": {"familyName": "Jay"}}]), &USER);
    assert_eq!(out["name"]["familyName"], "Jay");
}

#[test]
fn replace_of_filtered_values_sets_a_sub_attribute_they_lack() {
    let out = ok(&user(), json!([{"op": "replace", "path": "emails[type eq \"work\"].display", "value": "B"}]), &USER);
    assert_eq!(out["emails"][0]["display"], "B");
}

#[test]
fn replace_with_a_filter_matching_nothing_is_no_target() {
    // "... and no record match was made, the service provider SHALL ... noTarget." A filter made of
    // equalities instead creates the value it describes (Okta and Entra set `emails[type eq "work"]`
    // on users without one), which the next test shows.
    let ops = json!([{"op": "replace", "path": "emails[value co \"nomatch\"].type", "value": "x"}]);
    assert_eq!(err(&user(), ops, &USER), ScimType::NoTarget);
}

#[test]
fn replace_with_an_equality_filter_matching_nothing_creates_the_value() {
    let ops = json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "b@home.example"}]);
    let out = ok(&user(), ops, &USER);
    assert_eq!(out["emails"][1], json!({"type": "home", "value": "b@home.example"}));
}

// §3.5.2 general: mutability, paths, extension attributes, atomicity

#[test]
fn changing_or_removing_the_id_is_mutability() {
    assert_eq!(err(&user(), json!([{"op": "replace", "path": "id", "value": "other"}]), &USER), ScimType::Mutability);
    assert_eq!(err(&user(), json!([{"op": "remove", "path": "id"}]), &USER), ScimType::Mutability);
    // Repeating the resource's own id (Okta's rename carries it) is no change.
    assert_eq!(ok(&user(), json!([{"op": "replace", "value": {"id": "u-1"}}]), &USER), user());
}

#[test]
fn a_path_that_is_not_a_path_is_invalid_path() {
    for path in ["emails[", "name..x", "emails[type eq]", "active.foo"] {
        assert_eq!(
            err(&user(), json!([{"op": "add", "path": path, "value": 1}]), &USER),
            ScimType::InvalidPath,
            "{path}"
        );
    }
}

#[test]
fn extension_attributes_are_addressed_by_their_urn() {
    let path = format!("{ENTERPRISE_USER_SCHEMA}:manager.value");
    let out = ok(&user(), json!([{"op": "add", "path": path, "value": "m-1"}]), &USER);
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["manager"]["value"], "m-1");
    let dept = format!("{ENTERPRISE_USER_SCHEMA}:department");
    let out = ok(&out, json!([{"op": "replace", "value": {dept.clone(): "R&D"}}]), &USER);
    assert_eq!(out[ENTERPRISE_USER_SCHEMA]["department"], "R&D");
    let out = ok(&out, json!([{"op": "remove", "path": dept}]), &USER);
    assert!(out[ENTERPRISE_USER_SCHEMA].get("department").is_none());
}

#[test]
fn op_names_are_case_insensitive() {
    for op in ["ADD", "Add", "add"] {
        assert_eq!(ok(&user(), json!([{"op": op, "path": "title", "value": "x"}]), &USER)["title"], "x");
    }
}

#[test]
fn one_failing_operation_fails_the_whole_request() {
    let ops = json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "replace", "path": "id", "value": "y"}]);
    assert_eq!(err(&user(), ops, &USER), ScimType::Mutability);
}
