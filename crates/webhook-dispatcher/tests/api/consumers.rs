//! A consumer's deletion (`consumer.deleted`): its pending deliveries, and those held back for a
//! subscription whose breaker is open, are failed with an attempt saying why; another
//! consumer's are not touched.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::early::WAIT;
use crate::helpers::{TestApp, employee_event, spawn_app_with};
use crate::receiver::Receiver;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.expect("db");
    diesel::sql_query(sql).get_result::<Count>(&mut conn).await.expect("count").n
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
}

#[tokio::test]
async fn a_deleted_consumers_pending_and_held_deliveries_are_cancelled() {
    // The first failure opens the breaker for long: later events of the subscription are held.
    let app = spawn_app_with(&[
        ("UAPI_WEBHOOKS__BREAKER_FAILURES", "1"),
        ("UAPI_WEBHOOKS__BREAKER_COOLDOWN_MS", "60000"),
        ("UAPI_WEBHOOKS__HOLD_MAX_SECS", "600"),
    ])
    .await;
    let application = Uuid::now_v7();
    let dead = Receiver::always(500);
    let token = app.token(application);
    let hook = app.create_webhook(&token, &dead.url, &["*"]).await;
    let hook_id = hook["id"].as_str().expect("id").to_owned();
    let (leaving, staying) = (Uuid::now_v7(), Uuid::now_v7());
    let event_of = |consumer: Uuid, employee: &str| {
        let mut e = employee_event(application, employee, 1, "employee.created");
        if let Some(t) = e.tenant.as_mut() {
            t.consumer_id = consumer.to_string();
        }
        e
    };
    app.publish(&event_of(leaving, "first")).await;
    dead.wait_hits(1, WAIT).await;
    for n in 0..4 {
        app.publish(&event_of(leaving, &format!("leaving-{n}"))).await;
        app.publish(&event_of(staying, &format!("staying-{n}"))).await;
    }
    eventually("the breaker holds the later events back", async || {
        count(&app, "SELECT coalesce(sum(cardinality(event_ids)), 0)::int8 AS n FROM held_deliveries").await == 8
    })
    .await;

    app.publish_consumer_deleted(application, leaving).await;
    let cancelled = format!(
        "SELECT count(*) AS n FROM deliveries d WHERE d.status = 'failed' AND EXISTS \
         (SELECT 1 FROM attempts a WHERE a.delivery_id = d.id AND a.error = '{}')",
        uapi_webhook_dispatcher::db::consumers::CANCELLED
    );
    eventually("the leaving consumer's 5 deliveries cancelled", async || count(&app, &cancelled).await == 5).await;
    assert_eq!(count(&app, "SELECT count(*) AS n FROM held_deliveries").await, 0, "held rows released");
    let staying_pending = format!(
        "SELECT count(*) AS n FROM deliveries d JOIN event_bodies b ON b.event_id = d.event_id \
         WHERE d.status = 'pending' AND b.body::jsonb ->> 'consumerId' = '{staying}'"
    );
    assert_eq!(count(&app, &staying_pending).await, 4, "the other consumer's deliveries wait for the endpoint");
    let tombstone = format!("SELECT count(*) AS n FROM deleted_consumers WHERE id = '{leaving}'");
    assert_eq!(count(&app, &tombstone).await, 1);

    // A cancelled delivery is never sent again: retry refuses it, recover leaves it.
    let failed = app.deliveries(&token, &hook_id, Some("failed")).await;
    let cancelled_one = failed
        .iter()
        .find(|d| {
            d["attempts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["error"] == uapi_webhook_dispatcher::db::consumers::CANCELLED))
        })
        .expect("a cancelled delivery in the log");
    let retry = format!("/api/webhooks/{hook_id}/deliveries/{}/retry", cancelled_one["id"].as_str().expect("id"));
    crate::helpers::assert_problem(app.post(&retry, &token, &serde_json::json!({})).await, 409).await;
    let since = serde_json::json!({ "since": "2000-01-01T00:00:00Z" });
    let recover = app.post(&format!("/api/webhooks/{hook_id}/recover"), &token, &since).await;
    assert_eq!(recover.status(), 202);
    assert_eq!(count(&app, &cancelled).await, 5, "recover leaves cancelled deliveries failed");
    app.shutdown().await;
}
