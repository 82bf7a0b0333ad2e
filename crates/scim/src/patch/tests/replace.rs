//! RFC 7644 §3.5.2.3: the replace operation.

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP, USER};

#[test]
fn replace_without_path_replaces_each_attribute() {
    let out = ok(&user(), json!([{"op": "replace", "value": {"active": false, "emails": [{"value": "n@x"}]}}]), &USER);
    assert_eq!((&out["active"], &out["emails"]), (&json!(false), &json!([{"value": "n@x"}])));
    assert_eq!(out["name"], user()["name"]);
}

#[test]
fn replace_of_a_single_valued_attribute() {
    let out = ok(&user(), json!([{"op": "replace", "path": "userName", "value": "new@example.com"}]), &USER);
    assert_eq!(out["userName"], json!("new@example.com"));
    let out = ok(&group(), json!([{"op": "replace", "path": "displayName", "value": "Platform"}]), &GROUP);
    assert_eq!(out["displayName"], json!("Platform"));
}

#[test]
fn replace_of_a_multi_valued_attribute_swaps_all_values() {
    let out = ok(
        &rich_user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "n@x", "type": "work"}]}]),
        &USER,
    );
    assert_eq!(out["emails"], json!([{"value": "n@x", "type": "work"}]));
    let empty = ok(&group(), json!([{"op": "replace", "path": "members", "value": []}]), &GROUP);
    assert_eq!(empty["members"], json!([]));
    let one = ok(&group(), json!([{"op": "replace", "path": "members", "value": {"value": "c"}}]), &GROUP);
    assert_eq!(one["members"], json!([{"value": "c"}]));
    assert_eq!(
        err(&group(), json!([{"op": "replace", "path": "members", "value": "a"}]), &GROUP),
        ScimType::InvalidValue
    );
}

#[test]
fn replace_of_a_missing_attribute_adds_it() {
    let out = ok(&user(), json!([{"op": "replace", "path": "nickName", "value": "Babs"}]), &USER);
    assert_eq!(out["nickName"], json!("Babs"));
    let out = ok(&user(), json!([{"op": "replace", "path": "phoneNumbers", "value": [{"value": "555"}]}]), &USER);
    assert_eq!(out["phoneNumbers"], json!([{"value": "555"}]));
    let path = format!("{ENTERPRISE_USER_SCHEMA}:department");
    let out = ok(&user(), json!([{"op": "replace", "path": path, "value": "Eng"}]), &USER);
    assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"department": "Eng"}));
}

#[test]
fn replace_of_a_complex_attribute_keeps_other_sub_attributes() {
    let out = ok(&user(), json!([{"op": "replace", "path": "name", "value": {"familyName": "Smith"}}]), &USER);
    assert_eq!(out["name"], json!({"givenName": "Barbara", "familyName": "Smith"}));
    let out = ok(&user(), json!([{"op": "replace", "value": {"name": {"givenName": "Babs"}}}]), &USER);
    assert_eq!(out["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    let out = ok(&user(), json!([{"op": "replace", "path": "name.familyName", "value": "J"}]), &USER);
    assert_eq!(out["name"], json!({"givenName": "Barbara", "familyName": "J"}));
}

#[test]
fn replace_with_a_filter_swaps_the_matching_values() {
    let ops = json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "b@home.example", "type": "home"}}]);
    let out = ok(&rich_user(), ops, &USER);
    assert_eq!(out["emails"][0], rich_user()["emails"][0]);
    assert_eq!(out["emails"][1], json!({"value": "b@home.example", "type": "home"}));
    let swapped =
        json!([{"op": "replace", "path": "addresses[locality eq \"Hollywood\"]", "value": {"country": "US"}}]);
    assert_eq!(ok(&rich_user(), swapped, &USER)["addresses"], json!([{"country": "US"}, {"country": "US"}]));
}

#[test]
fn replace_of_a_filtered_sub_attribute_sets_it_on_every_match() {
    let path = "addresses[locality eq \"Hollywood\"].postalCode";
    let out = ok(&rich_user(), json!([{"op": "replace", "path": path, "value": "91608"}]), &USER);
    assert!(out["addresses"].as_array().unwrap().iter().all(|a| a["postalCode"] == json!("91608")), "{out}");
    let street = "addresses[type eq \"work\"].streetAddress";
    let out = ok(&rich_user(), json!([{"op": "replace", "path": street, "value": "1 Main St"}]), &USER);
    assert_eq!(out["addresses"][0]["streetAddress"], json!("1 Main St"));
    assert_eq!(out["addresses"][1], rich_user()["addresses"][1]);
    let email = "emails[type eq \"work\"].value";
    let out = ok(&user(), json!([{"op": "replace", "path": email, "value": "b@new.example"}]), &USER);
    assert_eq!(out["emails"], json!([{"value": "b@new.example", "type": "work", "primary": true}]));
}

#[test]
fn replace_with_a_filter_matching_nothing_is_no_target() {
    for path in
        ["emails[value co \"@nowhere\"].type", "emails[type eq \"work\" or type eq \"home\"]", "emails[not (type pr)]"]
    {
        let ops = json!([{"op": "replace", "path": path, "value": {"value": "x"}}]);
        assert_eq!(
            err(&json!({"userName": "x", "emails": [{"type": "other", "value": "o@x"}]}), ops, &USER),
            ScimType::NoTarget,
            "{path}"
        );
    }
}

#[test]
fn replace_with_an_equality_filter_matching_nothing_creates_the_value() {
    // Tolerance for Entra and Okta, which replace `emails[type eq "work"].value` on users without a work email.
    let home = "emails[type eq \"home\"].value";
    let out = ok(&user(), json!([{"op": "replace", "path": home, "value": "b@home.example"}]), &USER);
    assert_eq!(out["emails"][1], json!({"type": "home", "value": "b@home.example"}));
    let bare = json!({"id": "u-2", "userName": "x"});
    let work = "emails[type eq \"work\"].value";
    let out = ok(&bare, json!([{"op": "add", "path": work, "value": "x@example.com"}]), &USER);
    assert_eq!(out["emails"], json!([{"type": "work", "value": "x@example.com"}]));
}

#[test]
fn replace_with_null_unassigns() {
    // RFC 7643 §2.5: null and unassigned are the same state.
    let out = ok(&user(), json!([{"op": "replace", "path": "name", "value": null}]), &USER);
    assert!(out.get("name").is_none());
    let out = ok(&user(), json!([{"op": "replace", "value": {"name": {"givenName": null}}}]), &USER);
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    let filtered = "emails[type eq \"work\"]";
    assert_eq!(
        err(&user(), json!([{"op": "replace", "path": filtered, "value": null}]), &USER),
        ScimType::InvalidValue
    );
}

#[test]
fn replace_of_a_whole_extension_swaps_it() {
    let added =
        ok(&user(), json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"employeeNumber": "7"}}]), &USER);
    assert_eq!(added["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert!(added.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0").is_none());
    let replaced =
        ok(&added, json!([{"op": "Replace", "path": ENTERPRISE_USER_SCHEMA, "value": {"costCenter": "42"}}]), &USER);
    assert_eq!(replaced[ENTERPRISE_USER_SCHEMA], json!({"costCenter": "42"}));
    let emptied = ok(&added, json!([{"op": "replace", "path": ENTERPRISE_USER_SCHEMA, "value": {}}]), &USER);
    assert_eq!(emptied, user());
}
