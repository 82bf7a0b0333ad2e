//! Isolation: a hanging endpoint never delays a healthy one, a dead endpoint's breaker opens,
//! and two workers on one queue deliver each event once.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::helpers::{employee_event, spawn_app_with};
use crate::receiver::{Receiver, Reply};

#[tokio::test]
async fn a_hanging_endpoint_never_delays_a_healthy_one() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__MAX_IN_FLIGHT_PER_ENDPOINT", "4")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let hanging = Receiver::start(|_| Reply::Hang(Duration::from_millis(2500)));
    let healthy = Receiver::always(200);
    app.create_webhook(&token, &hanging.url, &["*"]).await;
    app.create_webhook(&token, &healthy.url, &["*"]).await;
    let mut published = HashMap::new();
    for i in 0..30 {
        let event = employee_event(application, &format!("emp-{i}"), 1, "employee.created");
        published.insert(event.event_id.clone(), Instant::now());
        app.publish(&event).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hits = healthy.wait_hits(30, Duration::from_secs(10)).await;
    let mut latencies: Vec<Duration> =
        hits.iter().map(|h| h.at.duration_since(published[h.header("webhook-id")])).collect();
    latencies.sort();
    let (p50, max) = (latencies[latencies.len() / 2], latencies[latencies.len() - 1]);
    // Blocked behind the hanging endpoint, they would take its 2.5 s.
    assert!(p50 < Duration::from_millis(300), "healthy p50 {p50:?}");
    assert!(max < Duration::from_millis(2000), "healthy max {max:?}");
    // The hanging endpoint never had more than its bound in flight.
    assert!(hanging.hits().len() <= 4, "{} attempts in flight to the hanging endpoint", hanging.hits().len());
    app.shutdown().await;
}

