//! A consumer leaves: deleting it in control-plane revokes its SCIM connection, cancels its pending
//! webhook deliveries, removes its employees, groups and events feed from employee-store (through
//! the `consumer.deleted` event), and its access tokens stop working everywhere.

mod support;

use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::{Value, json};
use support::receiver::{receiver, wait_for};
use support::{Stack, StackOptions};

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{name}@okta.local"),
        "name": { "givenName": name, "familyName": "Leaving" },
        "emails": [{ "primary": true, "value": format!("{name}@okta.local"), "type": "work" }],
        "active": true
    })
}

/// Polls `check` every 50 ms until it holds (or fails after 20 s, saying `what`).
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(url: &str, sql: &str, consumer: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.expect("db");
    let row: Count = diesel::sql_query(sql).bind::<Text, _>(consumer).get_result(&mut conn).await.expect("count");
    row.n
}

#[tokio::test]
async fn deleting_a_consumer_revokes_cancels_removes_and_refuses_its_tokens() {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let t = stack.tenant("Leaving").await;
    let stays = stack.tenant("Staying").await;
    let webhooks = stack.webhooks.clone().expect("webhook-dispatcher runs");
    let (url, inbox) = receiver();
    stack.subscribe(&t, &url, &["*"]).await;
    // Nothing listens on port 9: every attempt fails and is retried, so its deliveries stay pending.
    let dead = stack.subscribe(&t, "http://127.0.0.1:9/hook", &["*"]).await;
    let dead_log = format!("{webhooks}/api/webhooks/{}/deliveries", dead["id"].as_str().expect("id"));

    let mut members = Vec::new();
    for name in ["ada", "grace"] {
        let res = stack.scim_send(&t, Method::POST, "/Users", &user(name)).await;
        assert_eq!(res.status(), 201);
        members.push(json!({ "value": res.json::<Value>().await.expect("json")["id"] }));
    }
    let group = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Team", "members": members });
    assert_eq!(stack.scim_send(&t, Method::POST, "/Groups", &group).await.status(), 201);
    assert_eq!(stack.scim_send(&stays, Method::POST, "/Users", &user("stays")).await.status(), 201);
    wait_for(&inbox, 3).await;
    let deliveries = |status: &'static str| {
        let (client, url, token) = (stack.client.clone(), dead_log.clone(), t.app_token.clone());
        async move {
            let res = client.get(format!("{url}?status={status}")).bearer_auth(token).send().await.expect("log");
            res.json::<Value>().await.expect("json")["data"].as_array().cloned().unwrap_or_default()
        }
    };
    eventually("the dead endpoint's deliveries pending", || async { deliveries("pending").await.len() >= 3 }).await;
    let store_db = stack.store_db().to_owned();
    let rows = |table: &'static str| {
        let (db, consumer) = (store_db.clone(), t.consumer_id.clone());
        async move {
            count(&db, &format!("SELECT count(*) AS n FROM {table} WHERE consumer_id = $1::uuid"), &consumer).await
        }
    };
    eventually("the directory in employee-store", || async {
        rows("employees").await == 2 && rows("groups").await == 1
    })
    .await;
    assert!(rows("events").await >= 3, "the events feed has them");

    let deleted = stack
        .client
        .delete(format!("{}/api/consumers/{}", stack.control_plane, t.consumer_id))
        .bearer_auth(&t.app_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);

    // employee-store removes the directory and refuses the consumer's (still unexpired) token.
    eventually("employees, groups and feed removed", || async {
        rows("employees").await == 0 && rows("groups").await == 0 && rows("events").await == 0
    })
    .await;
    eventually("the HRIS API refuses the consumer's token", || async {
        stack.hris(&t, "/api/hris/employees").await.status() == 401
    })
    .await;
    let body: Value = stack.hris(&t, "/api/hris/groups").await.json().await.expect("json");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("deleted")), "{body}");
    // scim-ingress: the connection is revoked; control-plane: the consumer's token is refused.
    eventually("the SCIM token is revoked", || async { stack.scim_get(&t, "/Users").await.status() == 401 }).await;
    // (Within a couple of seconds: a replica believes a consumer alive that long.)
    eventually("control-plane refuses the consumer's token", || async {
        let res = stack.client.get(format!("{}/api/connections", stack.control_plane)).bearer_auth(&t.consumer_token);
        res.send().await.expect("connections").status() == 401
    })
    .await;

    // The dispatcher cancels what it still had to deliver, saying why in the delivery log.
    eventually("no delivery left pending", || async { deliveries("pending").await.is_empty() }).await;
    let failed = deliveries("failed").await;
    assert!(failed.len() >= 3, "{failed:?}");
    for d in &failed {
        let attempts = d["attempts"].as_array().expect("attempts");
        assert!(attempts.iter().any(|a| a["error"] == "not delivered: the consumer was deleted"), "{d}");
    }

    // The other consumer of the application is untouched.
    assert_eq!(stack.hris(&stays, "/api/hris/employees").await.status(), 200);
    assert_eq!(
        count(&store_db, "SELECT count(*) AS n FROM employees WHERE consumer_id = $1::uuid", &stays.consumer_id).await,
        1
    );
    stack.shutdown().await;
}
