//! `spawn_app`: a webhook-dispatcher on a random port with its own database, exchange and queue;
//! tokens minted with a test key; events published the way scim-ingress publishes them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use prost::Message;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uapi_events::v1::{Employee, EmployeeEvent, Tenant};
use uapi_platform::amqp::{Broker, Outgoing, Publisher};
use uapi_platform::auth::{Scope, TokenIssuer};
use uapi_platform::config::Sources;
use uapi_test_support::TestDb;
use uapi_webhook_dispatcher::config::Settings;
use uapi_webhook_dispatcher::startup::Application;
use uapi_webhook_dispatcher::{MIGRATION_LOCK, MIGRATIONS};
use uuid::Uuid;

use crate::receiver::Receiver;

/// What `TestApp::subscriber` made: the application, its token, the receiver and the subscription.
pub struct Subscriber {
    pub application: Uuid,
    pub token: String,
    pub rx: Receiver,
    pub hook: Value,
    pub id: String,
}

pub struct TestApp {
    pub addr: String,
    pub client: Client,
    pub exchange: String,
    pub queue: String,
    pub db_url: String,
    pub verifying_key: String,
    issuer: TokenIssuer,
    publisher: Publisher,
    _broker: std::sync::Arc<Broker>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    extra: Vec<(CancellationToken, tokio::task::JoinHandle<anyhow::Result<()>>)>,
    /// Dropped last: removes the test's database.
    _db: TestDb,
}

