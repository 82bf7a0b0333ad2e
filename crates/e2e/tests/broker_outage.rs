//! RabbitMQ goes away mid-stream while Okta keeps writing: every SCIM write still succeeds, and
//! once the broker is back every employee reaches the read API exactly once, in its final state.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::{Stack, StackOptions};
use uapi_test_support::TcpProxy;

const USERS: usize = 60;

#[tokio::test]
async fn broker_outage_loses_nothing() {
    let amqp = url::Url::parse(&uapi_test_support::amqp_url()).expect("url");
    let target = format!("{}:{}", amqp.host_str().unwrap_or("127.0.0.1"), amqp.port().unwrap_or(5672));
    let proxy = TcpProxy::start(&target).await.expect("proxy");
    let mut via_proxy = amqp.clone();
    via_proxy.set_port(Some(proxy.port)).expect("port");
    let stack = Stack::start(StackOptions { amqp_url: Some(via_proxy.to_string()), ..Default::default() }).await;
    let t = stack.tenant("Acme").await;

    let mut expected: HashMap<String, (u64, bool)> = HashMap::new();
    for i in 0..USERS {
        if i == USERS / 3 {
            proxy.cut();
            // The services really lost the broker: readiness says so before writes go on.
            wait_readyz(&stack, 503).await;
        }
        if i == 2 * USERS / 3 {
            proxy.restore();
        }
        let body = json!({ "userName": format!("user{i}@example.com"), "name": { "givenName": "U", "familyName": format!("{i}") }, "active": true });
        let res = stack.scim_send(&t, Method::POST, "/Users", &body).await;
        assert_eq!(res.status(), 201, "SCIM write {i} must succeed whatever the broker does");
        let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
        let mut version = 1;
        let mut active = true;
        if i % 2 == 0 {
            let deactivate = json!({ "Operations": [{ "op": "replace", "value": { "active": false } }] });
            assert_eq!(stack.scim_send(&t, Method::PATCH, &format!("/Users/{id}"), &deactivate).await.status(), 200);
            version = 2;
            active = false;
        }
        expected.insert(id, (version, active));
    }

    wait_readyz(&stack, 200).await;

    // Everything arrives once the broker is back: each employee once, in its final version.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut seen: HashMap<String, (u64, bool)> = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/hris/employees?limit=200&cursor={c}"),
                None => "/api/hris/employees?limit=200".to_owned(),
            };
            let page: Value = stack.hris(&t, &path).await.json().await.expect("json");
            for e in page["data"].as_array().cloned().unwrap_or_default() {
                let id = e["id"].as_str().expect("id").to_owned();
                let state = (e["version"].as_u64().unwrap_or(0), e["employmentStatus"] == "ACTIVE");
                assert!(seen.insert(id, state).is_none(), "an employee was listed twice");
            }
            match page["meta"]["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        if seen == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the outage {} of {USERS} employees are in their final state",
            seen.iter().filter(|(k, v)| expected.get(*k) == Some(v)).count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stack.shutdown().await;
}

async fn wait_readyz(stack: &Stack, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = stack.client.get(format!("{}/readyz", stack.scim)).send().await.expect("readyz");
        if res.status().as_u16() == status {
            return;
        }
        assert!(Instant::now() < deadline, "scim-ingress /readyz never answered {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
