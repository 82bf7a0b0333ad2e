//! Malformed, mistyped, oversized and hostile SCIM input: correct SCIM errors, never a 500 or a
//! panic, and no stray rows or events.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_scim_error, spawn_app};

#[tokio::test]
async fn hostile_input_gets_scim_errors_and_leaves_no_trace() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let other = app.connection().await;
    // One legitimate user of each connection.
    let res = app.send(&c, Method::POST, "/Users", Some(r#"{"userName":"alice@example.com"}"#)).await;
    assert_eq!(res.status(), 201);
    let alice: serde_json::Value = res.json().await.expect("json");
    let alice_id = alice["id"].as_str().expect("id").to_owned();
    let res = app.send(&other, Method::POST, "/Users", Some(r#"{"userName":"bob@example.com"}"#)).await;
    let bob_id = res.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let (users_before, events_before) = (app.user_count().await, app.outbox_len().await);

    let big = format!(r#"{{"userName":"x","title":"{}"}}"#, "a".repeat(70_000));
    let alice_path = format!("/Users/{alice_id}");
    let bob_path = format!("/Users/{bob_id}");
    // (name, method, path, body, expected status, expected scimType)
    type Case<'a> = (&'a str, Method, String, Option<String>, u16, Option<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        ("malformed JSON", Method::POST, "/Users".into(), Some("{\"userName\":".into()), 400, Some("invalidSyntax")),
        ("empty body", Method::POST, "/Users".into(), Some("".into()), 400, Some("invalidSyntax")),
        ("array body", Method::POST, "/Users".into(), Some("[]".into()), 400, Some("invalidSyntax")),
        ("missing userName", Method::POST, "/Users".into(), Some("{\"name\":{}}".into()), 400, Some("invalidValue")),
        (
            "userName wrong type",
            Method::POST,
            "/Users".into(),
            Some("{\"userName\":42}".into()),
            400,
            Some("invalidValue"),
        ),
        (
            "active maybe",
            Method::POST,
            "/Users".into(),
            Some("{\"userName\":\"m\",\"active\":\"maybe\"}".into()),
            400,
            Some("invalidValue"),
        ),
        (
            "emails not array",
            Method::POST,
            "/Users".into(),
            Some("{\"userName\":\"m\",\"emails\":\"a@b\"}".into()),
            400,
            Some("invalidValue"),
        ),
        ("oversized body", Method::POST, "/Users".into(), Some(big), 413, None),
        (
            "duplicate userName, other case",
            Method::POST,
            "/Users".into(),
            Some("{\"userName\":\"ALICE@example.com\"}".into()),
            409,
            Some("uniqueness"),
        ),
        ("filter without value", Method::GET, "/Users?filter=userName%20eq".into(), None, 400, Some("invalidFilter")),
        (
            "filter bare word",
            Method::GET,
            "/Users?filter=RUNSCOPE123ABC@ATKO.COM".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "filter unbalanced",
            Method::GET,
            "/Users?filter=(userName%20eq%20%22a%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "filter injection",
            Method::GET,
            "/Users?filter=userName%20eq%20%22x%22)%3B%20DROP%20TABLE%20users%3B--".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "filter ordering a boolean",
            Method::GET,
            "/Users?filter=active%20gt%20true".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        ("count not a number", Method::GET, "/Users?count=ten".into(), None, 400, Some("invalidValue")),
        ("unknown id", Method::GET, format!("/Users/{}", uuid::Uuid::now_v7()), None, 404, None),
        ("invalid id", Method::GET, "/Users/010101001010101011001010101011".into(), None, 404, None),
        ("path traversal id", Method::GET, "/Users/..%2F..%2Fetc%2Fpasswd".into(), None, 404, None),
        ("other connection's id: get", Method::GET, bob_path.clone(), None, 404, None),
        (
            "other connection's id: put",
            Method::PUT,
            bob_path.clone(),
            Some("{\"userName\":\"stolen\"}".into()),
            404,
            None,
        ),
        (
            "other connection's id: patch",
            Method::PATCH,
            bob_path.clone(),
            Some(r#"{"Operations":[{"op":"replace","value":{"active":false}}]}"#.into()),
            404,
            None,
        ),
        ("other connection's id: delete", Method::DELETE, bob_path.clone(), None, 404, None),
        (
            "patch without operations",
            Method::PATCH,
            alice_path.clone(),
            Some(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#.into()),
            400,
            Some("invalidSyntax"),
        ),
        (
            "patch unknown op",
            Method::PATCH,
            alice_path.clone(),
            Some(r#"{"Operations":[{"op":"explode","path":"active"}]}"#.into()),
            400,
            Some("invalidSyntax"),
        ),
        (
            "patch bad path",
            Method::PATCH,
            alice_path.clone(),
            Some(r#"{"Operations":[{"op":"replace","path":"emails[type eq","value":"x"}]}"#.into()),
            400,
            Some("invalidPath"),
        ),
        (
            "patch remove without path",
            Method::PATCH,
            alice_path.clone(),
            Some(r#"{"Operations":[{"op":"remove"}]}"#.into()),
            400,
            Some("noTarget"),
        ),
        (
            "patch bad active",
            Method::PATCH,
            alice_path.clone(),
            Some(r#"{"Operations":[{"op":"replace","path":"active","value":"perhaps"}]}"#.into()),
            400,
            Some("invalidValue"),
        ),
        (
            "patch atomic: 2nd op fails",
            Method::PATCH,
            alice_path.clone(),
            Some(r#"{"Operations":[{"op":"replace","value":{"title":"Changed"}},{"op":"remove"}]}"#.into()),
            400,
            Some("noTarget"),
        ),
        (
            "put changes id",
            Method::PUT,
            alice_path.clone(),
            Some(format!(r#"{{"id":"{}","userName":"alice@example.com"}}"#, uuid::Uuid::now_v7())),
            400,
            Some("mutability"),
        ),
        (
            "put empties userName",
            Method::PUT,
            alice_path.clone(),
            Some(r#"{"userName":""}"#.into()),
            400,
            Some("invalidValue"),
        ),
        ("discovery write", Method::POST, "/ServiceProviderConfig".into(), Some("{}".into()), 405, None),
        ("unknown endpoint", Method::GET, "/Widgets".into(), None, 404, None),
    ];
    for (name, method, path, body, status, scim_type) in cases {
        let res = app.send(&c, method, &path, body.as_deref()).await;
        assert_eq!(res.status().as_u16(), status, "{name}");
        assert_scim_error(res, status, scim_type).await;
    }

    // Unauthenticated and wrongly authenticated calls.
    for header in [None, Some("non-token"), Some("Bearer wrong"), Some("Basic dXNlcjpwYXNz")] {
        let mut req = app.client.get(format!("{}/Users?filter=userName%20eq%20%22alice%40example.com%22", app.base));
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        assert_scim_error(req.send().await.expect("request"), 401, None).await;
    }

    // Nothing was written: same users, same events, alice untouched.
    assert_eq!((app.user_count().await, app.outbox_len().await), (users_before, events_before));
    let res = app.send(&c, Method::GET, &alice_path, None).await;
    assert_eq!(res.json::<serde_json::Value>().await.expect("json"), alice);
    assert!(json!(alice).get("title").is_none());
    app.shutdown().await;
}
