//! `spawn_app`: employee-store on a random port with its own database, exchange and queue, fed by
//! events the test publishes as scim-ingress does, read with consumer tokens the test signs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use prost::Message;
use reqwest::{Client, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uapi_employee_store::config::Settings;
use uapi_employee_store::startup::Application;
use uapi_events::v1::{Employee, EmployeeEvent, EmploymentStatus, GroupRef, Tenant};
use uapi_platform::amqp::{Broker, Outgoing, Publisher};
use uapi_platform::auth::{Scope, TokenIssuer};
use uapi_platform::config::Sources;
use uapi_test_support::TestDb;
use uuid::Uuid;

pub struct TestApp {
    pub addr: String,
    pub client: Client,
    exchange: String,
    queue: String,
    issuer: TokenIssuer,
    publisher: Publisher,
    _broker: std::sync::Arc<Broker>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _db: TestDb,
}

/// One consumer of the test: its ids and a token.
pub struct Consumer {
    pub application: Uuid,
    pub id: Uuid,
    pub token: String,
}

pub async fn spawn_app() -> TestApp {
    uapi_test_support::init_tracing();
    let db = TestDb::new().await.expect("db");
    let exchange = uapi_test_support::unique_name("test.events");
    let queue = format!("{exchange}.employee-store.events");
    let (signing, verifying) = uapi_platform::auth::generate_keypair().expect("key pair");
    let env: HashMap<String, String> = [
        ("UAPI_HTTP__PORT", "0".to_owned()),
        ("UAPI_HTTP__WORKERS", "2".to_owned()),
        ("UAPI_DATABASE__URL", db.url.clone()),
        ("UAPI_DATABASE__POOL_SIZE", "4".to_owned()),
        ("UAPI_AMQP__URL", uapi_test_support::amqp_url()),
        ("UAPI_AMQP__EXCHANGE", exchange.clone()),
        ("UAPI_CONSUMER__QUEUE", queue.clone()),
        ("UAPI_AUTH__VERIFYING_KEY", verifying),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = Settings::load(Sources { file: None, env: Some(env) }).expect("settings");
    uapi_platform::db::migrate(&db.url, uapi_employee_store::MIGRATIONS, uapi_employee_store::MIGRATION_LOCK)
        .await
        .expect("migrate");
    let app = Application::build(&settings).expect("app");
    let addr = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run_until(stop.clone()));
    let broker = Broker::new(uapi_test_support::amqp_url(), "test-publisher");
    broker.connect_now().await.expect("rabbitmq");
    let publisher = Publisher::open(&broker, &exchange).await.expect("publisher");
    let issuer = TokenIssuer::from_base64(&signing, Duration::from_secs(600)).expect("issuer");
    TestApp {
        addr,
        client: Client::new(),
        exchange,
        queue,
        issuer,
        publisher,
        _broker: broker,
        stop,
        task: Some(task),
        _db: db,
    }
}

impl TestApp {
    pub fn consumer(&self) -> Consumer {
        let (application, id) = (Uuid::now_v7(), Uuid::now_v7());
        let token = self.issuer.issue(Scope::Consumer, application, Some(id)).expect("token");
        Consumer { application, id, token }
    }

    pub async fn get(&self, c: &Consumer, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.addr)).bearer_auth(&c.token).send().await.expect("request")
    }

    pub async fn get_json(&self, c: &Consumer, path: &str) -> Value {
        let res = self.get(c, path).await;
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.expect("json")
    }

    /// Publishes `event`, retrying until the service's queue is bound.
    pub async fn publish(&self, event: &EmployeeEvent) {
        let body = event.encode_to_vec();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let msg = Outgoing {
                routing_key: &event.event_type,
                type_name: uapi_events::type_name::EMPLOYEE_EVENT,
                message_id: &event.event_id,
                content_type: uapi_events::CONTENT_TYPE,
                body: &body,
                headers: Default::default(),
            };
            match self.publisher.publish(msg).await {
                Ok(()) => return,
                Err(e) => {
                    assert!(Instant::now() < deadline, "could not publish: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Waits until `c`'s events feed holds `n` events (every event published so far was projected).
    pub async fn wait_projected(&self, c: &Consumer, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let feed = self.get_json(c, "/api/hris/events?limit=200").await;
            if feed["data"].as_array().map(Vec::len) == Some(n) {
                return;
            }
            assert!(Instant::now() < deadline, "{n} events never projected: {feed}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            t.await.expect("joins").expect("drains");
        }
        uapi_test_support::delete_broker_objects(&self.exchange, &[]).await;
        uapi_test_support::delete_queue_with_dead_letters(&self.queue).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// What a test says about one version of an employee.
pub struct Version<'a> {
    pub id: Uuid,
    pub version: u64,
    pub email: &'a str,
    pub active: bool,
    pub groups: &'a [Uuid],
    /// Seconds since the epoch of its `updatedAt`.
    pub updated_at: i64,
}

/// The event of `v` for consumer `c`.
pub fn event(c: &Consumer, v: Version<'_>) -> EmployeeEvent {
    let ts = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let status = if v.active { EmploymentStatus::Active } else { EmploymentStatus::Inactive };
    EmployeeEvent {
        event_id: Uuid::now_v7().to_string(),
        event_type: if v.version == 1 { "employee.created" } else { "employee.updated" }.to_owned(),
        tenant: Some(Tenant {
            application_id: c.application.to_string(),
            consumer_id: c.id.to_string(),
            connection_id: Uuid::nil().to_string(),
            service_id: "okta-scim".to_owned(),
        }),
        occurred_at: ts(v.updated_at),
        version: v.version,
        changed_fields: vec!["employmentStatus".to_owned()],
        employee: Some(Employee {
            id: v.id.to_string(),
            user_name: v.email.to_owned(),
            work_email: Some(v.email.to_owned()),
            employment_status: status as i32,
            groups: v.groups.iter().map(|g| GroupRef { id: g.to_string(), name: "G".to_owned() }).collect(),
            version: v.version,
            created_at: ts(v.updated_at),
            updated_at: ts(v.updated_at),
            ..Default::default()
        }),
    }
}
