//! Delivery: the signed body, idempotent fan-out, retries, Retry-After, 410, auto-disable,
//! manual retry and recover, secret rotation, and per-entity order.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Subscriber, employee_event, spawn_app, spawn_app_with, verify_standard};
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn events_arrive_signed_with_the_contract_body() {
    let app = spawn_app().await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(200);
    let hook = app.create_webhook(&token, &rx.url, &["employee.created"]).await;
    let only_deleted = Receiver::always(200);
    app.create_webhook(&token, &only_deleted.url, &["employee.deleted"]).await;
    let other_app = Receiver::always(200);
    let other_token_app = Uuid::now_v7().to_string();
    app.create_webhook(&app.token(Uuid::parse_str(&other_token_app).expect("uuid")), &other_app.url, &["*"]).await;

    let event = employee_event(application, "emp-1", 1, "employee.created");
    app.publish(&event).await;
    let hit = rx.wait_hits(1, WAIT).await.remove(0);
    verify_standard(hook["secret"].as_str().expect("secret"), &hit).expect("standardwebhooks verifies the signature");
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.header("webhook-id"), event.event_id);
    let ts: i64 = hit.header("webhook-timestamp").parse().expect("unix seconds");
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 30);
    let body = hit.json();
    let tenant = event.tenant.as_ref().expect("tenant");
    assert_eq!(body["eventId"], event.event_id);
    assert_eq!(body["eventType"], "employee.created");
    assert_eq!(body["unifiedApi"], "hris");
    assert_eq!(body["serviceId"], "okta-scim");
    assert_eq!(body["consumerId"], tenant.consumer_id);
    assert_eq!(body["connectionId"], tenant.connection_id);
    assert_eq!((body["entityId"].as_str(), body["entityType"].as_str()), (Some("emp-1"), Some("employee")));
    assert!(body["occurred_at"].is_string());
    assert_eq!(body["version"], 1);
    assert_eq!(body["changedFields"], json!(["employmentStatus"]));
    assert_eq!(body["data"]["id"], "emp-1");
    assert_eq!(body["data"]["userName"], "emp-1@example.com");

    let id = hook["id"].as_str().expect("id");
    let log = app.wait_deliveries(&token, id, WAIT, |d| d.first().is_some_and(|d| d["status"] == "succeeded")).await;
    let d = &log[0];
    assert_eq!(d["eventId"], event.event_id);
    assert_eq!(d["attemptCount"], 1);
    assert_eq!(d["attempts"][0]["statusCode"], 200);
    assert_eq!(d["attempts"][0]["responseBody"], "reply 0");
    assert!(d["attempts"][0]["latencyMs"].is_number());
    assert_eq!(app.deliveries(&token, id, Some("failed")).await.len(), 0);
    // Sentinels fanned out after the event: once each arrived, the event's fan-out is over.
    let deleted = employee_event(application, "emp-2", 2, "employee.deleted");
    app.publish(&deleted).await;
    let other = employee_event(Uuid::parse_str(&other_token_app).expect("uuid"), "emp-9", 1, "employee.created");
    app.publish(&other).await;
    let got = only_deleted.wait_hits(1, WAIT).await;
    let theirs = other_app.wait_hits(1, WAIT).await;
    assert_eq!(got.iter().map(|h| h.header("webhook-id")).collect::<Vec<_>>(), [deleted.event_id.as_str()]);
    assert_eq!(theirs.iter().map(|h| h.header("webhook-id")).collect::<Vec<_>>(), [other.event_id.as_str()]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_redelivered_event_is_delivered_once() {
    let app = spawn_app().await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(204);
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let event = employee_event(application, "emp-1", 1, "employee.created");
    app.publish(&event).await;
    app.publish(&event).await;
    // A sentinel behind both copies: once it arrived, both copies were fanned out.
    let sentinel = employee_event(application, "emp-2", 1, "employee.created");
    app.publish(&sentinel).await;
    let id = hook["id"].as_str().expect("id");
    app.wait_deliveries(&token, id, WAIT, |d| d.len() == 2 && d.iter().all(|d| d["status"] == "succeeded")).await;
    let ids: Vec<String> = rx.hits().iter().map(|h| h.header("webhook-id").to_owned()).collect();
    assert_eq!(ids.iter().filter(|i| **i == event.event_id).count(), 1, "{ids:?}");
    assert_eq!(app.deliveries(&token, id, None).await.len(), 2);
    app.shutdown().await;
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_succeeds() {
    let app = spawn_app().await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::start(|n| if n < 3 { Reply::Status(500) } else { Reply::Status(200) });
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let event = employee_event(application, "emp-1", 1, "employee.created");
    app.publish(&event).await;
    let hits = rx.wait_hits(4, WAIT).await;
    assert!(hits.iter().all(|h| h.header("webhook-id") == event.event_id), "one webhook-id for every attempt");
    let id = hook["id"].as_str().expect("id");
    let log = app.wait_deliveries(&token, id, WAIT, |d| d.first().is_some_and(|d| d["status"] == "succeeded")).await;
    let codes: Vec<&Value> =
        log[0]["attempts"].as_array().expect("attempts").iter().map(|a| &a["statusCode"]).collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(500), &json!(200)]);
    assert_eq!(log[0]["attemptCount"], 4);
    assert_eq!(log[0]["attempts"][0]["error"], "HTTP 500");
    // A sentinel after the success: had the delivery gone out again, it would come before it.
    let sentinel = employee_event(application, "emp-2", 1, "employee.created");
    app.publish(&sentinel).await;
    let hits = rx.wait_hits(5, WAIT).await;
    assert_eq!(hits[4].header("webhook-id"), sentinel.event_id, "delivered once: no attempt after the success");
    app.shutdown().await;
}

