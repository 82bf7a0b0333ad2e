//! What scim-ingress accepts, every consumer can carry: the deepest custom attribute allowed
//! (docs/scim.md) reaches the employees API and the webhook intact, and a NUL character is a 400
//! in the right shape on every service, never a 500.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::receiver::{receiver, wait_for};
use support::{Stack, StackOptions};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn nested(levels: usize) -> Value {
    (1..levels).fold(json!({ "leaf": "x" }), |inner, _| json!({ "n": inner }))
}

#[tokio::test]
async fn the_deepest_accepted_user_reaches_the_store_and_the_webhook() {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let t = stack.tenant("Bounds").await;
    let (url, inbox) = receiver();
    stack.subscribe(&t, &url, &["employee.created"]).await;
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "userName": "deep@example.com",
        EXT: nested(15)
    });
    let res = stack.scim_send(&t, Method::POST, "/Users", &user).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let employee = stack.wait_employee(&t, &id, |e| e["version"] == 1).await;
    assert_eq!(employee["remoteData"][EXT], nested(15));
    let got = wait_for(&inbox, 1).await;
    let body: Value = serde_json::from_slice(&got[0].1).expect("JSON body");
    assert_eq!(body["data"]["remoteData"][EXT], nested(15));
    stack.shutdown().await;
}

#[tokio::test]
async fn nul_is_a_400_problem_on_every_api() {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let t = stack.tenant("Nul").await;
    let webhooks = stack.webhooks.clone().expect("dispatcher");
    let c = &stack.client;
    let requests = [
        (
            "consumer name",
            c.post(format!("{}/api/consumers", stack.control_plane))
                .bearer_auth(&t.app_token)
                .json(&json!({ "name": "a\u{0}b" })),
            "`name`",
        ),
        (
            "application name",
            c.post(format!("{}/admin/applications", stack.control_plane))
                .bearer_auth(support::ADMIN_TOKEN)
                .json(&json!({ "name": "\u{0}" })),
            "`name`",
        ),
        (
            "webhook URL",
            c.post(format!("{webhooks}/api/webhooks")).bearer_auth(&t.app_token).json(&json!({
                "unifiedApi": "HRIS", "deliveryUrl": "https://example.com/\u{0}", "events": ["*"]
            })),
            "`deliveryUrl`",
        ),
        (
            "event type",
            c.post(format!("{webhooks}/api/webhooks")).bearer_auth(&t.app_token).json(&json!({
                "unifiedApi": "HRIS", "deliveryUrl": "https://example.com/", "events": ["employee.\u{0}"]
            })),
            "`events[0]`",
        ),
        (
            "workEmail query",
            c.get(format!("{}/api/hris/employees?workEmail=a%00b", stack.store)).bearer_auth(&t.consumer_token),
            "URL",
        ),
        ("cursor", c.get(format!("{}/api/consumers?cursor=%00", stack.control_plane)).bearer_auth(&t.app_token), "URL"),
    ];
    for (what, request, named) in requests {
        let res = request.send().await.expect(what);
        assert_eq!(res.status(), 400, "{what}");
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(ct, "application/problem+json", "{what}");
        let body: Value = res.json().await.expect("problem");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(named) && detail.contains("NUL"), "{what}: {body}");
    }
    stack.shutdown().await;
}
