//! Webhooks end to end: a subscription to a local receiver, a user provisioned and then
//! deactivated through SCIM; the receiver gets `employee.created`, then `employee.updated` with
//! `employmentStatus: INACTIVE`, each signature verified by the published `standardwebhooks`
//! crate (an independent Standard Webhooks implementation).

mod support;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::receiver::{receiver, wait_for};
use support::{Stack, StackOptions};

#[tokio::test]
async fn provisioning_and_deactivation_arrive_as_signed_webhooks() {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let t = stack.tenant("Webhooks").await;
    let (url, inbox) = receiver();
    let webhooks = stack.webhooks.clone().expect("webhook-dispatcher runs");
    let hook = stack.subscribe(&t, &url, &["*"]).await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    let verifier = standardwebhooks::Webhook::new(&secret).expect("whsec_ secret");

    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "hook.user@okta.local",
        "name": { "givenName": "Hook", "familyName": "User" },
        "emails": [{ "primary": true, "value": "hook.user@okta.local", "type": "work" }],
        "externalId": "00uhook",
        "active": true
    });
    let created = stack.scim_send(&t, Method::POST, "/Users", &user).await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }]
    });
    assert_eq!(stack.scim_send(&t, Method::PATCH, &format!("/Users/{id}"), &deactivate).await.status(), 200);

    let got = wait_for(&inbox, 2).await;
    let bodies: Vec<Value> = got
        .iter()
        .map(|(headers, body)| {
            verifier.verify(body, headers).expect("standardwebhooks verifies the signature");
            assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
            let body: Value = serde_json::from_slice(body).expect("JSON body");
            assert_eq!(headers.get("webhook-id").and_then(|v| v.to_str().ok()), body["eventId"].as_str());
            body
        })
        .collect();
    assert_eq!((bodies[0]["eventType"].as_str(), bodies[0]["version"].as_i64()), (Some("employee.created"), Some(1)));
    assert_eq!((bodies[1]["eventType"].as_str(), bodies[1]["version"].as_i64()), (Some("employee.updated"), Some(2)));
    for b in &bodies {
        assert_eq!(b["unifiedApi"], "hris");
        assert_eq!(b["entityType"], "employee");
        assert_eq!(b["entityId"], id.as_str());
        assert_eq!(b["consumerId"], t.consumer_id.as_str());
        assert_eq!(b["connectionId"], t.connection_id.as_str());
        assert_eq!(b["serviceId"], "okta-scim");
        assert_eq!(b["data"]["id"], id.as_str());
    }
    assert_eq!(bodies[0]["data"]["employmentStatus"], "ACTIVE");
    assert_eq!(bodies[1]["data"]["employmentStatus"], "INACTIVE");
    assert!(bodies[1]["changedFields"].as_array().expect("changedFields").contains(&json!("employmentStatus")));

    // The delivery log shows both, succeeded (recorded just after the receiver answered).
    let log_url = format!("{webhooks}/api/webhooks/{}/deliveries?status=succeeded", hook["id"].as_str().expect("id"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = stack.client.get(&log_url).bearer_auth(&t.app_token).send().await.expect("deliveries");
        let log: Value = res.json().await.expect("json");
        if log["meta"]["itemsOnPage"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "deliveries not both succeeded: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The SRE's signals: both deliveries' lag, and each event's age when the dispatcher took it.
    let metrics =
        stack.client.get(format!("{webhooks}/metrics")).send().await.expect("metrics").text().await.expect("text");
    let count = |prefix: &str| -> f64 {
        metrics.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or(0.0)
    };
    assert_eq!(count("uapi_webhook_delivery_lag_seconds_count"), 2.0, "{metrics}");
    let queue = stack.webhooks_queue();
    let age = format!("uapi_consumer_event_age_seconds_count{{queue=\"{queue}\",service=\"webhook-dispatcher\"}}");
    assert!(count(&age) >= 2.0, "{age} in {metrics}");
    assert_eq!(count("uapi_webhook_breakers_open"), 0.0);
    stack.shutdown().await;
}
