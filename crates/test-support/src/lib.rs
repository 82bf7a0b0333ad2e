//! Test helpers shared by every service's integration tests (dev-dependency only): a fresh
//! Postgres database per test, unique broker names, a TCP proxy that simulates outages, and
//! tracing installed once. Tests use the real Postgres and RabbitMQ; missing ones fail loudly.

mod db;
mod proxy;
pub mod tls;

pub use db::TestDb;
pub use proxy::TcpProxy;

use std::sync::Once;

/// Postgres server used by tests (`TEST_DATABASE_URL`, any database on it).
pub fn database_server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// RabbitMQ used by tests (`TEST_AMQP_URL`).
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A name no other test uses, e.g. for exchanges and queues: `<prefix>.<uuid>`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}.{}", uuid::Uuid::new_v4().simple())
}

/// Deletes an exchange (and the named queues) a test declared. Best effort.
pub async fn delete_broker_objects(exchange: &str, queues: &[&str]) {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let Ok(conn) = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await else {
        return;
    };
    if let Ok(ch) = conn.create_channel().await {
        for q in queues {
            let _ = ch.queue_delete((*q).into(), QueueDeleteOptions::default()).await;
        }
        if !exchange.is_empty() {
            let _ = ch.exchange_delete(exchange.into(), ExchangeDeleteOptions::default()).await;
        }
    }
    let _ = conn.close(200, "test cleanup".into()).await;
}

/// Deletes a consumer queue declared by `uapi_platform::amqp::declare_queue` together with its
/// dead-letter queue and exchange. Best effort.
pub async fn delete_queue_with_dead_letters(queue: &str) {
    delete_broker_objects(&format!("{queue}.dlx"), &[queue, &format!("{queue}.dlq")]).await;
    delete_broker_objects(&format!("{queue}.replay"), &[]).await;
}

/// Installs a test-friendly subscriber once per process when `TEST_LOG` is set.
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
                ))
                .with_test_writer()
                .try_init();
        }
    });
}

/// The `Retry-After` of a response, in whole seconds; panics when there is none.
pub fn retry_after_secs(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds")
}
