//! `GET /api/scim/status`: counts, last request and push, recent errors, per connection, with the
//! connection's SCIM token.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uapi_scim_ingress::db::schema::{connection_activity, scim_request_errors};
use uuid::Uuid;

use crate::helpers::{Conn, TestApp, spawn_app, spawn_app_with};

/// Flushes often, so waiting for the rows is short.
const FAST_FLUSH: (&str, &str) = ("UAPI_SCIM__ACTIVITY_FLUSH_MS", "50");

/// Polls `probe` until it yields, failing after 10 s.
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The connection's stored row: (last_request_at, last_push_at).
async fn stored_times(app: &TestApp, c: &Conn) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let mut conn = app.pool.get().await.expect("conn");
    connection_activity::table
        .find(c.id)
        .select((connection_activity::last_request_at, connection_activity::last_push_at))
        .first(&mut conn)
        .await
        .optional()
        .expect("activity")
}

async fn stored_statuses(app: &TestApp, c: &Conn) -> Vec<i32> {
    let mut conn = app.pool.get().await.expect("conn");
    scim_request_errors::table
        .filter(scim_request_errors::connection_id.eq(c.id))
        .order((scim_request_errors::at.desc(), scim_request_errors::id.desc()))
        .select(scim_request_errors::status)
        .load(&mut conn)
        .await
        .expect("errors")
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).expect("an RFC 3339 time").to_utc()
}

