//! Bad input: every malformed, mistyped, oversized or unknown thing gets the right 4xx problem,
//! never a 500 or a panic, and leaves no row behind.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn bad_requests_get_problem_responses() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let raw = |path: &str, body: &'static str| {
        app.client.post(app.url(path)).bearer_auth(&t.app_token).header("content-type", "application/json").body(body)
    };
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("malformed JSON", raw("/api/consumers", "{\"name\": "), 400),
        ("not JSON at all", raw("/api/consumers", "name=x"), 400),
        ("empty body", raw("/api/consumers", ""), 400),
        ("wrong type", raw("/api/consumers", "{\"name\": 42}"), 422),
        ("missing field", raw("/api/consumers", "{\"reference\": \"x\"}"), 422),
        ("array instead of object", raw("/api/consumers", "[]"), 422),
        ("blank name", raw("/api/consumers", "{\"name\": \"   \"}"), 422),
        (
            "overlong name",
            app.client
                .post(app.url("/api/consumers"))
                .bearer_auth(&t.app_token)
                .json(&json!({ "name": "x".repeat(201) })),
            422,
        ),
        (
            "body over 1 MiB",
            app.client
                .post(app.url("/api/consumers"))
                .bearer_auth(&t.app_token)
                .json(&json!({ "name": "x".repeat(1024 * 1024 + 10) })),
            413,
        ),
        (
            "unknown id",
            app.client.get(app.url(&format!("/api/consumers/{}", uuid::Uuid::now_v7()))).bearer_auth(&t.app_token),
            404,
        ),
        ("invalid id", app.client.get(app.url("/api/consumers/not-a-uuid")).bearer_auth(&t.app_token), 404),
        ("sql in id", app.client.get(app.url("/api/consumers/1'%20OR%20'1'='1")).bearer_auth(&t.app_token), 404),
        ("limit zero", app.client.get(app.url("/api/consumers?limit=0")).bearer_auth(&t.app_token), 400),
        ("limit too large", app.client.get(app.url("/api/consumers?limit=201")).bearer_auth(&t.app_token), 400),
        ("limit not a number", app.client.get(app.url("/api/consumers?limit=ten")).bearer_auth(&t.app_token), 400),
        ("bad cursor", app.client.get(app.url("/api/consumers?cursor=%%%")).bearer_auth(&t.app_token), 400),
        ("unknown route", app.client.get(app.url("/api/nothing-here")).bearer_auth(&t.app_token), 404),
        ("wrong method", app.client.put(app.url("/api/consumers")).bearer_auth(&t.app_token), 404),
        (
            "auth: unknown scope",
            app.client
                .post(app.url("/api/auth"))
                .json(&json!({ "apiKey": t.api_key, "applicationId": t.application_id, "scope": "root" })),
            422,
        ),
        (
            "auth: missing id for scope",
            app.client.post(app.url("/api/auth")).json(&json!({ "apiKey": t.api_key, "scope": "consumer" })),
            422,
        ),
        (
            "auth: invalid id",
            app.client
                .post(app.url("/api/auth"))
                .json(&json!({ "apiKey": t.api_key, "applicationId": "x", "scope": "application" })),
            422,
        ),
        (
            "connection: unknown service",
            app.client
                .post(app.url("/api/connections"))
                .bearer_auth(&t.consumer_token)
                .json(&json!({ "serviceId": 7 })),
            422,
        ),
        (
            "connection: invalid id",
            app.client.post(app.url("/api/connections/zzz/rotate-token")).bearer_auth(&t.consumer_token),
            404,
        ),
        (
            "admin: malformed",
            app.client
                .post(app.url("/admin/applications"))
                .bearer_auth(crate::helpers::ADMIN_TOKEN)
                .header("content-type", "application/json")
                .body("{"),
            400,
        ),
    ];
    for (name, request, status) in cases {
        let res = request.send().await.expect(name);
        assert_eq!(res.status().as_u16(), status, "{name}");
        assert_problem(res, status).await;
    }
    // Nothing was written by the rejected requests: only the tenant's own consumer exists.
    let list: serde_json::Value = app.get("/api/consumers", &t.app_token).await.json().await.expect("json");
    assert_eq!(list["data"].as_array().expect("data").len(), 1);
    app.shutdown(&[]).await;
}
