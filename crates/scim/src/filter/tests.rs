#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

fn attr(name: &str) -> AttrPath {
    parse_attr_path(name).unwrap()
}

fn cmp(name: &str, op: CompareOp, value: serde_json::Value) -> Filter {
    Filter::Compare { path: attr(name), op, value }
}

fn roundtrips(input: &str) -> Filter {
    let filter = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(parse(&filter.to_string()).unwrap(), filter, "{input} printed as {filter}");
    filter
}

#[test]
fn rfc_examples_parse_and_roundtrip() {
    let examples = [
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        r#"userName eq "test.user@okta.local""#,
        r#"members.$ref pr"#,
    ];
    for example in examples {
        roundtrips(example);
    }
}

#[test]
fn builds_expected_trees() {
    assert_eq!(roundtrips(r#"userName eq "bjensen""#), cmp("userName", CompareOp::Eq, json!("bjensen")));
    let urn = roundtrips(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#);
    let Filter::Compare { path, .. } = urn else { panic!("expected a comparison") };
    assert_eq!(path.urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    assert_eq!((path.attr.as_str(), path.sub.as_deref()), ("manager", Some("value")));
    let a = Filter::Present(attr("a"));
    let b = Filter::Present(attr("b"));
    let c = Filter::Present(attr("c"));
    let and = |l: &Filter, r: &Filter| Filter::And(Box::new(l.clone()), Box::new(r.clone()));
    let or = |l: &Filter, r: &Filter| Filter::Or(Box::new(l.clone()), Box::new(r.clone()));
    assert_eq!(roundtrips("a pr or b pr and c pr"), or(&a, &and(&b, &c)));
    assert_eq!(roundtrips("(a pr or b pr) and c pr"), and(&or(&a, &b), &c));
    assert_eq!(roundtrips("a pr and b pr and c pr"), and(&and(&a, &b), &c));
    assert_eq!(roundtrips("a pr and (b pr and c pr)"), and(&a, &and(&b, &c)));
    assert_eq!(roundtrips("not (a pr)"), Filter::Not(Box::new(a.clone())));
}

#[test]
fn operators_and_keywords_are_case_insensitive() {
    assert_eq!(roundtrips(r#"username EQ "x""#), cmp("username", CompareOp::Eq, json!("x")));
    let filter = roundtrips(r#"title PR AND NOT (userType Eq "a") OR active eq TRUE"#);
    assert_eq!(filter.to_string(), r#"title pr and not (userType eq "a") or active eq true"#);
}

#[test]
fn literals() {
    assert_eq!(
        roundtrips(r#"name.familyName eq "a \"b\" \\ \u00e9""#),
        cmp("name.familyName", CompareOp::Eq, json!("a \"b\" \\ é"))
    );
    assert_eq!(roundtrips("age gt 42"), cmp("age", CompareOp::Gt, json!(42)));
    assert_eq!(roundtrips("age lt -1.5"), cmp("age", CompareOp::Lt, json!(-1.5)));
    assert_eq!(roundtrips("active eq false"), cmp("active", CompareOp::Eq, json!(false)));
    assert_eq!(roundtrips("manager eq null"), cmp("manager", CompareOp::Eq, json!(null)));
}

#[test]
fn lenient_whitespace() {
    let filter = roundtrips("  userName   eq    \"x\"  and ( title pr )  ");
    assert_eq!(filter.to_string(), r#"userName eq "x" and title pr"#);
}

#[test]
fn malformed_filters_are_errors() {
    let bad = [
        "",
        "   ",
        "RUNSCOPE123ABC@ATKO.COM",
        "userName eq",
        r#"userName eq "x" and"#,
        r#"userName eq "x")"#,
        r#"(userName eq "x""#,
        r#"userName foo "x""#,
        r#"userName eq bjensen"#,
        r#"emails[type eq "work"].value eq "x""#,
        r#"emails[type eq "work""#,
        r#"emails[phones[type eq "x"]]"#,
        r#"1userName eq "x""#,
        r#"name..familyName eq "x""#,
        r#"name.a.b eq "x""#,
        r#"urn:eq "x""#,
        r#"userName eq "x" "y""#,
        "not title pr",
        "title pr not",
        r#"userName eq "unterminated"#,
    ];
    for input in bad {
        let err = parse(input).expect_err(input);
        assert_eq!(err.scim_type, ScimType::InvalidFilter);
        assert!(!err.detail.is_empty());
    }
}

#[test]
fn error_details_name_the_token() {
    let err = parse(r#"userName eq "x")"#).unwrap_err();
    assert_eq!(err.detail, "unexpected token `)` at position 15");
    assert_eq!(parse("userName eq").unwrap_err().detail, "expected a value after `userName eq`");
}

#[test]
fn nesting_and_length_limits() {
    let ok = format!("{}a pr{}", "(".repeat(parser::MAX_DEPTH), ")".repeat(parser::MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let deep = format!("{}a pr{}", "(".repeat(parser::MAX_DEPTH + 1), ")".repeat(parser::MAX_DEPTH + 1));
    assert!(parse(&deep).unwrap_err().detail.contains("maximum depth"));
    let nots = format!("{}a pr{}", "not (".repeat(10_000), ")".repeat(10_000));
    assert_eq!(parse(&nots).unwrap_err().scim_type, ScimType::InvalidFilter);
    let long = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
    assert!(parse(&long).unwrap_err().detail.contains("longer than"));
}

#[test]
fn long_flat_chains_parse_print_and_evaluate_up_to_the_limit() {
    let chain = vec!["a pr"; super::lexer::MAX_LOGICAL + 1].join(" or ");
    let filter = roundtrips(&chain);
    let resource = json!({"b": 1});
    assert!(!crate::eval::matches(&filter, &resource, &crate::schema::USER));
    // Longer chains are refused before any recursive walk of their tree (SQL, evaluation).
    let longer = vec!["a pr"; MAX_LEN / 8].join(" or ");
    assert!(longer.len() <= MAX_LEN);
    assert_eq!(parse(&longer).unwrap_err().scim_type, ScimType::InvalidFilter);
}
