//! RFC 7644 §3.5.2.2: the remove operation (remove without a path is in `request`, removing read-only or
//! required attributes in `general`).

use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP, USER};

#[test]
fn remove_unassigns_a_single_valued_attribute() {
    let out = ok(&user(), json!([{"op": "remove", "path": "active"}]), &USER);
    assert!(out.get("active").is_none());
    let out = ok(&user(), json!([{"op": "remove", "path": "name"}]), &USER);
    assert!(out.get("name").is_none());
}

#[test]
fn remove_of_an_absent_attribute_changes_nothing() {
    let ops = json!([{"op": "remove", "path": "nickName"}, {"op": "remove", "path": "addresses[type eq \"work\"]"},
                     {"op": "remove", "path": format!("{ENTERPRISE_USER_SCHEMA}:department")}]);
    assert_eq!(ok(&user(), ops, &USER), user());
}

#[test]
fn remove_of_a_multi_valued_attribute_removes_all_values() {
    let out = ok(&rich_user(), json!([{"op": "remove", "path": "emails"}]), &USER);
    assert!(out.get("emails").is_none());
    let all = ok(&group(), json!([{"op": "remove", "path": "members"}]), &GROUP);
    assert!(all.get("members").is_none());
}

#[test]
fn remove_with_a_filter_removes_only_matching_values() {
    let out = ok(&group(), json!([{"op": "remove", "path": "members[value eq \"a\"]"}]), &GROUP);
    assert_eq!(out["members"], json!([{"value": "b"}]));
    let out = ok(
        &rich_user(),
        json!([{"op": "remove", "path": "addresses[type eq \"work\" and locality eq \"Hollywood\"]"}]),
        &USER,
    );
    assert_eq!(
        out["addresses"],
        json!([{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}])
    );
    // Member values are case-exact (RFC 7643 §4.2): `A` is not `a`.
    let upper = ok(&group(), json!([{"op": "remove", "path": "members[value eq \"A\"]"}]), &GROUP);
    assert_eq!(upper["members"], group()["members"]);
}

#[test]
fn remove_of_the_last_values_unassigns_the_attribute() {
    let out = ok(&user(), json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]), &USER);
    assert!(out.get("emails").is_none(), "{out}");
    let out = ok(&group(), json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]), &GROUP);
    assert!(out.get("members").is_none(), "{out}");
}

#[test]
fn remove_with_a_filter_matching_nothing_changes_nothing() {
    // RFC 7644 names no error for this; Okta removes members idempotently.
    let ops = json!([{"op": "remove", "path": "members[value eq \"zz\"]"}]);
    assert_eq!(ok(&group(), ops, &GROUP), group());
    assert_eq!(ok(&user(), json!([{"op": "remove", "path": "emails[type eq \"fax\"]"}]), &USER), user());
}

#[test]
fn remove_of_a_sub_attribute_unassigns_it() {
    let out = ok(&user(), json!([{"op": "remove", "path": "name.givenName"}]), &USER);
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    let out = ok(&out, json!([{"op": "remove", "path": "name.familyName"}]), &USER);
    assert!(out.get("name").is_none(), "a complex attribute without sub-attributes is unassigned: {out}");
    let out = ok(&rich_user(), json!([{"op": "remove", "path": "addresses[type eq \"work\"].streetAddress"}]), &USER);
    assert_eq!(out["addresses"][0], json!({"type": "work", "locality": "Hollywood"}));
    assert_eq!(out["addresses"][1], rich_user()["addresses"][1]);
    let out = ok(&rich_user(), json!([{"op": "remove", "path": "emails.primary"}]), &USER);
    assert!(out["emails"].as_array().unwrap().iter().all(|e| e.get("primary").is_none()));
}

#[test]
fn remove_with_a_value_list_removes_those_values() {
    // Entra names the members to remove in `value`.
    let entra = ok(&group(), json!([{"op": "Remove", "path": "members", "value": [{"value": "b"}]}]), &GROUP);
    assert_eq!(entra["members"], json!([{"value": "a", "display": "A"}]));
}

#[test]
fn remove_of_a_whole_extension() {
    let with = ok(&user(), json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"division": "R&D"}}]), &USER);
    let out = ok(&with, json!([{"op": "remove", "path": ENTERPRISE_USER_SCHEMA.to_uppercase()}]), &USER);
    assert_eq!(out, user());
}
