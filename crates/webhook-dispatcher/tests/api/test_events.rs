//! `POST /api/webhooks/{id}/test`: a signed `webhook.test` event, delivered like any other event
//! (delivery log, retries, manual retry, SSRF guard), to enabled and disabled subscriptions alike.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_problem, employee_event, spawn_app, spawn_app_with, verify_standard};
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(15);

/// Sends a test event to `webhook`; returns the 202's body.
async fn send_test(app: &TestApp, token: &str, webhook: &str) -> Value {
    let res = app.post(&format!("/api/webhooks/{webhook}/test"), token, &json!({})).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.headers()["content-type"], "application/json");
    let sent: Value = res.json().await.expect("json");
    let keys: Vec<&String> = sent.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["deliveryId", "eventId", "eventType"], "{sent}");
    assert_eq!(sent["eventType"], "webhook.test");
    sent
}

#[tokio::test]
async fn a_test_event_arrives_signed_and_is_in_the_delivery_log() {
    let app = spawn_app().await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(200);
    // A test goes whatever event types the subscription takes.
    let hook = app.create_webhook(&token, &rx.url, &["employee.deleted"]).await;
    let id = hook["id"].as_str().expect("id");

    let sent = send_test(&app, &token, id).await;
    let event_id = sent["eventId"].as_str().expect("eventId");
    assert_eq!(Uuid::parse_str(event_id).expect("uuid").get_version_num(), 7);
    let hit = rx.wait_hits(1, WAIT).await.remove(0);
    verify_standard(hook["secret"].as_str().expect("secret"), &hit).expect("standardwebhooks verifies the signature");
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.header("webhook-id"), event_id);
    let body = hit.json();
    assert_eq!(body["eventId"], event_id);
    assert_eq!(body["eventType"], "webhook.test");
    assert_eq!(body["unifiedApi"], "hris");
    assert_eq!((body["entityType"].as_str(), body["entityId"].as_str()), (Some("webhook"), Some(id)));
    assert_eq!(body["version"], 1);
    assert_eq!(body["changedFields"], json!([]));
    assert!(body["occurred_at"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
    assert_eq!(body["data"], json!({ "webhookId": id, "message": "This is a test event from uapi-hris." }));

    let log = app.wait_deliveries(&token, id, WAIT, |d| d.first().is_some_and(|d| d["status"] == "succeeded")).await;
    assert_eq!(log.len(), 1);
    let d = &log[0];
    assert_eq!((&d["id"], &d["eventId"], &d["webhookId"]), (&sent["deliveryId"], &sent["eventId"], &json!(id)));
    assert_eq!((d["eventType"].as_str(), d["entityId"].as_str()), (Some("webhook.test"), Some(id)));
    assert_eq!(d["attemptCount"], 1);
    assert_eq!(d["attempts"][0]["statusCode"], 200);

    // Each test is an event of its own.
    let again = send_test(&app, &token, id).await;
    assert_ne!(again["eventId"], sent["eventId"]);
    assert_eq!(rx.wait_hits(2, WAIT).await[1].header("webhook-id"), again["eventId"].as_str().expect("eventId"));
    app.shutdown().await;
}

#[tokio::test]
async fn another_applications_webhook_is_not_found_and_gets_nothing() {
    let app = spawn_app().await;
    let (mine, theirs) = (app.token(Uuid::now_v7()), app.token(Uuid::now_v7()));
    let rx = Receiver::always(200);
    let id = app.create_webhook(&mine, &rx.url, &["*"]).await["id"].as_str().expect("id").to_owned();
    assert_problem(app.post(&format!("/api/webhooks/{id}/test"), &theirs, &json!({})).await, 404).await;
    assert_problem(app.post(&format!("/api/webhooks/{}/test", Uuid::now_v7()), &mine, &json!({})).await, 404).await;
    // An id that is no UUID names nothing, as on every route with an id.
    assert_problem(app.post("/api/webhooks/not-a-uuid/test", &mine, &json!({})).await, 404).await;
    let consumer = app.consumer_token(Uuid::now_v7());
    assert_problem(app.send(Method::POST, &format!("/api/webhooks/{id}/test"), &consumer, None).await, 403).await;
    assert_problem(app.send(Method::POST, &format!("/api/webhooks/{id}/test"), "nope", None).await, 401).await;
    // The owner's own test goes, and is the only request the receiver ever got.
    send_test(&app, &mine, &id).await;
    app.wait_deliveries(&mine, &id, WAIT, |d| d.len() == 1 && d[0]["status"] == "succeeded").await;
    assert_eq!(rx.hits().len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_failing_receiver_gets_the_test_retried_then_failed_and_it_can_be_retried() {
    // No breaker in the way of the manual retry: this is about the ladder.
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__BREAKER_FAILURES", "50")]).await;
    let token = app.token(Uuid::now_v7());
    let rx = Receiver::start(|n| if n < 5 { Reply::Status(500) } else { Reply::Status(200) });
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let (id, secret) = (hook["id"].as_str().expect("id"), hook["secret"].as_str().expect("secret"));
    let sent = send_test(&app, &token, id).await;

    // The test ladder: five attempts, then failed.
    let log = app.wait_deliveries(&token, id, WAIT, |d| d.first().is_some_and(|d| d["status"] == "failed")).await;
    assert_eq!(log[0]["attemptCount"], 5);
    let attempts = log[0]["attempts"].as_array().expect("attempts");
    assert!(attempts.iter().all(|a| a["statusCode"] == 500 && a["error"] == "HTTP 500"), "{attempts:#?}");
    assert_eq!(app.deliveries(&token, id, Some("failed")).await.len(), 1);
    let hits = rx.hits();
    assert_eq!(hits.len(), 5);
    for hit in &hits {
        assert_eq!(hit.header("webhook-id"), sent["eventId"].as_str().expect("eventId"), "one id for every attempt");
        verify_standard(secret, hit).expect("each attempt signed afresh");
    }

    let delivery = sent["deliveryId"].as_str().expect("deliveryId");
    let res = app.post(&format!("/api/webhooks/{id}/deliveries/{delivery}/retry"), &token, &json!({})).await;
    assert_eq!(res.status(), 202);
    let log = app.wait_deliveries(&token, id, WAIT, |d| d.first().is_some_and(|d| d["status"] == "succeeded")).await;
    assert_eq!(log[0]["attemptCount"], 6);
    assert_eq!(rx.wait_hits(6, WAIT).await[5].body, hits[0].body, "the same body, sent again");
    app.shutdown().await;
}

#[tokio::test]
async fn a_disabled_subscription_gets_its_tests_and_nothing_else() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", "0,3")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    // The event's first attempt fails: it stays pending, due again in 3 s.
    let rx = Receiver::start(|n| if n == 0 { Reply::Status(500) } else { Reply::Status(200) });
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let id = hook["id"].as_str().expect("id");
    let event = employee_event(application, "emp-1", 1, "employee.created");
    app.publish(&event).await;
    app.wait_deliveries(&token, id, WAIT, |d| d.first().is_some_and(|d| d["attemptCount"] == 1)).await;
    let failed_at = Instant::now();
    let path = format!("/api/webhooks/{id}");
    let disabled = app.send(Method::PATCH, &path, &token, Some(&json!({ "status": "Disabled" }))).await;
    assert_eq!(disabled.status(), 200);

    let sent = send_test(&app, &token, id).await;
    let hit = rx.wait_hits(2, WAIT).await.remove(1);
    assert_eq!(hit.header("webhook-id"), sent["eventId"].as_str().expect("eventId"));
    verify_standard(hook["secret"].as_str().expect("secret"), &hit).expect("signed");
    app.wait_deliveries(&token, id, WAIT, |d| {
        d.iter().any(|d| d["eventType"] == "webhook.test" && d["status"] == "succeeded")
    })
    .await;

    // Past the event's retry time: while disabled, its other deliveries wait, and no new ones come.
    app.publish(&employee_event(application, "emp-2", 1, "employee.created")).await;
    tokio::time::sleep(Duration::from_secs(4).saturating_sub(failed_at.elapsed())).await;
    let log = app.deliveries(&token, id, None).await;
    let waiting: Vec<&Value> = log.iter().filter(|d| d["eventType"] != "webhook.test").collect();
    assert_eq!(waiting.len(), 1, "{log:#?}");
    assert_eq!((&waiting[0]["eventId"], &waiting[0]["status"]), (&json!(event.event_id), &json!("pending")));
    assert_eq!(waiting[0]["attemptCount"], 1);
    assert_eq!(rx.hits().len(), 2);
    let sub: Value = app.get(&format!("/api/webhooks/{id}"), &token).await.json().await.expect("json");
    assert_eq!(sub["status"], "Disabled", "a test does not enable it");
    app.shutdown().await;
}

/// A test event meets the SSRF guard at connect time like any delivery, and an API-only process
/// leaves its sending to a worker.
#[tokio::test]
async fn a_test_event_is_refused_by_the_ssrf_guard_like_any_delivery() {
    let mut app = spawn_app_with(&[("UAPI_DISPATCHER__ROLE", "api")]).await;
    app.spawn_sibling(&[("UAPI_DISPATCHER__ROLE", "worker"), ("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "false")]).await;
    let token = app.token(Uuid::now_v7());
    let rx = Receiver::always(200);
    let id = app.create_webhook(&token, &rx.url, &["*"]).await["id"].as_str().expect("id").to_owned();
    send_test(&app, &token, &id).await;
    let log = app
        .wait_deliveries(&token, &id, WAIT, |d| d.first().is_some_and(|d| d["attemptCount"].as_i64() >= Some(1)))
        .await;
    let error = log[0]["attempts"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("internal address"), "{error}");
    assert_eq!(log[0]["attempts"][0]["statusCode"], Value::Null);
    assert!(rx.hits().is_empty(), "the receiver was reached");
    app.shutdown().await;
}
