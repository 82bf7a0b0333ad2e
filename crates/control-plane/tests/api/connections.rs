//! Connections: Okta SCIM metadata, token rotation and revocation, and the lifecycle events
//! scim-ingress projects to authenticate SCIM calls.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use prost::Message;
use serde_json::{Value, json};
use uapi_events::v1::{ConnectionEvent, connection_event::Kind};
use uapi_platform::amqp::{Broker, declare_exchange};

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

fn sha256(s: &str) -> Vec<u8> {
    uapi_control_plane::domain::credentials::sha256(s)
}

/// A private queue bound to the app's exchange for `connection.#`.
async fn listen(app: &TestApp) -> (lapin::Consumer, String) {
    let broker = Broker::new(uapi_test_support::amqp_url(), "test");
    broker.connect_now().await.expect("rabbitmq");
    let ch = broker.channel().await.expect("channel");
    declare_exchange(&ch, &app.exchange).await.expect("exchange");
    let queue = uapi_test_support::unique_name("test.connections");
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions { auto_delete: true, ..Default::default() },
        FieldTable::default(),
    )
    .await
    .expect("queue");
    ch.queue_bind(
        queue.as_str().into(),
        app.exchange.as_str().into(),
        "connection.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind");
    let consumer = ch
        .basic_consume(queue.as_str().into(), "test".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume");
    (consumer, queue)
}

async fn next_event(consumer: &mut lapin::Consumer) -> (String, ConnectionEvent) {
    let delivery = tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await
        .expect("event within 10 s")
        .expect("stream open")
        .expect("delivery");
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    assert_eq!(delivery.properties.content_type().as_ref().map(|c| c.as_str()), Some("application/x-protobuf"));
    let event = ConnectionEvent::decode(delivery.data.as_slice()).expect("protobuf");
    assert_eq!(delivery.properties.message_id().as_ref().map(|m| m.as_str()), Some(event.event_id.as_str()));
    (delivery.routing_key.to_string(), event)
}

#[tokio::test]
async fn okta_scim_connection_lifecycle_with_rotation_and_revocation() {
    let app = spawn_app().await;
    let (mut events, queue) = listen(&app).await;
    let t = app.tenant("Acme").await;

    // Before connecting, okta-scim is available.
    let list: Value = app.get("/api/connections", &t.consumer_token).await.json().await.expect("json");
    assert_eq!(list["data"], json!([]));
    assert_eq!(list["available"][0]["serviceId"], "okta-scim");

    let res = app.post("/api/connections", &t.consumer_token, &json!({ "serviceId": "okta-scim" })).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    assert_eq!(created["serviceId"], "okta-scim");
    assert_eq!(created["status"], "active");
    assert_eq!(created["metadata"]["baseUrl"], "https://scim.example.test/scim/v2");
    let token1 = created["metadata"]["apiToken"].as_str().expect("token").to_owned();
    assert!(token1.starts_with("uapi_scim_") && token1.len() > 40);
    let id = created["id"].as_str().expect("id").to_owned();

    // GET shows the same metadata; the list shows it and okta-scim is no longer available.
    let got: Value = app.get(&format!("/api/connections/{id}"), &t.consumer_token).await.json().await.expect("json");
    assert_eq!(got["metadata"], created["metadata"]);
    let list: Value = app.get("/api/connections", &t.consumer_token).await.json().await.expect("json");
    assert_eq!(list["data"][0]["id"], id.as_str());
    assert_eq!(list["available"], json!([]));
    // One connection per integration and consumer; unknown integrations are refused.
    assert_problem(app.post("/api/connections", &t.consumer_token, &json!({ "serviceId": "okta-scim" })).await, 409)
        .await;
    assert_problem(app.post("/api/connections", &t.consumer_token, &json!({ "serviceId": "workday" })).await, 422)
        .await;

    let (key, event) = next_event(&mut events).await;
    assert_eq!(key, "connection.created");
    assert_eq!((event.kind(), event.connection_id.as_str(), event.revision), (Kind::Created, id.as_str(), 1));
    assert_eq!(event.token_sha256, sha256(&token1));
    let tenant = event.tenant.expect("tenant");
    assert_eq!((tenant.application_id, tenant.consumer_id), (t.application_id.clone(), t.consumer_id.clone()));

    // Rotation: a new token, the old hash is gone from the store and the event carries the new one.
    let rotated: Value = app
        .post(&format!("/api/connections/{id}/rotate-token"), &t.consumer_token, &json!({}))
        .await
        .json()
        .await
        .expect("json");
    let token2 = rotated["metadata"]["apiToken"].as_str().expect("token").to_owned();
    assert_ne!(token1, token2);
    let got: Value = app.get(&format!("/api/connections/{id}"), &t.consumer_token).await.json().await.expect("json");
    assert_eq!(got["metadata"]["apiToken"], token2.as_str());
    let (key, event) = next_event(&mut events).await;
    assert_eq!(key, "connection.token_rotated");
    assert_eq!((event.kind(), event.revision), (Kind::TokenRotated, 2));
    assert_eq!(event.token_sha256, sha256(&token2));
    assert!(!stored_hashes(&app).await.contains(&sha256(&token1)));

    // Revocation.
    assert_eq!(app.delete(&format!("/api/connections/{id}"), &t.consumer_token).await.status(), 204);
    assert_problem(app.get(&format!("/api/connections/{id}"), &t.consumer_token).await, 404).await;
    let (key, event) = next_event(&mut events).await;
    assert_eq!((key.as_str(), event.kind(), event.revision), ("connection.deleted", Kind::Deleted, 3));
    assert!(stored_hashes(&app).await.is_empty());
    app.shutdown(&[&queue]).await;
}