/// The test defaults: loopback receivers allowed, a fast retry ladder, a short poll.
/// The test services' key ring for webhook secrets: one for all, so a restarted app opens what it sealed.
pub const SECRET_KEYS: &str = "test:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn base_env(db: &str, exchange: &str, queue: &str, verifying: &str) -> HashMap<String, String> {
    [
        ("UAPI_HTTP__PORT", "0"),
        ("UAPI_HTTP__WORKERS", "1"),
        ("UAPI_DATABASE__URL", db),
        ("UAPI_DATABASE__POOL_SIZE", "6"),
        ("UAPI_AMQP__URL", &uapi_test_support::amqp_url()),
        ("UAPI_AMQP__EXCHANGE", exchange),
        ("UAPI_CONSUMER__QUEUE", queue),
        ("UAPI_AUTH__VERIFYING_KEY", verifying),
        ("UAPI_SECRETS__KEYS", SECRET_KEYS),
        ("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
        ("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", "0,0.2,0.2,0.2,0.2"),
        ("UAPI_WEBHOOKS__RETRY_JITTER", "0"),
        ("UAPI_WEBHOOKS__POLL_INTERVAL_MS", "50"),
        ("UAPI_WEBHOOKS__REQUEST_TIMEOUT_MS", "3000"),
        ("UAPI_WEBHOOKS__LEASE_MS", "10000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn load(env: HashMap<String, String>, overrides: &[(&str, &str)]) -> Settings {
    let mut env = env;
    for (k, v) in overrides {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::load(Sources { file: None, env: Some(env) }).expect("settings")
}

/// A dispatcher (role `all` unless overridden) with `overrides` on top of the test defaults.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    uapi_test_support::init_tracing();
    let db = TestDb::new().await.expect("test database");
    let exchange = uapi_test_support::unique_name("test.events");
    let queue = format!("{exchange}.webhook-dispatcher.events");
    let (signing, verifying) = uapi_platform::auth::generate_keypair().expect("key pair");
    let settings = load(base_env(&db.url, &exchange, &queue, &verifying), overrides);
    uapi_platform::db::migrate(&db.url, MIGRATIONS, MIGRATION_LOCK).await.expect("migrations");
    let app = Application::build(&settings).expect("application builds");
    let addr = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run_until(stop.clone()));
    let broker = Broker::new(uapi_test_support::amqp_url(), "test-publisher");
    broker.connect_now().await.expect("rabbitmq");
    let publisher = Publisher::open(&broker, &exchange).await.expect("publisher");
    let issuer = TokenIssuer::from_base64(&signing, Duration::from_secs(600)).expect("issuer");
    let app = TestApp {
        addr,
        client: Client::new(),
        exchange,
        queue,
        db_url: db.url.clone(),
        verifying_key: verifying,
        issuer,
        publisher,
        _broker: broker,
        stop,
        task: Some(task),
        extra: Vec::new(),
        _db: db,
    };
    app.wait_ready(&app.addr).await;
    app
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.addr)
    }

    pub async fn wait_ready(&self, base: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = self.client.get(format!("{base}/readyz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "{base} not ready");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// The settings of another process of this deployment (same database, exchange and queue).
    pub fn sibling_settings(&self, overrides: &[(&str, &str)]) -> Settings {
        load(base_env(&self.db_url, &self.exchange, &self.queue, &self.verifying_key), overrides)
    }

    /// The environment of another process of this deployment, for the real binary.
    pub fn sibling_env(&self, overrides: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env = base_env(&self.db_url, &self.exchange, &self.queue, &self.verifying_key);
        for (k, v) in overrides {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        env
    }

    /// Starts another process of this deployment in this test process; stopped at shutdown.
    pub async fn spawn_sibling(&mut self, overrides: &[(&str, &str)]) -> String {
        let app = Application::build(&self.sibling_settings(overrides)).expect("sibling builds");
        let addr = format!("http://127.0.0.1:{}", app.port());
        let stop = CancellationToken::new();
        self.extra.push((stop.clone(), tokio::spawn(app.run_until(stop))));
        self.wait_ready(&addr).await;
        addr
    }

    /// An application-scope token for `application`.
    pub fn token(&self, application: Uuid) -> String {
        self.issuer.issue(Scope::Application, application, None).expect("token")
    }

    pub fn consumer_token(&self, application: Uuid) -> String {
        self.issuer.issue(Scope::Consumer, application, Some(Uuid::now_v7())).expect("token")
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, token: &str, body: Option<&Value>) -> Response {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// Creates a subscription to `url` for `events` and returns its body (with the secret).
    pub async fn create_webhook(&self, token: &str, url: &str, events: &[&str]) -> Value {
        let res = self
            .post(
                "/api/webhooks",
                token,
                &json!({ "unifiedApi": "HRIS", "deliveryUrl": url, "events": events, "status": "Enabled" }),
            )
            .await;
        assert_eq!(res.status(), 201, "create webhook");
        res.json().await.expect("json")
    }

    /// A new application subscribed to every event type, delivered to a receiver answering 200.
    pub async fn subscriber(&self) -> Subscriber {
        let application = Uuid::now_v7();
        let token = self.token(application);
        let rx = Receiver::always(200);
        let hook = self.create_webhook(&token, &rx.url, &["*"]).await;
        let id = hook["id"].as_str().expect("id").to_owned();
        Subscriber { application, token, rx, hook, id }
    }

    /// The deliveries of a subscription (first page of 200), optionally by status.
    pub async fn deliveries(&self, token: &str, webhook: &str, status: Option<&str>) -> Vec<Value> {
        let q = status.map(|s| format!("&status={s}")).unwrap_or_default();
        let res = self.get(&format!("/api/webhooks/{webhook}/deliveries?limit=200{q}"), token).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        body["data"].as_array().expect("data").clone()
    }

    /// Polls the deliveries until `check` holds.
    pub async fn wait_deliveries(
        &self,
        token: &str,
        webhook: &str,
        within: Duration,
        check: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let d = self.deliveries(token, webhook, None).await;
            if check(&d) {
                return d;
            }
            assert!(Instant::now() < deadline, "deliveries never reached the expected state: {d:#?}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// Publishes `event` as scim-ingress does, retrying until the dispatcher's queue is bound.
    pub async fn publish(&self, event: &EmployeeEvent) {
        self.publish_raw(
            &event.event_type,
            uapi_events::type_name::EMPLOYEE_EVENT,
            &event.event_id,
            event.encode_to_vec(),
        )
        .await
    }

    /// control-plane's `consumer.deleted` for `consumer` of `application`.
    pub async fn publish_consumer_deleted(&self, application: Uuid, consumer: Uuid) {
        let event = uapi_events::v1::ConsumerEvent {
            event_id: Uuid::now_v7().to_string(),
            kind: uapi_events::v1::consumer_event::Kind::Deleted as i32,
            application_id: application.to_string(),
            consumer_id: consumer.to_string(),
            occurred_at: None,
        };
        let (key, type_name) = (uapi_events::routing::CONSUMER_DELETED, uapi_events::type_name::CONSUMER_EVENT);
        self.publish_raw(key, type_name, &event.event_id, event.encode_to_vec()).await
    }

    async fn publish_raw(&self, routing_key: &str, type_name: &str, message_id: &str, body: Vec<u8>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let msg = Outgoing {
                routing_key,
                type_name,
                message_id,
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

    /// Stops every process and removes the broker objects.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for (stop, _) in &self.extra {
            stop.cancel();
        }
        if let Some(task) = self.task.take() {
            task.await.expect("joins").expect("drains cleanly");
        }
        for (_, task) in self.extra.drain(..) {
            task.await.expect("joins").expect("drains cleanly");
        }
        uapi_test_support::delete_broker_objects(&self.exchange, &[]).await;
        uapi_test_support::delete_queue_with_dead_letters(&self.queue).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        for (stop, _) in &self.extra {
            stop.cancel();
        }
    }
}

/// An employee event of `application` for employee `employee` at `version`.
pub fn employee_event(application: Uuid, employee: &str, version: u64, event_type: &str) -> EmployeeEvent {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock");
    EmployeeEvent {
        event_id: Uuid::now_v7().to_string(),
        event_type: event_type.to_owned(),
        tenant: Some(Tenant {
            application_id: application.to_string(),
            consumer_id: Uuid::now_v7().to_string(),
            connection_id: Uuid::now_v7().to_string(),
            service_id: "okta-scim".to_owned(),
        }),
        occurred_at: Some(prost_types::Timestamp { seconds: now.as_secs() as i64, nanos: 0 }),
        version,
        changed_fields: vec!["employmentStatus".to_owned()],
        employee: Some(Employee {
            id: employee.to_owned(),
            user_name: format!("{employee}@example.com"),
            version,
            ..Default::default()
        }),
    }
}

/// Asserts a problem+json response with `status`, returning its body.
pub async fn assert_problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "detail: {body}");
    body
}

/// Verifies a request with the published `standardwebhooks` crate (not our code).
pub fn verify_standard(secret: &str, hit: &crate::receiver::Hit) -> Result<(), String> {
    let wh = standardwebhooks::Webhook::new(secret).map_err(|e| e.to_string())?;
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, hit.header(name).parse().map_err(|_| format!("bad {name}"))?);
    }
    wh.verify(hit.body.as_bytes(), &headers).map_err(|e| e.to_string())
}
