//! Malformed, mistyped and hostile `/Groups` input: correct SCIM errors, never a 500, and nothing
//! written: no group, member row or event, and the existing group unchanged.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_scim_error, spawn_app};

#[tokio::test]
async fn hostile_group_input_gets_scim_errors_and_leaves_no_trace() {
    let app = spawn_app().await;
    let (c, other) = (app.connection().await, app.connection().await);
    let alice = app.user(&c, "alice").await;
    let stranger = app.user(&other, "stranger").await;
    let body = json!({ "displayName": "Eng", "members": [{ "value": alice }] });
    let res = app.okta(&c, Method::POST, "/Groups", Some(&body)).await;
    let eng: Value = res.json().await.expect("json");
    let gid = eng["id"].as_str().expect("id").to_owned();
    let body = json!({ "displayName": "Theirs" });
    let theirs: Value = app.okta(&other, Method::POST, "/Groups", Some(&body)).await.json().await.expect("json");
    let theirs = format!("/Groups/{}", theirs["id"].as_str().expect("id"));
    let before = (app.group_count().await, app.member_count().await, app.outbox_len().await);

    let eng_path = format!("/Groups/{gid}");
    let ops = |ops: Value| {
        Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops }).to_string())
    };
    let big = format!(r#"{{"displayName":"{}"}}"#, "a".repeat(70_000));
    // (name, method, path, body, expected status, expected scimType)
    type Case<'a> = (&'a str, Method, String, Option<String>, u16, Option<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"displayName":"#.into()),
            400,
            Some("invalidSyntax"),
        ),
        ("empty body", Method::POST, "/Groups".into(), Some(String::new()), 400, Some("invalidSyntax")),
        ("array body", Method::POST, "/Groups".into(), Some("[]".into()), 400, Some("invalidSyntax")),
        (
            "missing displayName",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"members":[]}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "blank displayName",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"displayName":"  "}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "displayName not a string",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"displayName":42}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "members not an array",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"displayName":"G","members":"x"}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "member without value",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"displayName":"G","members":[{"display":"x"}]}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "member not an id",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"displayName":"G","members":[{"value":"00u1abc"}]}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "unknown member",
            Method::POST,
            "/Groups".into(),
            Some(json!({ "displayName": "G", "members": [{ "value": uuid::Uuid::now_v7() }] }).to_string()),
            400,
            Some("invalidValue"),
        ),
        (
            "other connection's member",
            Method::POST,
            "/Groups".into(),
            Some(json!({ "displayName": "G", "members": [{ "value": stranger }] }).to_string()),
            400,
            Some("invalidValue"),
        ),
        (
            "nested group",
            Method::POST,
            "/Groups".into(),
            Some(json!({ "displayName": "G", "members": [{ "value": gid, "type": "Group" }] }).to_string()),
            400,
            Some("invalidValue"),
        ),
        (
            "duplicate displayName, other case",
            Method::POST,
            "/Groups".into(),
            Some(r#"{"displayName":"ENG"}"#.into()),
            409,
            Some("uniqueness"),
        ),
        ("oversized body", Method::POST, "/Groups".into(), Some(big), 413, None),
        (
            "filter co on a number",
            Method::GET,
            "/Groups?filter=displayName%20co%2042".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "filter on meta.location",
            Method::GET,
            "/Groups?filter=meta.location%20eq%20%22a%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        ("filter malformed", Method::GET, "/Groups?filter=displayName%20eq".into(), None, 400, Some("invalidFilter")),
        ("startIndex not a number", Method::GET, "/Groups?startIndex=one".into(), None, 400, Some("invalidValue")),
        ("invalid id", Method::GET, "/Groups/010101001010101011001010101011".into(), None, 404, None),
        ("unknown id", Method::GET, format!("/Groups/{}", uuid::Uuid::now_v7()), None, 404, None),
        ("a user's id", Method::GET, format!("/Groups/{alice}"), None, 404, None),
        ("other connection's group: get", Method::GET, theirs.clone(), None, 404, None),
        (
            "other connection's group: patch",
            Method::PATCH,
            theirs.clone(),
            ops(json!([{ "op": "remove", "path": "members" }])),
            404,
            None,
        ),
        (
            "other connection's group: put",
            Method::PUT,
            theirs.clone(),
            Some(r#"{"displayName":"Stolen"}"#.into()),
            404,
            None,
        ),
        ("other connection's group: delete", Method::DELETE, theirs.clone(), None, 404, None),
        (
            "patch without operations",
            Method::PATCH,
            eng_path.clone(),
            Some(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#.into()),
            400,
            Some("invalidSyntax"),
        ),
        (
            "patch wrong schemas",
            Method::PATCH,
            eng_path.clone(),
            Some(r#"{"schemas":["urn:x"],"Operations":[{"op":"remove","path":"members"}]}"#.into()),
            400,
            Some("invalidSyntax"),
        ),
        (
            "patch unknown op",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "merge", "path": "members", "value": [] }])),
            400,
            Some("invalidSyntax"),
        ),
        (
            "patch remove without path",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "remove" }])),
            400,
            Some("noTarget"),
        ),
        (
            "patch bad path",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "remove", "path": "members[value eq" }])),
            400,
            Some("invalidPath"),
        ),
        (
            "patch member sub-attribute",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "replace", "path": "members.display", "value": "x" }])),
            400,
            Some("mutability"),
        ),
        (
            "patch add unknown member",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "add", "path": "members", "value": [{ "value": uuid::Uuid::now_v7() }] }])),
            400,
            Some("invalidValue"),
        ),
        (
            "patch add members not objects",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "add", "path": "members", "value": ["x"] }])),
            400,
            Some("invalidValue"),
        ),
        (
            "patch empties displayName",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "replace", "path": "displayName", "value": "" }])),
            400,
            Some("invalidValue"),
        ),
        (
            "patch removes displayName",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "remove", "path": "displayName" }])),
            400,
            Some("mutability"),
        ),
        (
            "patch renames into a taken name",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "replace", "value": { "displayName": "Other" } }])),
            409,
            Some("uniqueness"),
        ),
        (
            "patch changes id",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([{ "op": "replace", "value": { "id": uuid::Uuid::now_v7(), "displayName": "X" } }])),
            400,
            Some("mutability"),
        ),
        (
            "patch atomic: rename and remove, then a bad member",
            Method::PATCH,
            eng_path.clone(),
            ops(json!([
                { "op": "replace", "value": { "displayName": "Renamed" } },
                { "op": "remove", "path": format!("members[value eq \"{alice}\"]") },
                { "op": "add", "path": "members", "value": [{ "value": stranger }] }
            ])),
            400,
            Some("invalidValue"),
        ),
        (
            "put changes id",
            Method::PUT,
            eng_path.clone(),
            Some(json!({ "id": uuid::Uuid::now_v7(), "displayName": "Eng" }).to_string()),
            400,
            Some("mutability"),
        ),
        (
            "put without displayName",
            Method::PUT,
            eng_path.clone(),
            Some(r#"{"members":[]}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "put with another connection's member",
            Method::PUT,
            eng_path.clone(),
            Some(json!({ "displayName": "Eng", "members": [{ "value": stranger }] }).to_string()),
            400,
            Some("invalidValue"),
        ),
    ];
    // "Other" exists, so the rename into it conflicts; it is counted in `before` below.
    let taken = app.okta(&c, Method::POST, "/Groups", Some(&json!({ "displayName": "Other" }))).await;
    assert_eq!(taken.status(), 201);
    let before = (before.0 + 1, before.1, before.2 + 1);
    for (name, method, path, body, status, scim_type) in cases {
        let res = app.send(&c, method, &path, body.as_deref()).await;
        assert_eq!(res.status().as_u16(), status, "{name}");
        assert_scim_error(res, status, scim_type).await;
    }
    let res = app.client.get(format!("{}/Groups", app.base)).header("Authorization", "Bearer wrong").send().await;
    assert_scim_error(res.expect("request"), 401, None).await;

    assert_eq!((app.group_count().await, app.member_count().await, app.outbox_len().await), before);
    let now: Value = app.okta(&c, Method::GET, &eng_path, None).await.json().await.expect("json");
    assert_eq!(now, eng);
    app.shutdown().await;
}
