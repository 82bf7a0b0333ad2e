//! Authentication: API keys, access tokens and tenant isolation.

use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn admin_api_rejects_missing_or_wrong_token() {
    let app = spawn_app().await;
    let body = json!({ "name": "Acme" });
    assert_problem(app.post("/admin/applications", "wrong-token-wrong-token-wrong", &body).await, 401).await;
    let res = app.client.post(app.url("/admin/applications")).json(&body).send().await.expect("request");
    assert_eq!(res.headers().get("www-authenticate").map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
    assert_problem(res, 401).await;
    assert_eq!(app.post("/admin/applications", ADMIN_TOKEN, &body).await.status(), 201);
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn wrong_api_key_or_unknown_ids_get_the_same_401() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let (other_app, other_key) = app.create_application("Other").await;
    for body in [
        json!({ "apiKey": "uapi_sk_wrong", "applicationId": t.application_id, "scope": "application" }),
        json!({ "apiKey": other_key, "applicationId": t.application_id, "scope": "application" }),
        json!({ "apiKey": t.api_key, "applicationId": other_app, "scope": "application" }),
        json!({ "apiKey": t.api_key, "applicationId": uuid::Uuid::now_v7(), "scope": "application" }),
        json!({ "apiKey": other_key, "consumerId": t.consumer_id, "scope": "consumer" }),
        json!({ "apiKey": t.api_key, "consumerId": uuid::Uuid::now_v7(), "scope": "consumer" }),
    ] {
        let problem = assert_problem(app.auth(body.clone()).await, 401).await;
        assert_eq!(problem["detail"], "invalid credentials", "{body}");
    }
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn tampered_garbage_and_foreign_tokens_are_401() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let mut parts: Vec<&str> = t.app_token.split('.').collect();
    let consumer_payload = t.consumer_token.split('.').nth(1).expect("payload");
    parts[1] = consumer_payload;
    let tampered = parts.join(".");
    // A token signed by another key pair (another deployment) must not work here either.
    let other = spawn_app().await;
    let foreign = other.tenant("Other").await.app_token;
    for token in [tampered.as_str(), "garbage", "a.b.c", foreign.as_str()] {
        assert_problem(app.get("/api/consumers", token).await, 401).await;
    }
    let res = app.client.get(app.url("/api/consumers")).send().await.expect("request");
    assert_problem(res, 401).await;
    other.shutdown(&[]).await;
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn expired_token_is_401() {
    let app = spawn_app_with(&[("UAPI_AUTH__TOKEN_TTL_SECS", "1")]).await;
    let t = app.tenant("Acme").await;
    assert_eq!(app.get("/api/consumers", &t.app_token).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let problem = assert_problem(app.get("/api/consumers", &t.app_token).await, 401).await;
    assert_eq!(problem["detail"], "access token expired");
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn scopes_are_enforced() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    assert_problem(app.get("/api/consumers", &t.consumer_token).await, 403).await;
    assert_problem(app.get("/api/connections", &t.app_token).await, 403).await;
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let app = spawn_app().await;
    let a = app.tenant("Acme").await;
    let b = app.tenant("Globex").await;
    // A second consumer of the same application is isolated at consumer scope too.
    let a2_id = app.create_consumer(&a.app_token, "Acme second").await;
    let a2_token = app.consumer_token(&a2_id, &a.api_key).await;

    let res = app.post("/api/connections", &a.consumer_token, &json!({ "serviceId": "okta-scim" })).await;
    assert_eq!(res.status(), 201);
    let conn: serde_json::Value = res.json().await.expect("json");
    let conn_id = conn["id"].as_str().expect("id");

    for (token, path) in [
        (&a2_token, format!("/api/connections/{conn_id}")),
        (&b.consumer_token, format!("/api/connections/{conn_id}")),
        (&b.app_token, format!("/api/consumers/{}", a.consumer_id)),
    ] {
        let problem = assert_problem(app.get(&path, token).await, 404).await;
        assert!(!problem.to_string().contains("apiToken"));
    }
    assert_problem(app.post(&format!("/api/connections/{conn_id}/rotate-token"), &a2_token, &json!({})).await, 404)
        .await;
    assert_problem(app.delete(&format!("/api/connections/{conn_id}"), &b.consumer_token).await, 404).await;
    assert_problem(app.delete(&format!("/api/consumers/{}", a.consumer_id), &b.app_token).await, 404).await;

    // Lists only show one's own.
    let list: serde_json::Value = app.get("/api/connections", &a2_token).await.json().await.expect("json");
    assert_eq!(list["data"].as_array().expect("data").len(), 0);
    let list: serde_json::Value = app.get("/api/consumers", &b.app_token).await.json().await.expect("json");
    let ids: Vec<&str> = list["data"].as_array().expect("data").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec![b.consumer_id.as_str()]);

    // And the connection is still there for its owner.
    assert_eq!(app.get(&format!("/api/connections/{conn_id}"), &a.consumer_token).await.status(), 200);
    app.shutdown(&[]).await;
}

/// Wrong keys: 401 up to the limit, then 429 with Retry-After, per client and per application;
/// the right key is accepted all along, from the throttled client too.
#[tokio::test]
async fn failed_attempts_are_throttled_and_the_right_key_always_passes() {
    let app = spawn_app_with(&[
        ("UAPI_THROTTLE__FAILURES_PER_SOURCE_PER_MINUTE", "6"),
        ("UAPI_THROTTLE__FAILURES_PER_SUBJECT_PER_MINUTE", "3"),
    ])
    .await;
    let t = app.tenant("Acme").await;
    let wrong = json!({ "apiKey": "uapi_sk_wrong", "applicationId": t.application_id, "scope": "application" });
    let right = json!({ "apiKey": t.api_key, "applicationId": t.application_id, "scope": "application" });
    for _ in 0..3 {
        assert_problem(app.auth(wrong.clone()).await, 401).await;
    }
    // The application is over its limit, from any client.
    let res = app
        .client
        .post(app.url("/api/auth"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&wrong)
        .send()
        .await
        .expect("request");
    let retry_after = uapi_test_support::retry_after_secs(&res);
    assert!((1..=20).contains(&retry_after), "one failure back every 20 s: {retry_after}");
    let problem = assert_problem(res, 429).await;
    assert_eq!(problem["type"], "https://uapi-hris.dev/problems/too-many-requests");
    assert_eq!(app.auth(right.clone()).await.status(), 200, "the right key is never locked out");

    // This client is over its own limit after three more failures (six in all), each naming a
    // different application, so no application's limit is reached.
    let unknown =
        || json!({ "apiKey": "uapi_sk_wrong", "applicationId": uuid::Uuid::now_v7(), "scope": "application" });
    for _ in 0..3 {
        assert_problem(app.auth(unknown()).await, 401).await;
    }
    assert_problem(app.auth(unknown()).await, 429).await;
    let (other_app, other_key) = app.create_application("Other").await;
    let other_right = json!({ "apiKey": other_key, "applicationId": other_app, "scope": "application" });
    assert_eq!(app.auth(other_right).await.status(), 200, "the right key from the throttled client");
    app.shutdown(&[]).await;
}