async fn group(app: &TestApp, c: &Conn, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
    let body =
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members });
    let res = app.okta(c, Method::POST, "/Groups", Some(&body)).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn counts_are_the_connections_own_users_and_groups() {
    let app = spawn_app().await;
    let (a, b) = (app.connection().await, app.connection().await);
    let fresh = app.status(&a).await;
    assert_eq!(
        fresh,
        json!({ "connectionId": a.id, "lastRequestAt": null, "users": 0, "groups": 0, "lastPushAt": null, "recentErrors": [] }),
        "a status call is not SCIM activity"
    );

    let ada = app.user(&a, "ada@example.com").await;
    let bob = app.user(&a, "bob@example.com").await;
    let gone = app.user(&a, "gone@example.com").await;
    app.okta(&a, Method::PATCH, &format!("/Users/{bob}"), Some(&crate::helpers::set_active(false))).await;
    assert_eq!(app.send(&a, Method::DELETE, &format!("/Users/{gone}"), None).await.status(), 204);
    group(&app, &a, "Engineering", &[&ada, &bob]).await;
    group(&app, &a, "Empty", &[]).await;
    app.user(&b, "carol@example.com").await;

    let status = app.status(&a).await;
    assert_eq!(
        (status["connectionId"].as_str(), &status["users"], &status["groups"]),
        (Some(&*a.id.to_string()), &json!(2), &json!(2)),
        "a deactivated user counts, a deleted one does not: {status}"
    );
    let other = app.status(&b).await;
    assert_eq!(
        (other["connectionId"].as_str(), &other["users"], &other["groups"]),
        (Some(&*b.id.to_string()), &json!(1), &json!(0)),
        "{other}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn last_request_and_last_push_are_noted_then_stored() {
    let app = spawn_app_with(&[FAST_FLUSH]).await;
    let c = app.connection().await;

    let res = app.okta(&c, Method::GET, &crate::helpers::okta_lookup("nobody@example.com"), None).await;
    assert_eq!(res.status(), 200, "a lookup that finds nothing");
    let read = app.status(&c).await;
    let first = time(&read["lastRequestAt"]);
    assert_eq!(
        (&read["lastPushAt"], &read["recentErrors"]),
        (&Value::Null, &json!([])),
        "a read is not a push: {read}"
    );

    app.user(&c, "ada@example.com").await;
    let pushed = app.status(&c).await;
    let push = time(&pushed["lastPushAt"]);
    assert!(push >= first && time(&pushed["lastRequestAt"]) == push, "{pushed}");

    let body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName pr" });
    assert_eq!(app.okta(&c, Method::POST, "/Users/.search", Some(&body)).await.status(), 200);
    let searched = app.status(&c).await;
    assert!(time(&searched["lastRequestAt"]) >= push, "{searched}");
    assert_eq!(time(&searched["lastPushAt"]), push, "a search is a read");

    // The flush writes what the status showed; the status read from the rows says the same.
    let last_request = time(&searched["lastRequestAt"]);
    let stored = eventually("the flush", async || stored_times(&app, &c).await.filter(|t| t.0 == last_request)).await;
    assert_eq!(stored, (last_request, Some(push)));
    assert_eq!(app.status(&c).await, searched);
    app.shutdown().await;
}

#[tokio::test]
async fn errors_are_listed_newest_first_without_read_404s() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let res = app.send(&c, Method::GET, "/Users?filter=userName%20xx%20%22a%22", None).await;
    assert_eq!(res.status(), 400);
    let res = app.send(&c, Method::POST, "/Users", Some("{")).await;
    assert_eq!(res.status(), 400);
    let missing = Uuid::now_v7();
    assert_eq!(app.send(&c, Method::GET, &format!("/Users/{missing}"), None).await.status(), 404);
    let patch = crate::helpers::set_active(false);
    assert_eq!(app.okta(&c, Method::PATCH, &format!("/Users/{missing}"), Some(&patch)).await.status(), 404);
    app.user(&c, "ada@example.com").await;
    let dup = json!({ "userName": "ADA@example.com" }).to_string();
    assert_eq!(app.send(&c, Method::POST, "/Users", Some(&dup)).await.status(), 409);

    let status = app.status(&c).await;
    let errors = status["recentErrors"].as_array().expect("array");
    let shown: Vec<(&str, &str, i64, Option<&str>)> = errors
        .iter()
        .map(|e| {
            (
                e["method"].as_str().expect("method"),
                e["path"].as_str().expect("path"),
                e["status"].as_i64().expect("status"),
                e["scimType"].as_str(),
            )
        })
        .collect();
    let patched = format!("/scim/v2/Users/{missing}");
    assert_eq!(
        shown,
        [
            ("POST", "/scim/v2/Users", 409, Some("uniqueness")),
            ("PATCH", patched.as_str(), 404, None),
            ("POST", "/scim/v2/Users", 400, Some("invalidSyntax")),
            ("GET", "/scim/v2/Users", 400, Some("invalidFilter")),
        ],
        "the read's 404 is left out: {status}"
    );
    assert!(errors.iter().all(|e| e["detail"].as_str().is_some_and(|d| !d.is_empty())), "{status}");
    assert!(
        errors.iter().all(|e| e.as_object().is_some_and(|o| o.contains_key("scimType"))),
        "scimType is null, not absent"
    );
    let times: Vec<DateTime<Utc>> = errors.iter().map(|e| time(&e["at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    assert!(time(&status["lastRequestAt"]) >= times[0]);
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_newest_ten_errors_are_kept() {
    let app = spawn_app_with(&[FAST_FLUSH]).await;
    let (c, quiet) = (app.connection().await, app.connection().await);
    for n in 0..13 {
        let res = app.send(&c, Method::GET, &format!("/Users?count=1&filter=bad{n}%20xx"), None).await;
        assert_eq!(res.status(), 400);
    }
    let status = app.status(&c).await;
    let errors = status["recentErrors"].as_array().expect("array");
    assert_eq!(errors.len(), 10, "{status}");

    let stored = eventually("the trimmed rows", async || {
        let rows = stored_statuses(&app, &c).await;
        (rows.len() == 10).then_some(rows)
    })
    .await;
    assert_eq!(stored, vec![400; 10]);
    assert_eq!(app.status(&c).await["recentErrors"], status["recentErrors"], "rows and memory agree");
    assert_eq!(app.status(&quiet).await["recentErrors"], json!([]), "another connection's errors are its own");
    app.shutdown().await;
}

async fn assert_problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("problem is JSON");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    body
}

#[tokio::test]
async fn a_token_that_names_no_live_connection_is_a_problem_401() {
    let app = spawn_app_with(&[("UAPI_SCIM__TOKEN_CACHE_MS", "0")]).await;
    let c = app.connection().await;
    assert_eq!(app.status_with(Some(&c.token)).await.status(), 200, "the bare token, as Okta's header auth sends it");
    for header in [None, Some("Bearer"), Some("Basic abc"), Some("Bearer uapi_scim_unknown")] {
        let res = app.status_with(header).await;
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{header:?}");
        let body = assert_problem(res, 401).await;
        assert_eq!(body["type"], "https://uapi-hris.dev/problems/unauthorized");
    }
    app.revoke(&c).await;
    assert_problem(app.status_with(Some(&format!("Bearer {}", c.token))).await, 401).await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_status_shares_the_connections_rate_limit_and_a_throttled_request_is_an_error() {
    let app =
        spawn_app_with(&[("UAPI_SCIM__RATE_LIMIT_PER_SEC", "0.1"), ("UAPI_SCIM__RATE_LIMIT_BURST", "2"), FAST_FLUSH])
            .await;
    let c = app.connection().await;
    assert_eq!(app.send(&c, Method::GET, "/Users", None).await.status(), 200);
    assert_eq!(app.status(&c).await["recentErrors"], json!([]));
    assert_eq!(app.send(&c, Method::GET, "/Users", None).await.status(), 429);
    let res = app.status_with(Some(&format!("Bearer {}", c.token))).await;
    assert!(res.headers().contains_key("retry-after"));
    let body = assert_problem(res, 429).await;
    assert_eq!(body["type"], "https://uapi-hris.dev/problems/too-many-requests");
    // Only the SCIM request's 429 is on the connection's record, not the status call's.
    let stored = eventually("the flush", async || {
        let rows = stored_statuses(&app, &c).await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(stored, [429]);
    app.shutdown().await;
}
