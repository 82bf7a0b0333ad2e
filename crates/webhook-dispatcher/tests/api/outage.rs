//! A worker that loses its database in the middle of a delivery: the webhook it already sent is
//! recorded once the database is back, never sent a second time when its lease expires. The
//! worker reaches Postgres through a proxy the test cuts; the API process (which the test reads
//! deliveries through) keeps its own connection.

use std::time::Duration;

use uapi_test_support::TcpProxy;
use uuid::Uuid;

use crate::early::{LONG_CACHE, WAIT, hold_fan_out, release_fan_out, versions, warm_up};
use crate::helpers::{Subscriber, TestApp, employee_event, spawn_app_with};
use crate::receiver::{Receiver, Reply};

/// Longer than every wait below: a delivery left leased by an unrecorded attempt stays so, and
/// is not sent again, for the whole test.
const LEASE_MS: &str = "60000";

/// The API process, and a worker whose database connections go through the returned proxy.
async fn split_deployment(extra: &[(&str, &str)]) -> (TestApp, TcpProxy) {
    let mut app = spawn_app_with(&[("UAPI_DISPATCHER__ROLE", "api")]).await;
    let mut url = url::Url::parse(&app.db_url).expect("database URL");
    let server = format!("{}:{}", url.host_str().expect("host"), url.port().unwrap_or(5432));
    let proxy = TcpProxy::start(&server).await.expect("proxy");
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(proxy.port)).expect("port");
    let mut overrides = vec![
        ("UAPI_DISPATCHER__ROLE", "worker"),
        ("UAPI_DATABASE__URL", url.as_str()),
        ("UAPI_DATABASE__ACQUIRE_TIMEOUT_MS", "500"),
        ("UAPI_DATABASE__CONNECT_TIMEOUT_MS", "500"),
        ("UAPI_WEBHOOKS__LEASE_MS", LEASE_MS),
    ];
    overrides.extend_from_slice(extra);
    app.spawn_sibling(&overrides).await;
    (app, proxy)
}

#[tokio::test]
async fn an_attempt_that_ends_while_the_database_is_away_is_recorded_when_it_is_back() {
    let (app, proxy) = split_deployment(&[]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    // The first request is answered after a second: the test cuts the database meanwhile.
    let rx = Receiver::start(|n| if n == 0 { Reply::Hang(Duration::from_secs(1)) } else { Reply::Status(200) });
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let id = hook["id"].as_str().expect("id");
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    rx.wait_hits(1, WAIT).await;
    // The fan-out committed (the delivery exists) before the cut: only the record is at stake.
    app.wait_deliveries(&token, id, WAIT, |d| d.len() == 1).await;
    proxy.cut();
    // The attempt ends (answered 200 after 1 s) and its record fails: the database is away.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    proxy.restore();

    let log = app.wait_deliveries(&token, id, WAIT, |d| d.len() == 1 && d[0]["status"] == "succeeded").await;
    assert_eq!(log[0]["attemptCount"], 1, "{}", log[0]);
    assert_eq!(rx.hits().len(), 1, "sent once, recorded when the database came back");
    app.shutdown().await;
}

#[tokio::test]
async fn an_early_send_whose_fan_out_loses_the_database_is_recorded_not_sent_again() {
    let (app, proxy) = split_deployment(LONG_CACHE).await;
    let Subscriber { application, token, rx, id, .. } = app.subscriber().await;
    warm_up(&app, &token, &id, &rx, application).await;

    // The fan-out waits for the lock; version 1 goes early meanwhile.
    let lock = hold_fan_out(&app).await;
    app.publish(&employee_event(application, "emp-1", 1, "employee.created")).await;
    rx.wait_hits(2, WAIT).await;
    // Its fan-out loses its connection, and cannot open another until the restore.
    proxy.cut();
    release_fan_out(lock).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.restore();

    let log =
        app.wait_deliveries(&token, &id, WAIT, |d| d.len() == 2 && d.iter().all(|d| d["status"] == "succeeded")).await;
    let first = log.iter().find(|d| d["entityId"] == "emp-1").expect("version 1's delivery");
    assert_eq!(first["attemptCount"], 1, "the early attempt is recorded against the delivery: {first}");
    assert_eq!(versions(&rx, "emp-1"), [1], "sent once");
    app.shutdown().await;
}