#[tokio::test]
async fn deleting_a_consumer_revokes_its_connections() {
    let app = spawn_app().await;
    let (mut events, queue) = listen(&app).await;
    let t = app.tenant("Acme").await;
    let created: Value = app
        .post("/api/connections", &t.consumer_token, &json!({ "serviceId": "okta-scim" }))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(next_event(&mut events).await.1.kind(), Kind::Created);
    assert_eq!(app.delete(&format!("/api/consumers/{}", t.consumer_id), &t.app_token).await.status(), 204);
    let (_, event) = next_event(&mut events).await;
    assert_eq!((event.kind(), event.connection_id.as_str()), (Kind::Deleted, created["id"].as_str().expect("id")));
    // The consumer's (still unexpired) token finds nothing and can create nothing.
    let list: Value = app.get("/api/connections", &t.consumer_token).await.json().await.expect("json");
    assert_eq!(list["data"], json!([]));
    assert_problem(app.post("/api/connections", &t.consumer_token, &json!({ "serviceId": "okta-scim" })).await, 404)
        .await;
    app.shutdown(&[&queue]).await;
}

/// A revocation whose event was lost downstream (here: every event reaches only this test) is
/// announced again within seconds, and `republish` announces every connection and deletion.
#[tokio::test]
async fn a_lost_revocation_is_announced_again_and_everything_can_be_republished() {
    let app = spawn_app_with(&[("UAPI_OUTBOX__REANNOUNCE_EVERY_MS", "200")]).await;
    let (mut events, queue) = listen(&app).await;
    let t = app.tenant("Acme").await;
    let res = app.post("/api/connections", &t.consumer_token, &json!({ "serviceId": "okta-scim" })).await;
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    assert_eq!(app.delete(&format!("/api/connections/{id}"), &t.consumer_token).await.status(), 204);
    let mut deletions = 0;
    while deletions < 2 {
        let (key, event) = next_event(&mut events).await;
        if event.kind() == Kind::Deleted {
            assert_eq!(
                (key.as_str(), event.connection_id.as_str(), event.revision),
                ("connection.deleted", id.as_str(), 2)
            );
            deletions += 1;
        }
    }
    // The full republish: this consumer's second connection and the deleted first one.
    let res = app.post("/api/connections", &t.consumer_token, &json!({ "serviceId": "okta-scim" })).await;
    assert_eq!(res.status(), 201);
    let res = app.post("/admin/connections/republish", crate::helpers::ADMIN_TOKEN, &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.expect("json")["republished"], 2);
    assert_problem(app.post("/admin/connections/republish", &t.app_token, &json!({})).await, 401).await;
    app.shutdown(&[&queue]).await;
}

async fn stored_hashes(app: &TestApp) -> Vec<Vec<u8>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use uapi_control_plane::db::schema::connections;
    let mut conn = app.pool.get().await.expect("conn");
    connections::table.select(connections::token_sha256).load(&mut conn).await.expect("query")
}