#[tokio::test]
async fn a_dead_endpoints_breaker_holds_its_retries_back() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__BREAKER_FAILURES", "3")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let dead = app.create_webhook(&token, &format!("http://127.0.0.1:{dead_port}/gone"), &["*"]).await;
    let healthy = Receiver::always(200);
    app.create_webhook(&token, &healthy.url, &["*"]).await;
    for i in 0..10 {
        app.publish(&employee_event(application, &format!("emp-{i}"), 1, "employee.created")).await;
    }
    healthy.wait_hits(10, Duration::from_secs(10)).await;
    // The ladder would retry every 0.2 s; the open breaker stops that for its cool-down.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = app.deliveries(&token, dead["id"].as_str().expect("id"), None).await;
    let attempts: i64 = log.iter().map(|d| d["attemptCount"].as_i64().expect("count")).sum();
    assert_eq!(log.len(), 10);
    assert!(attempts <= 10, "{attempts} attempts to a dead endpoint in 1.5 s");
    assert!(log.iter().all(|d| d["status"] == "pending"));
    // Which deliveries were attempted before the breaker opened depends on how their tasks ran
    // (a delivery claimed after it opened is given back unattempted): every attempt made has its error.
    let errors: Vec<&str> = log
        .iter()
        .flat_map(|d| d["attempts"].as_array().into_iter().flatten())
        .map(|a| a["error"].as_str().unwrap_or_default())
        .collect();
    assert!(!errors.is_empty() && errors.iter().all(|e| !e.is_empty()), "attempts and their errors: {errors:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn two_workers_on_one_queue_deliver_each_event_once() {
    let mut app = spawn_app_with(&[]).await;
    app.spawn_sibling(&[("UAPI_DISPATCHER__ROLE", "worker")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::start(|_| Reply::Hang(Duration::from_millis(5)));
    app.create_webhook(&token, &rx.url, &["*"]).await;
    for i in 0..150 {
        app.publish(&employee_event(application, &format!("emp-{i}"), 1, "employee.created")).await;
    }
    rx.wait_hits(150, Duration::from_secs(20)).await;
    // A sentinel behind them: a second copy of any, sent by the other worker, would come first.
    let sentinel = employee_event(application, "sentinel", 1, "employee.created");
    app.publish(&sentinel).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !rx.hits().iter().any(|h| h.header("webhook-id") == sentinel.event_id) {
        assert!(std::time::Instant::now() < deadline, "the sentinel never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hits = rx.hits();
    let hits: Vec<_> = hits.iter().filter(|h| h.header("webhook-id") != sentinel.event_id).collect();
    let ids: HashSet<&str> = hits.iter().map(|h| h.header("webhook-id")).collect();
    assert_eq!((hits.len(), ids.len()), (150, 150), "every event delivered exactly once");
    app.shutdown().await;
}

async fn held_rows(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count =
        diesel::sql_query("SELECT count(*) AS n FROM held_deliveries").get_result(conn).await.expect("count");
    count.n
}

/// A connection to the test's database once the fan-out has held something.
async fn wait_held(db_url: &str) -> diesel_async::AsyncPgConnection {
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(db_url).await.expect("db");
    let deadline = Instant::now() + Duration::from_secs(5);
    while held_rows(&mut conn).await == 0 {
        assert!(Instant::now() < deadline, "nothing was held for the stalled endpoint");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    conn
}

#[tokio::test]
async fn a_stalled_endpoints_new_deliveries_are_held_and_all_arrive_in_order() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__MAX_IN_FLIGHT_PER_ENDPOINT", "2")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    // The first two requests hang (every slot busy, nothing finishing): the endpoint stalls.
    let rx = Receiver::start(|n| if n < 2 { Reply::Hang(Duration::from_millis(2000)) } else { Reply::Status(200) });
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let hook = hook["id"].as_str().expect("id");
    for i in 0..2 {
        app.publish(&employee_event(application, &format!("first-{i}"), 1, "employee.created")).await;
    }
    rx.wait_hits(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    for v in 1..=5 {
        let kind = if v == 1 { "employee.created" } else { "employee.updated" };
        app.publish(&employee_event(application, "emp-x", v, kind)).await;
    }
    for i in 0..10 {
        app.publish(&employee_event(application, &format!("emp-{i}"), 1, "employee.created")).await;
    }
    let mut conn = wait_held(&app.db_url).await;
    // The log shows what is held, as pending deliveries (reading it makes them deliveries).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = app.deliveries(&token, hook, None).await;
    assert_eq!(log.len(), 17, "every event is in the log while the endpoint stalls");
    assert_eq!(held_rows(&mut conn).await, 0);
    // Once the endpoint answers, everything arrives once, emp-x's versions in order.
    rx.wait_hits(17, Duration::from_secs(15)).await;
    // A sentinel behind them: a second copy of any would come first.
    let sentinel = employee_event(application, "sentinel", 1, "employee.created");
    app.publish(&sentinel).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !rx.hits().iter().any(|h| h.header("webhook-id") == sentinel.event_id) {
        assert!(Instant::now() < deadline, "the sentinel never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all = rx.hits();
    let hits: Vec<_> = all.iter().filter(|h| h.header("webhook-id") != sentinel.event_id).collect();
    let ids: HashSet<&str> = hits.iter().map(|h| h.header("webhook-id")).collect();
    assert_eq!((hits.len(), ids.len()), (17, 17), "every event delivered exactly once");
    let versions: Vec<i64> = hits
        .iter()
        .map(|h| h.json())
        .filter(|b| b["entityId"] == "emp-x")
        .map(|b| b["version"].as_i64().expect("version"))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    drop(conn);
    app.shutdown().await;
}

#[tokio::test]
async fn held_deliveries_are_released_when_the_endpoint_recovers() {
    let app = spawn_app_with(&[("UAPI_WEBHOOKS__MAX_IN_FLIGHT_PER_ENDPOINT", "1")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::start(|n| if n == 0 { Reply::Hang(Duration::from_millis(1500)) } else { Reply::Status(200) });
    app.create_webhook(&token, &rx.url, &["*"]).await;
    app.publish(&employee_event(application, "first", 1, "employee.created")).await;
    rx.wait_hits(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let published = Instant::now();
    for i in 0..20 {
        app.publish(&employee_event(application, &format!("emp-{i}"), 1, "employee.created")).await;
    }
    let mut conn = wait_held(&app.db_url).await;
    // Nobody reads the log: the worker itself releases them when the hanging attempt finishes,
    // long before webhooks.hold_max_secs (60 s).
    let hits = rx.wait_hits(21, Duration::from_secs(10)).await;
    let last = hits.iter().map(|h| h.at).max().expect("hits");
    assert!(last.duration_since(published) < Duration::from_secs(5), "released after {:?}", last - published);
    assert_eq!(held_rows(&mut conn).await, 0);
    drop(conn);
    app.shutdown().await;
}
