//! The contract's promise about SCIM credentials, end to end: after a rotation the old token gets
//! 401 and the new one works; after the connection is deleted every SCIM call gets 401.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Stack, StackOptions};

async fn wait_status(stack: &Stack, base: &str, token: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = stack.client.get(format!("{base}/Users?count=1")).bearer_auth(token).send().await.expect("scim");
        if res.status().as_u16() == status {
            if status == 401 {
                let body: Value = res.json().await.expect("SCIM error body");
                assert_eq!(body["status"], "401");
            }
            return;
        }
        assert!(Instant::now() < deadline, "SCIM call never answered {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn rotated_and_revoked_tokens_stop_working() {
    let stack = Stack::start(StackOptions::default()).await;
    let t = stack.tenant("Acme").await;
    let cp = &stack.control_plane;

    let rotated: Value = stack
        .client
        .post(format!("{cp}/api/connections/{}/rotate-token", t.connection_id))
        .bearer_auth(&t.consumer_token)
        .send()
        .await
        .expect("rotate")
        .json()
        .await
        .expect("json");
    let new_token = rotated["metadata"]["apiToken"].as_str().expect("token").to_owned();
    assert_ne!(new_token, t.scim_token);
    wait_status(&stack, &t.base_url, &new_token, 200).await;
    wait_status(&stack, &t.base_url, &t.scim_token, 401).await;

    let res = stack
        .client
        .delete(format!("{cp}/api/connections/{}", t.connection_id))
        .bearer_auth(&t.consumer_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    wait_status(&stack, &t.base_url, &new_token, 401).await;
    stack.shutdown().await;
}

/// A revocation whose event never reached scim-ingress (here: the connection is deleted in
/// control-plane's database without its event, as if the event had been lost) still takes effect
/// within seconds: control-plane announces recent changes again.
#[tokio::test]
async fn a_revocation_whose_event_was_lost_still_takes_effect() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let stack = Stack::start(StackOptions::default()).await;
    let t = stack.tenant("Lost").await;
    let mut db = AsyncPgConnection::establish(stack.control_plane_db()).await.expect("control-plane db");
    db.batch_execute(&format!(
        "INSERT INTO connection_tombstones (id, consumer_id, application_id, service_id, token_sha256, revision) \
             SELECT id, consumer_id, application_id, service_id, token_sha256, token_revision + 1 \
             FROM connections WHERE id = '{id}'; \
         DELETE FROM connections WHERE id = '{id}';",
        id = t.connection_id
    ))
    .await
    .expect("delete without an event");
    let started = Instant::now();
    wait_status(&stack, &t.base_url, &t.scim_token, 401).await;
    assert!(started.elapsed() < Duration::from_secs(10), "revoked after {:?}", started.elapsed());
    drop(db);
    stack.shutdown().await;
}