#[tokio::test]
async fn exhausted_deliveries_are_failed_and_can_be_retried_and_recovered() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", "0,0.1")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    // Fails the first four requests (two deliveries × two attempts), then succeeds.
    let rx = Receiver::start(|n| if n < 4 { Reply::Status(502) } else { Reply::Status(200) });
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let id = hook["id"].as_str().expect("id");
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    app.publish(&employee_event(application, "emp-2", 1, "employee.created")).await;
    app.wait_deliveries(&token, id, WAIT, |d| d.len() == 2 && d.iter().all(|d| d["status"] == "failed")).await;
    let failed = app.deliveries(&token, id, Some("failed")).await;
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|d| d["attemptCount"] == 2 && d["nextAttemptAt"].is_null()));
    assert_eq!(app.deliveries(&token, id, Some("succeeded")).await.len(), 0);

    let first = failed[0]["id"].as_str().expect("delivery id");
    let res = app.post(&format!("/api/webhooks/{id}/deliveries/{first}/retry"), &token, &json!({})).await;
    assert_eq!(res.status(), 202);
    app.wait_deliveries(&token, id, WAIT, |d| d.iter().any(|d| d["id"] == first && d["status"] == "succeeded")).await;

    let res = app.post(&format!("/api/webhooks/{id}/recover"), &token, &json!({ "since": since.to_rfc3339() })).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.expect("json")["requeued"], 1, "only the one not succeeded");
    app.wait_deliveries(&token, id, WAIT, |d| d.iter().all(|d| d["status"] == "succeeded")).await;
    assert_eq!(rx.hits().len(), 6);
    app.shutdown().await;
}

