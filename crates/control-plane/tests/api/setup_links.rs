//! Setup links: created, listed and revoked by the consumer; opened without signing in, showing
//! the connection's current credentials until revoked, expired, or the connection is gone.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Tenant, TestApp, assert_problem, spawn_app};

async fn connect(app: &TestApp, t: &Tenant) -> String {
    let res = app.post("/api/connections", &t.consumer_token, &json!({ "serviceId": "okta-scim" })).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
}

async fn create_link(app: &TestApp, t: &Tenant, connection: &str, body: &Value) -> Value {
    let res = app.post(&format!("/api/connections/{connection}/setup-links"), &t.consumer_token, body).await;
    assert_eq!(res.status(), 201);
    res.json().await.expect("json")
}

/// `GET /api/setup-links/{token}`, without any credentials.
async fn open(app: &TestApp, token: &str) -> reqwest::Response {
    app.client.get(app.url(&format!("/api/setup-links/{token}"))).send().await.expect("request")
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("timestamp")).expect("RFC 3339").to_utc()
}

#[tokio::test]
async fn a_setup_link_shows_the_connections_current_credentials_without_signing_in() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let id = connect(&app, &t).await;

    // No body at all: a week.
    let res = app
        .client
        .post(app.url(&format!("/api/connections/{id}/setup-links")))
        .bearer_auth(&t.consumer_token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let link: Value = res.json().await.expect("json");
    let keys: Vec<&String> = link.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["id", "token", "expiresAt", "createdAt"]);
    let token = link["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("uapi_setup_") && token.len() > 50, "{token}");
    assert_eq!(time(&link["expiresAt"]) - time(&link["createdAt"]), Duration::hours(168));

    let res = open(&app, &token).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let opened: Value = res.json().await.expect("json");
    let connection: Value =
        app.get(&format!("/api/connections/{id}"), &t.consumer_token).await.json().await.expect("json");
    assert_eq!(
        opened,
        json!({
            "connectionId": id,
            "serviceId": "okta-scim",
            "status": "active",
            "metadata": connection["metadata"],
            "expiresAt": link["expiresAt"],
        })
    );

    // Only the token's hash is stored.
    assert_eq!(stored_hashes(&app).await, [uapi_control_plane::domain::credentials::sha256(&token)]);

    // The list never shows a token.
    let list: Value =
        app.get(&format!("/api/connections/{id}/setup-links"), &t.consumer_token).await.json().await.expect("json");
    assert_eq!(
        list["data"],
        json!([{ "id": link["id"], "expiresAt": link["expiresAt"], "createdAt": link["createdAt"], "revokedAt": null }])
    );
    assert_eq!(list["meta"]["itemsOnPage"], 1);

    // After a rotation the same link shows the new token.
    let res = app.post(&format!("/api/connections/{id}/rotate-token"), &t.consumer_token, &json!({})).await;
    let rotated: Value = res.json().await.expect("json");
    assert_ne!(rotated["metadata"]["apiToken"], connection["metadata"]["apiToken"]);
    let opened: Value = open(&app, &token).await.json().await.expect("json");
    assert_eq!(opened["metadata"], rotated["metadata"]);
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn revoked_and_expired_links_are_gone_and_unknown_ones_not_found() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let id = connect(&app, &t).await;
    let revoked = create_link(&app, &t, &id, &Value::Null).await;
    let expiring = create_link(&app, &t, &id, &json!({ "expiresInHours": 1 })).await;
    assert_eq!(time(&expiring["expiresAt"]) - time(&expiring["createdAt"]), Duration::hours(1));

    let path = format!("/api/connections/{id}/setup-links/{}", revoked["id"].as_str().expect("id"));
    assert_eq!(app.delete(&path, &t.consumer_token).await.status(), 204);
    let problem = assert_problem(open(&app, revoked["token"].as_str().expect("token")).await, 410).await;
    assert!(problem["detail"].as_str().expect("detail").starts_with("this setup link was revoked at "), "{problem}");
    // Revoking again changes nothing, the revocation time included.
    let listed = |list: Value| list["data"][0]["revokedAt"].clone();
    let list = app.get(&format!("/api/connections/{id}/setup-links"), &t.consumer_token).await.json().await;
    let first = listed(list.expect("json"));
    assert!(first.is_string());
    assert_eq!(app.delete(&path, &t.consumer_token).await.status(), 204);
    let list = app.get(&format!("/api/connections/{id}/setup-links"), &t.consumer_token).await.json().await;
    assert_eq!(listed(list.expect("json")), first);

    // The other link still works, until its expiry passes.
    let token = expiring["token"].as_str().expect("token");
    assert_eq!(open(&app, token).await.status(), 200);
    let past = Utc::now() - Duration::minutes(5);
    expire(&app, expiring["id"].as_str().expect("id"), past).await;
    let problem = assert_problem(open(&app, token).await, 410).await;
    let stated = past.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        problem["detail"].as_str().expect("detail").starts_with(&format!("this setup link expired at {stated}")),
        "{problem}"
    );

    // Unknown tokens, well-formed or not, are 404s.
    let unknown = uapi_control_plane::domain::credentials::new_setup_link_token();
    for token in [unknown.expose(), "nope", "uapi_setup_%20", "uapi_setup_AAAA"] {
        assert_problem(open(&app, token).await, 404).await;
    }
    assert_problem(open(&app, "a%00b").await, 400).await;
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn links_of_a_revoked_connection_or_deleted_consumer_are_gone() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let id = connect(&app, &t).await;
    let link = create_link(&app, &t, &id, &json!({})).await;
    assert_eq!(app.delete(&format!("/api/connections/{id}"), &t.consumer_token).await.status(), 204);
    let problem = assert_problem(open(&app, link["token"].as_str().expect("token")).await, 410).await;
    assert!(problem["detail"].as_str().expect("detail").contains("connection"), "{problem}");
    assert_problem(app.get(&format!("/api/connections/{id}/setup-links"), &t.consumer_token).await, 404).await;

    let id = connect(&app, &t).await;
    let link = create_link(&app, &t, &id, &json!({})).await;
    assert_eq!(app.delete(&format!("/api/consumers/{}", t.consumer_id), &t.app_token).await.status(), 204);
    let problem = assert_problem(open(&app, link["token"].as_str().expect("token")).await, 410).await;
    assert!(problem["detail"].as_str().expect("detail").contains("deleted"), "{problem}");
    app.shutdown(&[]).await;
}

