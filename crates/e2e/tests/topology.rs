//! Topology before the first publish: scim-ingress declares the queues of every consumer of its
//! events, so an employee provisioned before the dispatcher is ever deployed waits in the
//! dispatcher's queue instead of being dropped as unroutable.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Stack, StackOptions};

#[tokio::test]
async fn events_wait_for_a_consumer_deployed_later() {
    let stack = Stack::start(StackOptions::default()).await;
    let t = stack.tenant("Topology").await;
    let user = json!({ "userName": "early.bird@example.com", "active": true });
    let res = stack.scim_send(&t, Method::POST, "/Users", &user).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    // employee-store runs and projects it; once it has, the event was published to every queue.
    stack.wait_employee(&t, &id, |e| e["version"] == 1).await;
    let queue = stack.webhooks_queue();
    assert_eq!(stack.queue_depth(&queue).await, Some(1), "the event waits in {queue} for the dispatcher");
    assert_eq!(stack.queue_depth(&format!("{queue}.dlq")).await, Some(0), "its dead-letter queue exists too");
    stack.shutdown().await;
}