#[tokio::test]
async fn gone_disables_the_subscription() {
    let app = spawn_app().await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(410);
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let id = hook["id"].as_str().expect("id");
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    rx.wait_hits(1, WAIT).await;
    let deadline = Instant::now() + WAIT;
    let sub = loop {
        let sub: Value = app.get(&format!("/api/webhooks/{id}"), &token).await.json().await.expect("json");
        if sub["status"] == "Disabled" {
            break sub;
        }
        assert!(Instant::now() < deadline, "never disabled: {sub}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert!(sub["disabledReason"].as_str().is_some_and(|r| r.contains("410")), "{sub}");
    assert!(sub["disabledAt"].is_string());
    assert_eq!(app.deliveries(&token, id, Some("failed")).await.len(), 1);
    app.publish(&employee_event(application, "emp-2", 1, "employee.created")).await;
    // A sentinel subscription created after the event's: its delivery proves the event fanned out.
    let sentinel = Receiver::always(200);
    app.create_webhook(&token, &sentinel.url, &["*"]).await;
    app.publish(&employee_event(application, "emp-3", 1, "employee.created")).await;
    sentinel.wait_hits(1, WAIT).await;
    assert_eq!(rx.hits().len(), 1, "a disabled subscription gets nothing");
    assert!(app.deliveries(&token, id, None).await.len() == 1, "and has no delivery for it");
    app.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let app = spawn_app().await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx =
        Receiver::start(
            |n| {
                if n == 0 { Reply::WithHeader(429, "retry-after", "2".into()) } else { Reply::Status(200) }
            },
        );
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let id = hook["id"].as_str().expect("id");
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    rx.wait_hits(1, WAIT).await;
    let pending =
        app.wait_deliveries(&token, id, WAIT, |d| d.first().is_some_and(|d| d["attemptCount"] == 1)).await.remove(0);
    let attempted: chrono::DateTime<chrono::Utc> =
        pending["attempts"][0]["attemptedAt"].as_str().expect("attemptedAt").parse().expect("time");
    let next: chrono::DateTime<chrono::Utc> =
        pending["nextAttemptAt"].as_str().expect("nextAttemptAt").parse().expect("time");
    assert!(next - attempted >= chrono::Duration::milliseconds(2000), "next {next}, attempted {attempted}");
    let hits = rx.wait_hits(2, WAIT).await;
    assert!(hits[1].at - hits[0].at >= Duration::from_millis(1900), "{:?}", hits[1].at - hits[0].at);
    app.shutdown().await;
}

#[tokio::test]
async fn a_subscription_failing_too_long_is_disabled() {
    let app = spawn_app_with(&[
        ("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", "0,0.3,0.3,0.3,0.3,0.3,0.3,0.3"),
        ("UAPI_WEBHOOKS__DISABLE_AFTER_FAILING_SECS", "1"),
    ])
    .await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(500);
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let id = hook["id"].as_str().expect("id");
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    let deadline = Instant::now() + WAIT;
    let sub = loop {
        let sub: Value = app.get(&format!("/api/webhooks/{id}"), &token).await.json().await.expect("json");
        if sub["status"] == "Disabled" {
            break sub;
        }
        assert!(Instant::now() < deadline, "never disabled: {sub}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(sub["disabledReason"].as_str().is_some_and(|r| r.contains("no successful delivery")), "{sub}");
    // Re-enabling clears the reason.
    let sub: Value = app
        .send(Method::PATCH, &format!("/api/webhooks/{id}"), &token, Some(&json!({ "status": "Enabled" })))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!((sub["status"].as_str(), &sub["disabledReason"]), (Some("Enabled"), &Value::Null));
    app.shutdown().await;
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign() {
    let app = spawn_app().await;
    let Subscriber { application, token, rx, hook, id } = app.subscriber().await;
    let old = hook["secret"].as_str().expect("secret").to_owned();
    let rotated: Value =
        app.post(&format!("/api/webhooks/{id}/rotate-secret"), &token, &json!({})).await.json().await.expect("json");
    let new = rotated["secret"].as_str().expect("secret").to_owned();
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    let hit = rx.wait_hits(1, WAIT).await.remove(0);
    assert_eq!(hit.header("webhook-signature").split(' ').count(), 2, "{}", hit.header("webhook-signature"));
    verify_standard(&old, &hit).expect("the previous secret still verifies");
    verify_standard(&new, &hit).expect("the new secret verifies");
    app.shutdown().await;
}

#[tokio::test]
async fn every_delivery_carries_a_w3c_traceparent() {
    let app = spawn_app().await;
    let Subscriber { application, rx, .. } = app.subscriber().await;
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    app.publish(&employee_event(application, "emp-2", 1, "employee.created")).await;
    let hits = rx.wait_hits(2, WAIT).await;
    let parents: Vec<&str> = hits.iter().map(|h| h.header("traceparent")).collect();
    for p in &parents {
        let parts: Vec<&str> = p.split('-').collect();
        assert_eq!(parts.len(), 4, "{p}");
        assert_eq!((parts[0], parts[1].len(), parts[2].len(), parts[3].len()), ("00", 32, 16, 2), "{p}");
        assert!(parts[1..].iter().all(|x| x.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())), "{p}");
        assert!(
            parts[1].chars().any(|c| c != '0') && parts[2].chars().any(|c| c != '0'),
            "all-zero ids are invalid: {p}"
        );
    }
    assert_ne!(parents[0], parents[1], "each delivery its own trace context");
    app.shutdown().await;
}

#[tokio::test]
async fn after_the_grace_period_only_the_new_secret_signs() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__SECRET_GRACE_SECS", "0")]).await;
    let Subscriber { application, token, rx, hook, id } = app.subscriber().await;
    let old = hook["secret"].as_str().expect("secret").to_owned();
    let rotated: Value =
        app.post(&format!("/api/webhooks/{id}/rotate-secret"), &token, &json!({})).await.json().await.expect("json");
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    let hit = rx.wait_hits(1, WAIT).await.remove(0);
    assert_eq!(hit.header("webhook-signature").split(' ').count(), 1);
    verify_standard(rotated["secret"].as_str().expect("secret"), &hit).expect("new secret");
    assert!(verify_standard(&old, &hit).is_err());
    app.shutdown().await;
}

#[tokio::test]
async fn versions_of_one_employee_arrive_in_order() {
    let app = spawn_app().await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::start(|_| Reply::Hang(Duration::from_millis(30)));
    app.create_webhook(&token, &rx.url, &["*"]).await;
    for v in 1..=5 {
        let kind = if v == 1 { "employee.created" } else { "employee.updated" };
        app.publish(&employee_event(application, "emp-1", v, kind)).await;
    }
    let hits = rx.wait_hits(5, WAIT).await;
    let versions: Vec<i64> = hits.iter().map(|h| h.json()["version"].as_i64().expect("version")).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    app.shutdown().await;
}

/// A hot employee: each version starts once the previous one's attempt is recorded, not at the
/// next poll (5 s here: were every version to wait for it, 30 would take minutes), whether its first attempt
/// starts early or from a claim.
#[tokio::test]
async fn versions_of_a_hot_employee_follow_each_other_at_endpoint_speed() {
    for cache_ms in ["0", "1000"] {
        let app = spawn_app_with(&[
            ("UAPI_WEBHOOKS__POLL_INTERVAL_MS", "5000"),
            ("UAPI_WEBHOOKS__SUBSCRIPTION_CACHE_MS", cache_ms),
        ])
        .await;
        let application = Uuid::now_v7();
        let token = app.token(application);
        let rx = Receiver::start(|_| Reply::Hang(Duration::from_millis(5)));
        app.create_webhook(&token, &rx.url, &["*"]).await;
        for v in 1..=30 {
            let kind = if v == 1 { "employee.created" } else { "employee.updated" };
            app.publish(&employee_event(application, "emp-hot", v, kind)).await;
        }
        // Under a full parallel test run a version takes up to half a second.
        let hits = rx.wait_hits(30, Duration::from_secs(25)).await;
        let versions: Vec<i64> = hits.iter().map(|h| h.json()["version"].as_i64().expect("version")).collect();
        assert_eq!(versions, (1..=30).collect::<Vec<_>>(), "cache {cache_ms} ms");
        app.shutdown().await;
    }
}

/// Versions that reach the dispatcher out of order (concurrent writers, a redelivery) still go out
/// in order to a healthy endpoint: version 5 waits for version 4 instead of taking a missing row
/// for a finished one.
#[tokio::test]
async fn a_version_that_arrives_late_still_goes_out_in_order() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__ORDER_GAP_MS", "20000")]).await;
    let Subscriber { application, token, rx, id, .. } = app.subscriber().await;
    let update =
        |v| employee_event(application, "emp-1", v, if v == 1 { "employee.created" } else { "employee.updated" });
    for v in 1..=3 {
        app.publish(&update(v)).await;
    }
    rx.wait_hits(3, WAIT).await;
    for v in 5..=8 {
        app.publish(&update(v)).await;
    }
    // Versions 5 to 8 have their deliveries before version 4 reaches the dispatcher.
    app.wait_deliveries(&token, &id, WAIT, |d| d.len() == 7).await;
    app.publish(&update(4)).await;
    let hits = rx.wait_hits(8, WAIT).await;
    let versions: Vec<i64> = hits.iter().map(|h| h.json()["version"].as_i64().expect("version")).collect();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());
    app.shutdown().await;
}

/// The order rule waits only for a version the subscription takes: one that wants only
/// `employee.deleted` gets it at once, although the updates before it never come.
#[tokio::test]
async fn a_subscription_that_skips_updates_does_not_wait_for_them() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__ORDER_GAP_MS", "20000")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(200);
    app.create_webhook(&token, &rx.url, &["employee.created", "employee.deleted"]).await;
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    rx.wait_hits(1, WAIT).await;
    for v in 2..=4 {
        app.publish(&employee_event(application, "emp-1", v, "employee.updated")).await;
    }
    app.publish(&employee_event(application, "emp-1", 5, "employee.deleted")).await;
    let hits = rx.wait_hits(2, Duration::from_secs(10)).await;
    assert_eq!(hits[1].json()["eventType"], "employee.deleted");
    app.shutdown().await;
}