#[tokio::test]
async fn another_consumers_connection_and_bad_input_get_problems() {
    let app = spawn_app().await;
    let (a, b) = (app.tenant("Acme").await, app.tenant("Globex").await);
    let (a_conn, b_conn) = (connect(&app, &a).await, connect(&app, &b).await);
    let a_link = create_link(&app, &a, &a_conn, &json!({})).await;
    let a_link_id = a_link["id"].as_str().expect("id");

    let links = format!("/api/connections/{a_conn}/setup-links");
    assert_problem(app.post(&links, &b.consumer_token, &json!({})).await, 404).await;
    assert_problem(app.get(&links, &b.consumer_token).await, 404).await;
    assert_problem(app.delete(&format!("{links}/{a_link_id}"), &b.consumer_token).await, 404).await;
    // Nor through B's own connection.
    let via_b = format!("/api/connections/{b_conn}/setup-links/{a_link_id}");
    assert_problem(app.delete(&via_b, &b.consumer_token).await, 404).await;
    let unknown = format!("{links}/{}", uuid::Uuid::now_v7());
    assert_problem(app.delete(&unknown, &a.consumer_token).await, 404).await;
    assert_eq!(open(&app, a_link["token"].as_str().expect("token")).await.status(), 200);

    assert_problem(app.get("/api/connections/zzz/setup-links", &a.consumer_token).await, 404).await;
    assert_problem(app.delete(&format!("{links}/zzz"), &a.consumer_token).await, 404).await;
    assert_problem(app.client.get(app.url(&links)).send().await.expect("request"), 401).await;
    assert_problem(app.get(&links, &a.app_token).await, 403).await;
    assert_problem(app.get(&format!("{links}?limit=0"), &a.consumer_token).await, 400).await;

    for body in [json!({ "expiresInHours": 0 }), json!({ "expiresInHours": 721 }), json!({ "expiresInHours": "x" })] {
        assert_problem(app.post(&links, &a.consumer_token, &body).await, 422).await;
    }
    let malformed = app
        .client
        .post(app.url(&links))
        .bearer_auth(&a.consumer_token)
        .header("content-type", "application/json")
        .body("{");
    assert_problem(malformed.send().await.expect("request"), 400).await;
    let list: Value = app.get(&links, &a.consumer_token).await.json().await.expect("json");
    assert_eq!(list["meta"]["itemsOnPage"], 1);
    app.shutdown(&[]).await;
}

async fn stored_hashes(app: &TestApp) -> Vec<Vec<u8>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use uapi_control_plane::db::schema::setup_links;
    let mut conn = app.pool.get().await.expect("conn");
    setup_links::table.select(setup_links::token_sha256).load(&mut conn).await.expect("query")
}

async fn expire(app: &TestApp, id: &str, at: DateTime<Utc>) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use uapi_control_plane::db::schema::setup_links;
    let id: uuid::Uuid = id.parse().expect("uuid");
    let mut conn = app.pool.get().await.expect("conn");
    let n = diesel::update(setup_links::table.find(id))
        .set(setup_links::expires_at.eq(at))
        .execute(&mut conn)
        .await
        .expect("update");
    assert_eq!(n, 1);
}
