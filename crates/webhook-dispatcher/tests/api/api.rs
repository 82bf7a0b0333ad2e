//! The subscriptions API: CRUD, tenancy, input validation and the SSRF guard.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn subscriptions_round_trip_through_the_api() {
    let app = spawn_app().await;
    let token = app.token(Uuid::now_v7());
    let created =
        app.create_webhook(&token, "http://127.0.0.1:9/hook", &["employee.created", "employee.updated"]).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let secret = created["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_"));
    let key = uapi_webhook_dispatcher::signature::key_of(secret).expect("base64");
    assert!((24..=32).contains(&key.len()));
    assert_eq!(created["unifiedApi"], "HRIS");
    assert_eq!(created["status"], "Enabled");
    assert_eq!(created["events"], json!(["employee.created", "employee.updated"]));
    assert_eq!(created["disabledReason"], Value::Null);

    let got: Value = app.get(&format!("/api/webhooks/{id}"), &token).await.json().await.expect("json");
    assert_eq!(got["deliveryUrl"], "http://127.0.0.1:9/hook");
    assert!(got.get("secret").is_none(), "the secret is shown only at creation and rotation");

    let second = app.create_webhook(&token, "http://127.0.0.1:9/other", &["*"]).await;
    let page: Value = app.get("/api/webhooks?limit=1", &token).await.json().await.expect("json");
    assert_eq!(page["meta"]["itemsOnPage"], 1);
    assert_eq!(page["data"][0]["id"], id.as_str());
    let next = page["meta"]["next"].as_str().expect("next page");
    let page2: Value =
        app.get(&format!("/api/webhooks?limit=1&cursor={next}"), &token).await.json().await.expect("json");
    assert_eq!(page2["data"][0]["id"], second["id"]);
    assert_eq!(page2["meta"]["next"], Value::Null);

    let patched =
        app.send(Method::PATCH, &format!("/api/webhooks/{id}"), &token, Some(&json!({ "status": "Disabled" }))).await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.expect("json");
    assert_eq!(patched["status"], "Disabled");
    assert!(patched["disabledReason"].is_string() && patched["disabledAt"].is_string());
    let enabled: Value = app
        .send(
            Method::PATCH,
            &format!("/api/webhooks/{id}"),
            &token,
            Some(&json!({ "status": "Enabled", "events": ["*"], "deliveryUrl": "http://127.0.0.1:10/x" })),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(enabled["status"], "Enabled");
    assert_eq!(enabled["disabledReason"], Value::Null);
    assert_eq!(enabled["disabledAt"], Value::Null);
    assert_eq!(enabled["events"], json!(["*"]));
    assert_eq!(enabled["deliveryUrl"], "http://127.0.0.1:10/x");

    let rotated: Value =
        app.post(&format!("/api/webhooks/{id}/rotate-secret"), &token, &json!({})).await.json().await.expect("json");
    assert!(rotated["secret"].as_str().is_some_and(|s| s.starts_with("whsec_") && s != secret));

    assert_eq!(app.send(Method::DELETE, &format!("/api/webhooks/{id}"), &token, None).await.status(), 204);
    assert_problem(app.get(&format!("/api/webhooks/{id}"), &token).await, 404).await;
    app.shutdown().await;
}

