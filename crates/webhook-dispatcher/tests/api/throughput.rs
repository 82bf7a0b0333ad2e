//! A rough throughput probe (ignored by default; `cargo nextest run -p uapi-webhook-dispatcher
//! --run-ignored only throughput`): events published as fast as possible to one subscription.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::helpers::{employee_event, spawn_app_with};
use crate::receiver::Receiver;

#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn throughput_to_a_local_sink() {
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let app = spawn_app_with(&[
        ("UAPI_DATABASE__POOL_SIZE", "16"),
        ("UAPI_HTTP__WORKERS", "1"),
        ("UAPI_WEBHOOKS__MAX_IN_FLIGHT_PER_ENDPOINT", &std::env::var("CAP").unwrap_or_else(|_| "16".into())),
    ])
    .await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(200);
    app.create_webhook(&token, &rx.url, &["*"]).await;
    app.publish(&employee_event(application, "warm-up", 1, "employee.created")).await;
    rx.wait_hits(1, Duration::from_secs(10)).await;
    let started = Instant::now();
    let events: Vec<_> =
        (0..n).map(|i| employee_event(application, &format!("emp-{i}"), 1, "employee.created")).collect();
    app.publish_many(&events).await;
    let published = started.elapsed();
    rx.wait_hits(n + 1, Duration::from_secs(120)).await;
    let total = started.elapsed();
    println!(
        "published {n} in {published:?} ({:.0}/s); delivered in {total:?} ({:.0}/s)",
        n as f64 / published.as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
    let hook = app.get("/api/webhooks", &token).await.json::<serde_json::Value>().await.expect("json");
    let id = hook["data"][0]["id"].as_str().expect("id").to_owned();
    let log = app.deliveries(&token, &id, None).await;
    let lat: Vec<i64> = log.iter().map(|d| d["attempts"][0]["latencyMs"].as_i64().unwrap_or(-1)).collect();
    let span = |d: &serde_json::Value, a: &str, b: &str| {
        let t = |k: &str| d[k].as_str().and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok());
        match (t(a), t(b)) {
            (Some(x), Some(y)) => (y - x).num_milliseconds(),
            _ => -1,
        }
    };
    let queued: Vec<i64> = log.iter().map(|d| span(d, "createdAt", "completedAt")).collect();
    println!("first 200: attempt latency ms {lat:?}\ncreated→completed ms {queued:?}");
    app.shutdown().await;
}

#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn latency_at_a_steady_rate() {
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let app = spawn_app_with(&[("UAPI_DATABASE__POOL_SIZE", "16")]).await;
    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::always(200);
    app.create_webhook(&token, &rx.url, &["*"]).await;
    app.publish(&employee_event(application, "warm-up", 1, "employee.created")).await;
    rx.wait_hits(1, Duration::from_secs(10)).await;
    let mut sent = std::collections::HashMap::new();
    for i in 0..n {
        let e = employee_event(application, &format!("emp-{i}"), 1, "employee.created");
        sent.insert(e.event_id.clone(), Instant::now());
        app.publish(&e).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hits = rx.wait_hits(n + 1, Duration::from_secs(60)).await;
    let mut lat: Vec<Duration> =
        hits.iter().filter_map(|h| sent.get(h.header("webhook-id")).map(|t| h.at.duration_since(*t))).collect();
    lat.sort();
    println!(
        "publish→webhook: p50 {:?}, p99 {:?}, max {:?}",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
        lat[lat.len() - 1]
    );
    app.shutdown().await;
}
