//! The projection is idempotent: the same event delivered again, or an older one delivered late,
//! changes nothing in the read API.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::BasicAckOptions;
use lapin::types::FieldTable;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Stack, StackOptions};
use uapi_platform::amqp::{Outgoing, Publisher};

#[tokio::test]
async fn duplicate_and_stale_events_change_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    let (mut events, broker) = support::tap(&stack.exchange).await;

    let t = stack.tenant("Acme").await;
    let res =
        stack.scim_send(&t, Method::POST, "/Users", &json!({ "userName": "dup@example.com", "title": "One" })).await;
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let put = json!({ "userName": "dup@example.com", "title": "Two" });
    assert_eq!(stack.scim_send(&t, Method::PUT, &format!("/Users/{id}"), &put).await.status(), 200);

    // Capture both events exactly as they travelled.
    let mut captured = Vec::new();
    for _ in 0..2 {
        let d = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("event")
            .expect("open")
            .expect("delivery");
        d.ack(BasicAckOptions::default()).await.expect("ack");
        let message_id = d.properties.message_id().as_ref().map(|m| m.to_string()).unwrap_or_default();
        captured.push((d.routing_key.to_string(), message_id, d.data.clone()));
    }
    let settled = stack.wait_employee(&t, &id, |e| e["version"] == 2).await;
    assert_eq!(settled["jobTitle"], "Two");

    // Deliver the update twice more, then the creation (stale) last: were the projection not
    // version-guarded, it would end on version 1.
    let publisher = Publisher::open(&broker, &stack.exchange).await.expect("publisher");
    for i in [1usize, 1, 0] {
        let (key, message_id, body) = &captured[i];
        publisher
            .publish(Outgoing {
                routing_key: key,
                type_name: uapi_events::type_name::EMPLOYEE_EVENT,
                message_id,
                content_type: uapi_events::CONTENT_TYPE,
                body,
                headers: FieldTable::default(),
            })
            .await
            .expect("republished");
    }
    // A sentinel behind them on the queue: once it is projected, so were they.
    let sentinel = json!({ "userName": "sentinel@okta.local", "active": true });
    let res = stack.scim_send(&t, Method::POST, "/Users", &sentinel).await;
    let sentinel_id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    stack.wait_employee(&t, &sentinel_id, |e| e["version"] == 1).await;
    let after = stack.wait_employee(&t, &id, |_| true).await;
    assert_eq!(after, settled, "duplicate or stale events changed the projection");
    let list: Value = stack.hris(&t, "/api/hris/employees").await.json().await.expect("json");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2));
    stack.shutdown().await;
}