#[tokio::test]
async fn another_applications_webhooks_are_not_found() {
    let app = spawn_app().await;
    let (mine, theirs) = (app.token(Uuid::now_v7()), app.token(Uuid::now_v7()));
    let id = app.create_webhook(&mine, "http://127.0.0.1:9/hook", &["*"]).await["id"].as_str().expect("id").to_owned();
    let delivery = Uuid::now_v7();
    for (method, path, body) in [
        (Method::GET, format!("/api/webhooks/{id}"), None),
        (Method::PATCH, format!("/api/webhooks/{id}"), Some(json!({ "status": "Disabled" }))),
        (Method::DELETE, format!("/api/webhooks/{id}"), None),
        (Method::POST, format!("/api/webhooks/{id}/rotate-secret"), Some(json!({}))),
        (Method::POST, format!("/api/webhooks/{id}/test"), Some(json!({}))),
        (Method::GET, format!("/api/webhooks/{id}/deliveries"), None),
        (Method::POST, format!("/api/webhooks/{id}/deliveries/{delivery}/retry"), Some(json!({}))),
        (Method::POST, format!("/api/webhooks/{id}/recover"), Some(json!({ "since": "2026-01-01T00:00:00Z" }))),
    ] {
        assert_problem(app.send(method, &path, &theirs, body.as_ref()).await, 404).await;
    }
    let list: Value = app.get("/api/webhooks", &theirs).await.json().await.expect("json");
    assert_eq!(list["data"], json!([]));
    // Still there for its owner.
    assert_eq!(app.get(&format!("/api/webhooks/{id}"), &mine).await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_a_problem_never_a_500() {
    let app = spawn_app().await;
    let app_id = Uuid::now_v7();
    let token = app.token(app_id);
    let id = app.create_webhook(&token, "http://127.0.0.1:9/hook", &["*"]).await["id"].as_str().expect("id").to_owned();
    let ok_url = "http://127.0.0.1:9/hook";
    let cases: Vec<(Method, String, Option<Value>, u16)> = vec![
        (Method::POST, "/api/webhooks".into(), Some(json!({ "events": ["*"] })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": "not a url", "events": ["*"] })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": "ftp://x.example/h" })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": "http://u:p@127.0.0.1/h" })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": ok_url, "events": [] })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": ok_url, "events": ["user.created"] })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": ok_url, "events": "*" })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": ok_url, "status": "On" })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": ok_url, "unifiedApi": "ATS" })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": ok_url, "colour": "red" })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": 7 })), 422),
        (Method::POST, "/api/webhooks".into(), Some(json!([1, 2])), 422),
        (
            Method::POST,
            "/api/webhooks".into(),
            Some(json!({ "deliveryUrl": format!("http://h.example/{}", "a".repeat(3000)) })),
            422,
        ),
        (Method::POST, "/api/webhooks".into(), Some(json!({ "deliveryUrl": "http://no-such-host.invalid/h" })), 422),
        (Method::PATCH, format!("/api/webhooks/{id}"), Some(json!({ "status": "Paused" })), 422),
        (Method::PATCH, format!("/api/webhooks/{id}"), Some(json!({ "events": ["employee.renamed"] })), 422),
        (Method::PATCH, format!("/api/webhooks/{id}"), Some(json!({ "deliveryUrl": "gopher://x" })), 422),
        (Method::PATCH, format!("/api/webhooks/{id}"), Some(json!({ "secret": "mine" })), 422),
        (Method::GET, "/api/webhooks?limit=0".into(), None, 400),
        (Method::GET, "/api/webhooks?cursor=%21%21".into(), None, 400),
        (Method::GET, format!("/api/webhooks/{id}/deliveries?status=lost"), None, 400),
        (Method::GET, format!("/api/webhooks/{id}/deliveries?limit=999"), None, 400),
        (Method::POST, format!("/api/webhooks/{id}/recover"), Some(json!({ "since": "yesterday" })), 422),
        (Method::POST, format!("/api/webhooks/{id}/recover"), Some(json!({})), 422),
        (Method::POST, format!("/api/webhooks/{id}/deliveries/not-a-uuid/retry"), Some(json!({})), 404),
        (Method::POST, format!("/api/webhooks/{id}/deliveries/{}/retry", Uuid::now_v7()), Some(json!({})), 404),
        (Method::GET, "/api/webhooks/not-a-uuid".into(), None, 404),
    ];
    for (method, path, body, status) in cases {
        let res = app.send(method.clone(), &path, &token, body.as_ref()).await;
        assert_eq!(res.status().as_u16(), status, "{method} {path} {body:?}");
        assert_problem(res, status).await;
    }
    // Malformed JSON, and no or the wrong kind of token.
    let raw = app
        .client
        .post(app.url("/api/webhooks"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"deliveryUrl\":")
        .send()
        .await
        .expect("request");
    assert_problem(raw, 400).await;
    assert_problem(app.client.get(app.url("/api/webhooks")).send().await.expect("request"), 401).await;
    assert_problem(app.get("/api/webhooks", &app.consumer_token(app_id)).await, 403).await;
    app.shutdown().await;
}

#[tokio::test]
async fn internal_targets_are_refused_unless_private_targets_are_allowed() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "false")]).await;
    let token = app.token(Uuid::now_v7());
    let ok = app.post("/api/webhooks", &token, &json!({ "deliveryUrl": "http://93.184.215.14/hook" })).await;
    assert_eq!(ok.status(), 201, "a public address is accepted");
    let id = ok.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let patched = app
        .send(
            Method::PATCH,
            &format!("/api/webhooks/{id}"),
            &token,
            Some(&json!({ "deliveryUrl": "http://10.0.0.1/" })),
        )
        .await;
    assert_problem(patched, 422).await;
    for url in [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
        "http://localhost./hook",
        "https://vm:8443/hook",
    ] {
        let res = app.post("/api/webhooks", &token, &json!({ "deliveryUrl": url, "events": ["*"] })).await;
        let body = assert_problem(res, 422).await;
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("internal")), "{url}: {body}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn allowed_cidrs_open_a_private_network_only() {
    let app = spawn_app_with(&[
        ("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "false"),
        ("UAPI_WEBHOOKS__ALLOWED_CIDRS", "10.1.2.0/24"),
    ])
    .await;
    let token = app.token(Uuid::now_v7());
    let ok = app.post("/api/webhooks", &token, &json!({ "deliveryUrl": "http://10.1.2.3/h" })).await;
    assert_eq!(ok.status(), 201);
    let no = app.post("/api/webhooks", &token, &json!({ "deliveryUrl": "http://10.1.3.3/h" })).await;
    assert_problem(no, 422).await;
    app.shutdown().await;
}

/// The guard runs again at every connect: a worker that refuses private targets never reaches a
/// loopback receiver, whether the URL names an address or a host name resolving to one (as a
/// DNS rebinding would), even though the subscription was accepted when it was created.
#[tokio::test]
async fn the_guard_runs_again_at_connect_time() {
    use std::time::Duration;
    let mut app = spawn_app_with(&[("UAPI_DISPATCHER__ROLE", "api")]).await;
    app.spawn_sibling(&[("UAPI_DISPATCHER__ROLE", "worker"), ("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "false")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = crate::receiver::Receiver::always(200);
    let by_name = rx.url.replace("127.0.0.1", "localhost");
    let literal = app.create_webhook(&token, &rx.url, &["*"]).await;
    let named = app.create_webhook(&token, &by_name, &["*"]).await;
    app.publish(&crate::helpers::employee_event(application, "emp-1", 1, "employee.created")).await;
    for hook in [&literal, &named] {
        let id = hook["id"].as_str().expect("id");
        let log = app
            .wait_deliveries(&token, id, Duration::from_secs(15), |d| {
                d.first().is_some_and(|d| d["attemptCount"].as_i64() >= Some(1))
            })
            .await;
        let error = log[0]["attempts"][0]["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains("internal address"), "{error}");
        assert_eq!(log[0]["attempts"][0]["statusCode"], Value::Null);
    }
    assert!(rx.hits().is_empty(), "the receiver was reached");
    app.shutdown().await;
}
