#![allow(clippy::unwrap_used)]

use super::*;
use crate::filter::parse;
use crate::schema::{GROUP, USER};
use serde_json::json;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "AbC-1",
        "userName": "bjensen",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "title": "",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "meta": {"lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "m-1"}},
        "loginCount": 7
    })
}

fn check(filter: &str) -> bool {
    matches(&parse(filter).unwrap(), &user(), &USER)
}

#[test]
fn user_name_is_case_insensitive() {
    assert!(check(r#"userName eq "BJENSEN""#));
    assert!(check(r#"USERNAME eq "bjensen""#));
    assert!(check(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "BJ""#));
    assert!(!check(r#"userName eq "bjensen2""#));
}

#[test]
fn external_id_and_id_are_case_exact() {
    assert!(check(r#"externalId eq "AbC-1""#));
    assert!(!check(r#"externalId eq "abc-1""#));
    assert!(!check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
}

#[test]
fn multi_valued_any_match() {
    assert!(check(r#"emails.value eq "BABS@jensen.org""#));
    assert!(check(r#"emails co "example.com""#));
    assert!(check(r#"emails.type eq "home""#));
    assert!(!check(r#"emails.value co "example.net""#));
    assert!(check(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#));
}

#[test]
fn value_paths() {
    assert!(check(r#"emails[type eq "work" and value co "@example.com"]"#));
    assert!(!check(r#"emails[type eq "home" and value co "@example.com"]"#));
    assert!(check(r#"userType eq "Employee" and emails[TYPE eq "WORK"]"#));
    assert!(!check(r#"ims[type eq "xmpp"]"#));
    assert!(check(r#"emails[not (type eq "work")]"#));
}

#[test]
fn presence() {
    assert!(!check("title pr"));
    assert!(check("name pr"));
    assert!(check("emails pr"));
    assert!(!check("nickName pr"));
    assert!(check("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"));
}

#[test]
fn ne_and_null() {
    assert!(check(r#"nickName ne "x""#));
    assert!(check(r#"userType ne "Intern""#));
    assert!(!check(r#"userType ne "employee""#));
    assert!(check("nickName eq null"));
    assert!(!check("userName eq null"));
    assert!(check("userName ne null"));
}

#[test]
fn ordering_and_types() {
    assert!(check(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
    assert!(check(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
    assert!(!check(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#));
    assert!(check("loginCount gt 6"));
    assert!(check("loginCount le 7.0"));
    assert!(!check("loginCount eq \"7\""));
    assert!(check("active eq true"));
    assert!(check("active ne false"));
    assert!(!check("active gt false"));
    assert!(!check(r#"name co "x""#));
}

#[test]
fn rfc_compound_examples() {
    assert!(check(r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#));
    assert!(!check(r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#));
    assert!(check(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#));
    assert!(check(r#"name.familyName co "o'malley""#));
}

#[test]
fn group_member_values_are_case_exact() {
    let group = json!({"displayName": "Eng", "members": [{"value": "AbC"}]});
    assert!(matches(&parse(r#"members[value eq "AbC"]"#).unwrap(), &group, &GROUP));
    assert!(!matches(&parse(r#"members[value eq "abc"]"#).unwrap(), &group, &GROUP));
    assert!(!matches(&parse(r#"members.value eq "abc""#).unwrap(), &group, &GROUP));
    assert!(matches(&parse(r#"displayName eq "eng""#).unwrap(), &group, &GROUP));
}

#[test]
fn non_object_resources_never_match() {
    let filter = parse(r#"userName eq "x""#).unwrap();
    assert!(!matches(&filter, &json!("x"), &USER));
    assert!(!matches(&filter, &json!([{"userName": "x"}]), &USER));
}