#[tokio::test]
async fn finished_deliveries_past_retention_are_swept() {
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let Subscriber { application, token, rx: _rx, id, .. } = app.subscriber().await;
    app.publish(&employee_event(application, "emp-old", 1, "employee.created")).await;
    app.wait_deliveries(&token, &id, WAIT, |d| d.first().is_some_and(|d| d["status"] == "succeeded")).await;
    app.publish(&employee_event(application, "emp-new", 1, "employee.created")).await;
    app.wait_deliveries(&token, &id, WAIT, |d| d.len() == 2 && d.iter().all(|d| d["status"] == "succeeded")).await;
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&app.db_url).await.expect("db");
    diesel::sql_query("UPDATE deliveries SET completed_at = now() - interval '31 days' WHERE entity_id = 'emp-old'; ")
        .execute(&mut conn)
        .await
        .expect("age a delivery");
    diesel::sql_query("UPDATE event_bodies SET created_at = now() - interval '31 days'")
        .execute(&mut conn)
        .await
        .expect("age the bodies");
    let deleted = uapi_webhook_dispatcher::db::deliveries::sweep(&mut conn, 30, 100).await.expect("sweep");
    assert_eq!(deleted, 1);
    let left = app.deliveries(&token, &id, None).await;
    assert_eq!((left.len(), left[0]["entityId"].as_str()), (1, Some("emp-new")));
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let bodies: Count =
        diesel::sql_query("SELECT count(*) AS n FROM event_bodies").get_result(&mut conn).await.expect("count");
    assert_eq!(bodies.n, 1, "the swept delivery's body went too; the other's stays");
    drop(conn);
    app.shutdown().await;
}

#[tokio::test]
async fn a_version_in_backoff_lets_later_versions_through() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", "0,0.5,0.5")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    // The first request (version 1) fails; everything after succeeds.
    let rx = Receiver::start(|n| if n == 0 { Reply::Status(500) } else { Reply::Status(200) });
    app.create_webhook(&token, &rx.url, &["*"]).await;
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    rx.wait_hits(1, WAIT).await;
    app.publish(&employee_event(application, "emp-1", 2, "employee.updated")).await;
    let hits = rx.wait_hits(3, WAIT).await;
    let versions: Vec<i64> = hits.iter().map(|h| h.json()["version"].as_i64().expect("version")).collect();
    assert_eq!(versions, [1, 2, 1], "version 2 does not wait for version 1's retry");
    app.shutdown().await;
}
