//! The real binary: a worker killed with SIGKILL in the middle of a delivery leaves a lease that
//! expires, and another worker delivers it with the same webhook-id.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::helpers::{employee_event, spawn_app_with};
use crate::receiver::{Receiver, Reply};

#[tokio::test]
async fn a_worker_killed_mid_delivery_leaves_it_to_another() {
    let lease = [("UAPI_WEBHOOKS__REQUEST_TIMEOUT_MS", "2000"), ("UAPI_WEBHOOKS__LEASE_MS", "4000")];
    let mut app = spawn_app_with(&[("UAPI_DISPATCHER__ROLE", "api")]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let port = port.to_string();
    let mut overrides = lease.to_vec();
    overrides.push(("UAPI_HTTP__PORT", &port));
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_webhook-dispatcher"))
        .args(["serve", "--role", "worker"])
        .env_clear()
        .envs(app.sibling_env(&overrides))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn webhook-dispatcher");
    app.wait_ready(&format!("http://127.0.0.1:{port}")).await;

    let application = Uuid::now_v7();
    let token = app.token(application);
    let rx = Receiver::start(|n| if n == 0 { Reply::Hang(Duration::from_secs(60)) } else { Reply::Status(200) });
    let hook = app.create_webhook(&token, &rx.url, &["*"]).await;
    let event = employee_event(application, "emp-1", 1, "employee.created");
    app.publish(&event).await;
    let first = rx.wait_hits(1, Duration::from_secs(15)).await.remove(0);
    worker.kill().expect("SIGKILL");
    let _ = worker.wait();
    let killed_at = Instant::now();

    app.spawn_sibling(&[lease[0], lease[1], ("UAPI_DISPATCHER__ROLE", "worker")]).await;
    let hits = rx.wait_hits(2, Duration::from_secs(15)).await;
    assert_eq!(hits[1].header("webhook-id"), first.header("webhook-id"));
    assert_eq!(first.header("webhook-id"), event.event_id);
    assert!(hits[1].at >= killed_at, "redelivered after the kill");
    let id = hook["id"].as_str().expect("id");
    let log = app
        .wait_deliveries(&token, id, Duration::from_secs(10), |d| d.first().is_some_and(|d| d["status"] == "succeeded"))
        .await;
    assert_eq!(log.len(), 1);
    app.shutdown().await;
}
