//! `spawn_app`: a control plane on a random port, with its own database and exchange.

use std::collections::HashMap;

use reqwest::{Client, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uapi_control_plane::config::Settings;
use uapi_control_plane::startup::Application;
use uapi_control_plane::{MIGRATION_LOCK, MIGRATIONS};
use uapi_platform::config::Sources;
use uapi_platform::db::PgPool;
use uapi_test_support::TestDb;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct TestApp {
    pub addr: String,
    pub client: Client,
    pub pool: PgPool,
    pub exchange: String,
    /// The scim-ingress queue the relay declares, unique to this test.
    pub mailbox: String,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Dropped last: removes the test's database.
    _db: TestDb,
}

/// Extra `UAPI_*` overrides on top of the test defaults.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    uapi_test_support::init_tracing();
    let db = TestDb::new().await.expect("test database");
    let exchange = uapi_test_support::unique_name("test.events");
    let mailbox = format!("{exchange}.scim-ingress.connections");
    let (signing, _) = uapi_platform::auth::generate_keypair().expect("key pair");
    let mut env: HashMap<String, String> = [
        ("UAPI_HTTP__PORT", "0".to_owned()),
        ("UAPI_HTTP__WORKERS", "1".to_owned()),
        ("UAPI_DATABASE__URL", db.url.clone()),
        ("UAPI_DATABASE__POOL_SIZE", "4".to_owned()),
        ("UAPI_AMQP__URL", uapi_test_support::amqp_url()),
        ("UAPI_AMQP__EXCHANGE", exchange.clone()),
        ("UAPI_ADMIN__TOKEN", ADMIN_TOKEN.to_owned()),
        ("UAPI_AUTH__SIGNING_KEY", signing),
        ("UAPI_SCIM__TOKEN_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned()),
        ("UAPI_SCIM__PUBLIC_URL", "https://scim.example.test".to_owned()),
        ("UAPI_OUTBOX__POLL_INTERVAL_MS", "100".to_owned()),
        ("UAPI_OUTBOX__CONNECTION_EVENTS_QUEUE", mailbox.clone()),
        // No employee or group consumer runs here: nothing to declare for consumer.deleted.
        ("UAPI_OUTBOX__CONSUMER_QUEUES", String::new()),
        // Tests that read the events in order turn re-announcements off; those about them set it.
        ("UAPI_OUTBOX__REANNOUNCE_EVERY_MS", "0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in overrides {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = Settings::load(Sources { file: None, env: Some(env) }).expect("settings");
    if !overrides.iter().any(|(k, _)| *k == "UAPI_DATABASE__URL") {
        uapi_platform::db::migrate(&db.url, MIGRATIONS, MIGRATION_LOCK).await.expect("migrations");
    }
    let app = Application::build(&settings).expect("application builds");
    let addr = format!("http://127.0.0.1:{}", app.port());
    let pool = uapi_platform::db::pool(&settings.database).expect("pool");
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run_until(stop.clone()));
    TestApp { addr, client: Client::new(), pool, exchange, mailbox, stop, task: Some(task), _db: db }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// An application, a consumer and their tokens, created through the API.
pub struct Tenant {
    pub application_id: String,
    pub api_key: String,
    pub app_token: String,
    pub consumer_id: String,
    pub consumer_token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    pub async fn create_application(&self, name: &str) -> (String, String) {
        let res = self.post("/admin/applications", ADMIN_TOKEN, &json!({ "name": name })).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        (body["applicationId"].as_str().expect("id").to_owned(), body["apiKey"].as_str().expect("key").to_owned())
    }

    pub async fn auth(&self, body: Value) -> Response {
        self.client.post(self.url("/api/auth")).json(&body).send().await.expect("request")
    }

    pub async fn app_token(&self, application_id: &str, api_key: &str) -> String {
        let res =
            self.auth(json!({ "apiKey": api_key, "applicationId": application_id, "scope": "application" })).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["tokenType"], "Bearer");
        body["accessToken"].as_str().expect("token").to_owned()
    }

    pub async fn consumer_token(&self, consumer_id: &str, api_key: &str) -> String {
        let res = self.auth(json!({ "apiKey": api_key, "consumerId": consumer_id, "scope": "consumer" })).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        body["accessToken"].as_str().expect("token").to_owned()
    }

    pub async fn create_consumer(&self, app_token: &str, name: &str) -> String {
        let res = self.post("/api/consumers", app_token, &json!({ "name": name })).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn tenant(&self, name: &str) -> Tenant {
        let (application_id, api_key) = self.create_application(name).await;
        let app_token = self.app_token(&application_id, &api_key).await;
        let consumer_id = self.create_consumer(&app_token, &format!("{name} consumer")).await;
        let consumer_token = self.consumer_token(&consumer_id, &api_key).await;
        Tenant { application_id, api_key, app_token, consumer_id, consumer_token }
    }

    /// Stops the app the way SIGTERM would and removes its broker objects.
    pub async fn shutdown(mut self, queues: &[&str]) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("joins").expect("drains cleanly");
        }
        uapi_test_support::delete_broker_objects(&self.exchange, queues).await;
        uapi_test_support::delete_queue_with_dead_letters(&self.mailbox).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
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
    assert!(body["type"].is_string() && body["title"].is_string());
    body
}
