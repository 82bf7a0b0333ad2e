//! The events feed end to end: every employee and group event of a consumer, read page by page from
//! `GET /api/hris/events`, is exactly the body its webhook carried; another consumer's events never
//! appear; bad cursors and limits are problems.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::receiver::receiver;
use support::{Stack, StackOptions, Tenant};

async fn create_user(stack: &Stack, t: &Tenant, name: &str) -> String {
    let body = json!({ "userName": format!("{name}@okta.local"), "name": { "givenName": name }, "active": true });
    let res = stack.scim_send(t, Method::POST, "/Users", &body).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
}

/// Reads the feed from the start, `limit` at a time, until `n` events were read; returns them in
/// feed order.
async fn read_feed(stack: &Stack, t: &Tenant, limit: usize, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut events, mut after) = (Vec::new(), String::new());
    loop {
        let res = stack.hris(t, &format!("/api/hris/events?limit={limit}&after={after}")).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.expect("json");
        let data = page["data"].as_array().expect("data").clone();
        assert!(data.len() <= limit);
        assert_eq!(page["meta"]["itemsOnPage"], data.len());
        events.extend(data);
        after = page["meta"]["next"].as_str().expect("a cursor to go on from, always").to_owned();
        if events.len() >= n {
            return events;
        }
        if page["meta"]["hasMore"] == false {
            assert!(Instant::now() < deadline, "the feed has {} of {n} events", events.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn the_feed_serves_every_event_as_its_webhook_body() {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let t = stack.tenant("Feed").await;
    let other = stack.tenant("Other").await;
    let (url, inbox) = receiver();
    stack.subscribe(&t, &url, &["*"]).await;

    let alice = create_user(&stack, &t, "alice").await;
    let bob = create_user(&stack, &t, "bob").await;
    create_user(&stack, &other, "mallory").await;
    let group = json!({ "displayName": "Eng", "members": [{ "value": alice }, { "value": bob }] });
    assert_eq!(stack.scim_send(&t, Method::POST, "/Groups", &group).await.status(), 201);
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }]
    });
    assert_eq!(stack.scim_send(&t, Method::PATCH, &format!("/Users/{alice}"), &deactivate).await.status(), 200);
    // 2 creates, group.created, both members' employee.updated (groups), alice's deactivation.
    let expected = 6;

    let feed = read_feed(&stack, &t, 2, expected).await;
    assert_eq!(feed.len(), expected, "nothing beyond the consumer's own events");
    let deadline = Instant::now() + Duration::from_secs(20);
    while inbox.lock().expect("lock").len() < expected {
        assert!(Instant::now() < deadline, "the webhooks did not all arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let webhooks: BTreeMap<String, Value> = inbox
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, body)| serde_json::from_slice::<Value>(body).expect("json"))
        .map(|b| (b["eventId"].as_str().expect("eventId").to_owned(), b))
        .collect();
    for event in &feed {
        let id = event["eventId"].as_str().expect("eventId");
        assert_eq!(Some(event), webhooks.get(id), "the feed's event {id} is its webhook body");
        assert_eq!(event["consumerId"], t.consumer_id.as_str());
    }
    // Each entity's versions appear in order.
    let versions_of = |id: &str| -> Vec<i64> {
        feed.iter().filter(|e| e["entityId"] == id).map(|e| e["version"].as_i64().expect("version")).collect()
    };
    assert_eq!(versions_of(&alice), [1, 2, 3]);
    assert_eq!(versions_of(&bob), [1, 2]);

    // Read again from the middle: the rest, the same.
    let first = stack.hris(&t, "/api/hris/events?limit=2").await.json::<Value>().await.expect("json");
    let after = first["meta"]["next"].as_str().expect("next");
    let rest = stack.hris(&t, &format!("/api/hris/events?after={after}&limit=200")).await.json::<Value>().await;
    assert_eq!(rest.expect("json")["data"].as_array().expect("data")[..], feed[2..]);

    let theirs = read_feed(&stack, &other, 50, 1).await;
    assert_eq!((theirs.len(), theirs[0]["consumerId"].as_str()), (1, Some(other.consumer_id.as_str())));
    for bad in ["/api/hris/events?after=garbage!", "/api/hris/events?limit=0", "/api/hris/events?limit=201"] {
        let res = stack.hris(&t, bad).await;
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    stack.shutdown().await;
}
