//! Property tests: the parsers never panic, printing a filter parses back to the same tree, and PATCH application
//! never panics on arbitrary resources and operations.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use uapi_scim::filter::{self, AttrPath, CompareOp, Filter};
use uapi_scim::patch::{self, OpKind, Operation};
use uapi_scim::path;
use uapi_scim::schema::{GROUP, USER};

const NAMES: &[&str] =
    &["userName", "emails", "name.givenName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"];

fn attr_path() -> impl Strategy<Value = AttrPath> {
    prop::sample::select(NAMES).prop_map(|name| match name.rsplit_once(':') {
        Some((urn, attr)) => AttrPath { urn: Some(urn.to_owned()), attr: attr.to_owned(), sub: None },
        None => match name.split_once('.') {
            Some((attr, sub)) => AttrPath { urn: None, attr: attr.to_owned(), sub: Some(sub.to_owned()) },
            None => AttrPath { urn: None, attr: name.to_owned(), sub: None },
        },
    })
}

fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        "[\"\\\\ a\u{e9}\u{1F600}]{0,8}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (attr_path(), compare_op(), literal()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        attr_path().prop_map(Filter::Present),
    ]
}

/// Filters without value paths (what may appear inside `[…]`), depth ≤ `depth`.
fn value_filter(depth: u32) -> BoxedStrategy<Filter> {
    leaf()
        .prop_recursive(depth, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
                (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
        .boxed()
}

fn any_filter() -> impl Strategy<Value = Filter> {
    let value_path =
        (attr_path(), value_filter(2)).prop_map(|(path, inner)| Filter::ValuePath { path, filter: Box::new(inner) });
    prop_oneof![3 => leaf(), 1 => value_path].prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec!["true", "False", "a", "work", "", "x@example.com"]).prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4).prop_map(|entries| Value::Object(Map::from_iter(entries))),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "id",
        "userName",
        "active",
        "name",
        "givenName",
        "emails",
        "members",
        "value",
        "type",
        "primary",
        "meta",
        "schemas",
        "name.givenName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
    ])
    .prop_map(str::to_owned)
}

const PATHS: &[&str] = &[
    "active",
    "active.foo",
    "name",
    "name.givenName",
    "emails",
    "emails.value",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails[type eq \"work\" and primary eq true].primary",
    "emails[value co \"@\" or not (type pr)].type",
    "members",
    "members[value eq \"a\"]",
    "members[value eq \"a\"].display",
    "id",
    "meta.created",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:acme:2.0:User:tier",
];

fn operation() -> impl Strategy<Value = Operation> {
    let kind = prop::sample::select(vec![OpKind::Add, OpKind::Remove, OpKind::Replace]);
    let path = prop::option::of(prop::sample::select(PATHS).prop_map(|p| path::parse(p).unwrap()));
    (kind, path, prop::option::of(json_value())).prop_map(|(op, path, value)| Operation { op, path, value })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic(input in "\\PC{0,200}") {
        let _ = filter::parse(&input);
        let _ = path::parse(&input);
    }

    #[test]
    fn parsers_never_panic_on_grammar_soup(parts in prop::collection::vec(prop::sample::select(vec![
        "(", ")", "[", "]", "\"", "\\", " ", "and", "or", "not", "eq", "pr", "emails", ".value", "urn:a:b", ":", "1",
        "\"x\"", "true", "é", ".",
    ]), 0..40)) {
        let input = parts.concat();
        let _ = filter::parse(&input);
        let _ = path::parse(&input);
    }

    #[test]
    fn printed_filters_parse_back(ast in any_filter()) {
        let printed = ast.to_string();
        prop_assert_eq!(filter::parse(&printed), Ok(ast), "printed as {}", printed);
    }

    #[test]
    fn printed_paths_parse_back(index in 0..PATHS.len()) {
        let parsed = path::parse(PATHS[index]).unwrap();
        prop_assert_eq!(path::parse(&parsed.to_string()), Ok(parsed));
    }

    #[test]
    fn apply_never_panics(resource in json_value(), ops in prop::collection::vec(operation(), 0..4)) {
        let before = resource.clone();
        for schema in [&USER, &GROUP] {
            if let Ok(updated) = patch::apply(&resource, &ops, schema) {
                prop_assert!(updated.is_object());
            }
        }
        prop_assert_eq!(resource, before);
    }

    #[test]
    fn apply_never_panics_on_user_like_resources(
        entries in prop::collection::vec((key(), json_value()), 0..6),
        ops in prop::collection::vec(operation(), 1..4),
    ) {
        let resource = Value::Object(Map::from_iter(entries));
        let _ = patch::apply(&resource, &ops, &USER);
        let _ = patch::apply(&resource, &ops, &GROUP);
    }
}
