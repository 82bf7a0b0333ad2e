//! Early sends: a new event's first attempt starts while its fan-out commits. The tests hold the
//! fan-out back with a table lock on `event_bodies` (every fan-out writes it; claims and the API
//! only read it), so what arrives meanwhile was sent early, and what does not was not.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Subscriber, TestApp, employee_event, spawn_app_with};
use crate::receiver::Receiver;

pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// How long an event that is not sent early is watched for, with its fan-out held back.
const QUIET: Duration = Duration::from_millis(700);

/// A cache that outlives the test: an entry expiring between two steps on a busy machine would
/// send the later event the usual way, which the held fan-out keeps from arriving.
pub(crate) const LONG_CACHE: &[(&str, &str)] = &[("UAPI_WEBHOOKS__SUBSCRIPTION_CACHE_MS", "60000")];

/// A connection holding every fan-out back until it is dropped or committed.
pub(crate) async fn hold_fan_out(app: &TestApp) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.expect("db");
    diesel::sql_query("BEGIN").execute(&mut conn).await.expect("begin");
    diesel::sql_query("LOCK TABLE event_bodies IN EXCLUSIVE MODE").execute(&mut conn).await.expect("lock");
    conn
}

pub(crate) async fn release_fan_out(mut conn: AsyncPgConnection) {
    diesel::sql_query("COMMIT").execute(&mut conn).await.expect("commit");
}

/// Publishes one event and waits until it is delivered, so the worker has the application's
/// subscriptions cached when the test begins.
pub(crate) async fn warm_up(app: &TestApp, token: &str, hook: &str, rx: &Receiver, application: Uuid) {
    app.publish(&employee_event(application, "warm-up", 1, "employee.created")).await;
    rx.wait_hits(1, WAIT).await;
    app.wait_deliveries(token, hook, WAIT, |d| d.len() == 1 && d[0]["status"] == "succeeded").await;
}

pub(crate) fn versions(rx: &Receiver, entity: &str) -> Vec<i64> {
    rx.hits()
        .iter()
        .map(|h| h.json())
        .filter(|b| b["entityId"] == entity)
        .map(|b| b["version"].as_i64().expect("version"))
        .collect()
}

#[tokio::test]
async fn a_new_event_arrives_before_its_fan_out_commits_and_is_recorded_once() {
    let app = spawn_app_with(LONG_CACHE).await;
    let Subscriber { application, token, rx, id, .. } = app.subscriber().await;
    warm_up(&app, &token, &id, &rx, application).await;

    let lock = hold_fan_out(&app).await;
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    rx.wait_hits(2, WAIT).await;
    assert_eq!(versions(&rx, "emp-1"), [1], "version 1 went out while its fan-out waited");
    assert_eq!(app.deliveries(&token, &id, None).await.len(), 1, "its delivery is not written yet");
    // Version 2 must wait: version 1's first attempt is not recorded (its delivery does not exist).
    app.publish(&employee_event(application, "emp-1", 2, "employee.updated")).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(versions(&rx, "emp-1"), [1], "version 2 did not overtake version 1's record");
    release_fan_out(lock).await;

    let log =
        app.wait_deliveries(&token, &id, WAIT, |d| d.len() == 3 && d.iter().all(|d| d["status"] == "succeeded")).await;
    let first = log.iter().find(|d| d["entityId"] == "emp-1" && d["version"] == 1).expect("version 1's delivery");
    assert_eq!(first["attemptCount"], 1, "the early attempt is recorded against the delivery: {first}");
    rx.wait_hits(3, WAIT).await;
    assert_eq!(versions(&rx, "emp-1"), [1, 2], "each once, in order");

    // Version 2's first attempt is recorded now: version 3 may go early.
    let lock = hold_fan_out(&app).await;
    app.publish(&employee_event(application, "emp-1", 3, "employee.updated")).await;
    rx.wait_hits(4, WAIT).await;
    assert_eq!(versions(&rx, "emp-1"), [1, 2, 3]);
    release_fan_out(lock).await;
    app.wait_deliveries(&token, &id, WAIT, |d| d.len() == 4 && d.iter().all(|d| d["status"] == "succeeded")).await;
    app.shutdown().await;
}

#[tokio::test]
async fn with_the_cache_off_nothing_goes_before_its_fan_out() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__SUBSCRIPTION_CACHE_MS", "0")]).await;
    let Subscriber { application, token, rx, id, .. } = app.subscriber().await;
    warm_up(&app, &token, &id, &rx, application).await;
    let lock = hold_fan_out(&app).await;
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(rx.hits().len(), 1, "only the warm-up");
    release_fan_out(lock).await;
    rx.wait_hits(2, WAIT).await;
    app.shutdown().await;
}

#[tokio::test]
async fn an_early_send_with_a_url_changed_elsewhere_is_delivered_again_to_the_new_one() {
    // A long-lived cache: the change below cannot reach this worker by a refresh.
    let mut app = spawn_app_with(LONG_CACHE).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let (old, new) = (Receiver::always(200), Receiver::always(200));
    let hook = app.create_webhook(&token, &old.url, &["*"]).await;
    let id = hook["id"].as_str().expect("id").to_owned();
    warm_up(&app, &token, &id, &old, application).await;
    // Another process's API: this worker's cache does not hear of the change.
    let api = app.spawn_sibling(&[("UAPI_DISPATCHER__ROLE", "api")]).await;
    let res = app
        .client
        .patch(format!("{api}/api/webhooks/{id}"))
        .bearer_auth(&token)
        .json(&json!({ "deliveryUrl": new.url }))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    let hit = new.wait_hits(1, WAIT).await.remove(0);
    assert_eq!(hit.json()["entityId"], "emp-1");
    let log =
        app.wait_deliveries(&token, &id, WAIT, |d| d.len() == 2 && d.iter().all(|d| d["status"] == "succeeded")).await;
    let delivery: Vec<&Value> = log.iter().filter(|d| d["entityId"] == "emp-1").collect();
    assert_eq!(delivery[0]["attemptCount"], 1, "only the attempt to the current URL is recorded: {delivery:?}");
    // The early send went to the old URL (the cache's), once; the next event goes only to the new one.
    assert_eq!(old.hits().len(), 2, "the warm-up and the early send");
    app.publish(&employee_event(application, "emp-2", 1, "employee.created")).await;
    new.wait_hits(2, WAIT).await;
    assert_eq!(old.hits().len(), 2, "the cache entry was dropped");
    app.shutdown().await;
}

#[tokio::test]
async fn a_second_copy_of_an_event_is_not_sent_early() {
    let app = spawn_app_with(LONG_CACHE).await;
    let Subscriber { application, token, rx, id, .. } = app.subscriber().await;
    warm_up(&app, &token, &id, &rx, application).await;
    let lock = hold_fan_out(&app).await;
    // The relay publishes an event again when it cannot tell whether the first publish landed.
    let event = employee_event(application, "emp-1", 1, "employee.created");
    app.publish(&event).await;
    app.publish(&event).await;
    rx.wait_hits(2, WAIT).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(versions(&rx, "emp-1"), [1], "the first copy went early, the second waits for the fan-out");
    release_fan_out(lock).await;
    app.wait_deliveries(&token, &id, WAIT, |d| d.len() == 2 && d.iter().all(|d| d["status"] == "succeeded")).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(versions(&rx, "emp-1"), [1], "delivered once");
    app.shutdown().await;
}
