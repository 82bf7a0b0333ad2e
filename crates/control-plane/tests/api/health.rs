//! Health: `/readyz` follows Postgres (through a proxy the test cuts and restores), and SIGTERM
//! drains the real binary cleanly.

use std::time::{Duration, Instant};

use serde_json::Value;
use uapi_test_support::TcpProxy;

use crate::helpers::spawn_app_with;

async fn wait_for_status(client: &reqwest::Client, url: &str, status: u16, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(res) = client.get(url).send().await
            && res.status().as_u16() == status
        {
            return res.json().await.unwrap_or(Value::Null);
        }
        assert!(Instant::now() < deadline, "{url} did not answer {status} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readyz_follows_postgres_and_recovers_by_itself() {
    let db = uapi_test_support::TestDb::new().await.expect("db");
    uapi_platform::db::migrate(&db.url, uapi_control_plane::MIGRATIONS, uapi_control_plane::MIGRATION_LOCK)
        .await
        .expect("migrate");
    let proxy = TcpProxy::start("127.0.0.1:5432").await.expect("proxy");
    let via_proxy = db.url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    let app = spawn_app_with(&[
        ("UAPI_DATABASE__URL", via_proxy.as_str()),
        ("UAPI_DATABASE__ACQUIRE_TIMEOUT_MS", "500"),
        ("UAPI_DATABASE__CONNECT_TIMEOUT_MS", "500"),
    ])
    .await;
    let readyz = app.url("/readyz");
    let up = wait_for_status(&app.client, &readyz, 200, Duration::from_secs(10)).await;
    assert_eq!(up["checks"]["postgres"], "ok");
    assert_eq!(up["checks"]["rabbitmq"], "ok");

    proxy.cut();
    let down = wait_for_status(&app.client, &readyz, 503, Duration::from_secs(10)).await;
    assert_ne!(down["checks"]["postgres"], "ok");
    assert_eq!(down["status"], "unavailable");
    // Liveness never depends on Postgres, and API calls get a 503 problem, not a 500.
    assert_eq!(app.client.get(app.url("/livez")).send().await.expect("livez").status(), 204);
    let res = app
        .client
        .post(app.url("/admin/applications"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(&serde_json::json!({ "name": "x" }))
        .send()
        .await
        .expect("request");
    crate::helpers::assert_problem(res, 503).await;

    proxy.restore();
    wait_for_status(&app.client, &readyz, 200, Duration::from_secs(15)).await;
    let (_, _key) = app.create_application("after recovery").await;
    app.shutdown(&[]).await;
    drop(db);
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let db = uapi_test_support::TestDb::new().await.expect("db");
    let (signing, _) = uapi_platform::auth::generate_keypair().expect("key pair");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("addr").port()
    };
    let exchange = uapi_test_support::unique_name("test.events");
    let run = |cmd: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_control-plane"))
            .arg(cmd)
            .env("UAPI_HTTP__PORT", port.to_string())
            .env("UAPI_HTTP__DRAIN_DELAY_MS", "1500")
            .env("UAPI_DATABASE__URL", &db.url)
            .env("UAPI_AMQP__URL", uapi_test_support::amqp_url())
            .env("UAPI_AMQP__EXCHANGE", &exchange)
            .env("UAPI_OUTBOX__CONNECTION_EVENTS_QUEUE", format!("{exchange}.mailbox"))
            .env("UAPI_ADMIN__TOKEN", crate::helpers::ADMIN_TOKEN)
            .env("UAPI_AUTH__SIGNING_KEY", &signing)
            .env("UAPI_SCIM__TOKEN_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn control-plane")
    };
    assert!(run("migrate").wait().expect("migrate").success());
    let mut child = run("serve");
    let client = reqwest::Client::new();
    let readyz = format!("http://127.0.0.1:{port}/readyz");
    wait_for_status(&client, &readyz, 200, Duration::from_secs(20)).await;

    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    // While draining, readiness says 503 but requests are still served.
    let draining = wait_for_status(&client, &readyz, 503, Duration::from_secs(2)).await;
    assert_eq!(draining["status"], "draining");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    uapi_test_support::delete_broker_objects(&exchange, &[]).await;
    uapi_test_support::delete_queue_with_dead_letters(&format!("{exchange}.mailbox")).await;
}
