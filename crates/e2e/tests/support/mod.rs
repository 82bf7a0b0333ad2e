#![allow(dead_code)] // each test binary uses a different part of the harness
//! The end-to-end harness (a module of each test binary): the whole system in one process.
//! control-plane, scim-ingress and employee-store run on random ports, each with its own database,
//! sharing one exchange and RabbitMQ URL (optionally through a proxy the test controls), with queue
//! names unique to the test.

pub mod receiver;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Client, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uapi_platform::config::Sources;
use uapi_test_support::{TestDb, unique_name};

pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef";
const SCIM_TOKEN_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// How to start the stack.
#[derive(Default)]
pub struct StackOptions {
    /// RabbitMQ URL the services use (a proxy in outage tests); the real one by default.
    pub amqp_url: Option<String>,
    /// Also run webhook-dispatcher (API and worker, loopback targets allowed).
    pub webhooks: bool,
    /// How long a request waits for a pooled database connection before it is answered 503; the
    /// services' default (1 s) when unset. Campaigns that overload a small pool on purpose and
    /// count every 5xx set it long.
    pub acquire_timeout_ms: Option<u64>,
    /// More settings for every service (`UAPI_…` names), e.g. the portal's origin in
    /// `UAPI_HTTP__CORS_ORIGINS`.
    pub service_env: Vec<(&'static str, String)>,
}

pub struct Stack {
    pub client: Client,
    pub control_plane: String,
    pub scim: String,
    pub store: String,
    /// webhook-dispatcher's base URL, when started with `StackOptions::webhooks`.
    pub webhooks: Option<String>,
    pub exchange: String,
    queues: Vec<String>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dbs: Vec<TestDb>,
}

fn env(pairs: Vec<(&str, String)>) -> Sources {
    let map: HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Sources { file: None, env: Some(map) }
}

/// A consumer with an Okta SCIM connection, created through the public APIs.
pub struct Tenant {
    pub application_id: String,
    pub api_key: String,
    /// An application-scope token (consumers and webhooks APIs).
    pub app_token: String,
    pub consumer_id: String,
    pub consumer_token: String,
    pub base_url: String,
    pub scim_token: String,
    pub connection_id: String,
}

impl Stack {
    pub async fn start(options: StackOptions) -> Stack {
        uapi_test_support::init_tracing();
        let amqp = options.amqp_url.unwrap_or_else(uapi_test_support::amqp_url);
        let exchange = unique_name("test.events");
        let connections_queue = format!("{exchange}.scim-ingress.connections");
        let store_queue = format!("{exchange}.employee-store.events");
        let webhooks_queue = format!("{exchange}.webhook-dispatcher.events");
        // scim-ingress declares its consumers' queues before its first publish, the dispatcher's
        // too when it is not started (deployed later).
        let consumer_queues = format!("{store_queue},{webhooks_queue}");
        let (signing, verifying) = uapi_platform::auth::generate_keypair().expect("key pair");
        let stop = CancellationToken::new();
        let common = |db: &TestDb| {
            vec![
                ("UAPI_HTTP__PORT", "0".to_owned()),
                ("UAPI_HTTP__WORKERS", "2".to_owned()),
                ("UAPI_DATABASE__URL", db.url.clone()),
                ("UAPI_DATABASE__POOL_SIZE", "6".to_owned()),
                ("UAPI_AMQP__URL", amqp.clone()),
                ("UAPI_AMQP__EXCHANGE", exchange.clone()),
                ("UAPI_OUTBOX__POLL_INTERVAL_MS", "200".to_owned()),
            ]
            .into_iter()
            .chain(options.acquire_timeout_ms.map(|ms| ("UAPI_DATABASE__ACQUIRE_TIMEOUT_MS", ms.to_string())))
            .chain(options.service_env.iter().cloned())
            .collect::<Vec<_>>()
        };
        let (cp_db, scim_db, store_db) =
            (TestDb::new().await.expect("db"), TestDb::new().await.expect("db"), TestDb::new().await.expect("db"));

        // scim-ingress's port is chosen first: its public URL goes into the connection metadata.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let scim = format!("http://127.0.0.1:{port}");
        let mut scim_env = common(&scim_db);
        scim_env.retain(|(k, _)| *k != "UAPI_HTTP__PORT");
        scim_env.extend([
            ("UAPI_HTTP__PORT", port.to_string()),
            ("UAPI_SCIM__PUBLIC_URL", scim.clone()),
            ("UAPI_CONNECTIONS__QUEUE", connections_queue.clone()),
            ("UAPI_OUTBOX__CONSUMER_QUEUES", consumer_queues.clone()),
        ]);
        let scim_settings = uapi_scim_ingress::config::Settings::load(env(scim_env)).expect("scim settings");
        uapi_platform::db::migrate(&scim_db.url, uapi_scim_ingress::MIGRATIONS, uapi_scim_ingress::MIGRATION_LOCK)
            .await
            .expect("migrate scim-ingress");
        let scim_app = uapi_scim_ingress::startup::Application::build(&scim_settings).expect("scim-ingress");

        let mut cp_env = common(&cp_db);
        cp_env.extend([
            ("UAPI_ADMIN__TOKEN", ADMIN_TOKEN.to_owned()),
            ("UAPI_AUTH__SIGNING_KEY", signing),
            ("UAPI_SCIM__TOKEN_KEY", SCIM_TOKEN_KEY.to_owned()),
            ("UAPI_SCIM__PUBLIC_URL", scim.clone()),
            ("UAPI_OUTBOX__CONNECTION_EVENTS_QUEUE", connections_queue.clone()),
            ("UAPI_OUTBOX__CONSUMER_QUEUES", consumer_queues),
            ("UAPI_OUTBOX__REANNOUNCE_EVERY_MS", "500".to_owned()),
        ]);
        let cp_settings = uapi_control_plane::config::Settings::load(env(cp_env)).expect("control-plane settings");
        uapi_platform::db::migrate(&cp_db.url, uapi_control_plane::MIGRATIONS, uapi_control_plane::MIGRATION_LOCK)
            .await
            .expect("migrate control-plane");
        let cp_app = uapi_control_plane::startup::Application::build(&cp_settings).expect("control-plane");

        let mut store_env = common(&store_db);
        store_env.push(("UAPI_CONSUMER__QUEUE", store_queue.clone()));
        store_env.push(("UAPI_AUTH__VERIFYING_KEY", verifying.clone()));
        let store_settings = uapi_employee_store::config::Settings::load(env(store_env)).expect("store settings");
        uapi_platform::db::migrate(&store_db.url, uapi_employee_store::MIGRATIONS, uapi_employee_store::MIGRATION_LOCK)
            .await
            .expect("migrate employee-store");
        let store_app = uapi_employee_store::startup::Application::build(&store_settings).expect("employee-store");

        let control_plane = format!("http://127.0.0.1:{}", cp_app.port());
        let store = format!("http://127.0.0.1:{}", store_app.port());
        let mut tasks = vec![
            tokio::spawn(cp_app.run_until(stop.clone())),
            tokio::spawn(scim_app.run_until(stop.clone())),
            tokio::spawn(store_app.run_until(stop.clone())),
        ];
        let mut dbs = vec![cp_db, scim_db, store_db];
        let queues = vec![connections_queue, store_queue, webhooks_queue.clone()];
        let mut webhooks = None;
        if options.webhooks {
            let db = TestDb::new().await.expect("db");
            let queue = webhooks_queue;
            let mut wh_env = common(&db);
            wh_env.extend([
                ("UAPI_AUTH__VERIFYING_KEY", verifying.clone()),
                ("UAPI_SECRETS__KEYS", uapi_webhook_dispatcher::sealing::KeyRing::new_entry("e2e")),
                ("UAPI_CONSUMER__QUEUE", queue.clone()),
                ("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true".to_owned()),
                ("UAPI_WEBHOOKS__POLL_INTERVAL_MS", "100".to_owned()),
            ]);
            let settings = uapi_webhook_dispatcher::config::Settings::load(env(wh_env)).expect("webhook settings");
            uapi_platform::db::migrate(
                &db.url,
                uapi_webhook_dispatcher::MIGRATIONS,
                uapi_webhook_dispatcher::MIGRATION_LOCK,
            )
            .await
            .expect("migrate webhook-dispatcher");
            let app = uapi_webhook_dispatcher::startup::Application::build(&settings).expect("webhook-dispatcher");
            webhooks = Some(format!("http://127.0.0.1:{}", app.port()));
            tasks.push(tokio::spawn(app.run_until(stop.clone())));
            dbs.push(db);
        }
        let stack = Stack {
            client: Client::new(),
            control_plane,
            scim,
            store,
            webhooks,
            exchange,
            queues,
            stop,
            tasks,
            _dbs: dbs,
        };
        for base in [&stack.control_plane, &stack.scim, &stack.store].into_iter().chain(stack.webhooks.as_ref()) {
            stack.wait_ready(base).await;
        }
        stack
    }

    /// Messages waiting in `queue` (a passive declare), or `None` when it does not exist.
    pub async fn queue_depth(&self, queue: &str) -> Option<u32> {
        use lapin::options::QueueDeclareOptions;
        let broker = uapi_platform::amqp::Broker::new(uapi_test_support::amqp_url(), "depth");
        let ch = broker.connect_now().await.expect("rabbitmq").create_channel().await.expect("channel");
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        let declared = ch.queue_declare(queue.into(), passive, lapin::types::FieldTable::default()).await.ok()?;
        Some(declared.message_count())
    }

    /// control-plane's database (the first one made).
    pub fn control_plane_db(&self) -> &str {
        &self._dbs[0].url
    }

    /// employee-store's database.
    pub fn store_db(&self) -> &str {
        &self._dbs[2].url
    }

    /// The dispatcher's queue (declared by scim-ingress whether or not the dispatcher runs).
    pub fn webhooks_queue(&self) -> String {
        format!("{}.webhook-dispatcher.events", self.exchange)
    }

    async fn wait_ready(&self, base: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.client.get(format!("{base}/readyz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "{base} not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new application (admin API): `{"applicationId","name","apiKey"}`.
    pub async fn application(&self, name: &str) -> Value {
        let cp = &self.control_plane;
        let request = self.client.post(format!("{cp}/admin/applications")).bearer_auth(ADMIN_TOKEN);
        request.json(&json!({ "name": name })).send().await.expect("request").json().await.expect("json")
    }

    /// An application, a consumer and its Okta SCIM connection; waits until scim-ingress accepts
    /// the connection's token.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let cp = &self.control_plane;
        let app = self.application(name).await;
        let key = app["apiKey"].as_str().expect("key");
        let token = |body: Value| async move {
            let res: Value = self
                .client
                .post(format!("{cp}/api/auth"))
                .json(&body)
                .send()
                .await
                .expect("auth")
                .json()
                .await
                .expect("json");
            res["accessToken"].as_str().expect("token").to_owned()
        };
        let app_token =
            token(json!({ "apiKey": key, "applicationId": app["applicationId"], "scope": "application" })).await;
        let consumer: Value = self
            .client
            .post(format!("{cp}/api/consumers"))
            .bearer_auth(&app_token)
            .json(&json!({ "name": format!("{name} consumer") }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let consumer_id = consumer["id"].as_str().expect("id").to_owned();
        let consumer_token = token(json!({ "apiKey": key, "consumerId": consumer_id, "scope": "consumer" })).await;
        let connection: Value = self
            .client
            .post(format!("{cp}/api/connections"))
            .bearer_auth(&consumer_token)
            .json(&json!({ "serviceId": "okta-scim" }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let tenant = Tenant {
            application_id: app["applicationId"].as_str().expect("id").to_owned(),
            api_key: key.to_owned(),
            app_token,
            consumer_id,
            consumer_token,
            base_url: connection["metadata"]["baseUrl"].as_str().expect("baseUrl").to_owned(),
            scim_token: connection["metadata"]["apiToken"].as_str().expect("apiToken").to_owned(),
            connection_id: connection["id"].as_str().expect("id").to_owned(),
        };
        self.wait_token_accepted(&tenant).await;
        tenant
    }

    /// Waits until scim-ingress learned of the connection (the event travelled through RabbitMQ).
    pub async fn wait_token_accepted(&self, t: &Tenant) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.scim_get(t, "/Users?count=1").await.status() != 200 {
            assert!(Instant::now() < deadline, "scim-ingress never accepted the connection's token");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn scim_get(&self, t: &Tenant, path: &str) -> Response {
        self.client.get(format!("{}{path}", t.base_url)).bearer_auth(&t.scim_token).send().await.expect("scim request")
    }

    /// A SCIM write with Okta's headers.
    pub async fn scim_send(&self, t: &Tenant, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.client
            .request(method, format!("{}{path}", t.base_url))
            .header("Authorization", format!("Bearer {}", t.scim_token))
            .header("Content-Type", "application/scim+json; charset=utf-8")
            .header("Accept", "application/scim+json")
            .header("User-Agent", "Okta SCIM Client 1.0.0")
            .body(body.to_string())
            .send()
            .await
            .expect("scim request")
    }

    /// GET on the employees API with the consumer's token.
    pub async fn hris(&self, t: &Tenant, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.store))
            .bearer_auth(&t.consumer_token)
            .send()
            .await
            .expect("hris request")
    }

    /// A webhook subscription of `t`'s application to `url` for `events`; returns it (with its secret).
    pub async fn subscribe(&self, t: &Tenant, url: &str, events: &[&str]) -> Value {
        let webhooks = self.webhooks.as_ref().expect("webhook-dispatcher runs");
        let res = self
            .client
            .post(format!("{webhooks}/api/webhooks"))
            .bearer_auth(&t.app_token)
            .json(&json!({ "unifiedApi": "HRIS", "deliveryUrl": url, "events": events, "status": "Enabled" }))
            .send()
            .await
            .expect("create webhook");
        assert_eq!(res.status(), 201);
        res.json().await.expect("json")
    }

    /// Polls the group (deleted ones included) until `check` holds and returns it.
    pub async fn wait_group(&self, t: &Tenant, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        self.wait_record(t, "groups", id, check).await
    }

    /// Polls the employee until `check` holds (events are asynchronous) and returns it.
    pub async fn wait_employee(&self, t: &Tenant, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        self.wait_record(t, "employees", id, check).await
    }

    /// Polls `/api/hris/<collection>/<id>` (deleted records included) until `check` holds.
    async fn wait_record(&self, t: &Tenant, collection: &str, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = Value::Null;
        loop {
            let res = self.hris(t, &format!("/api/hris/{collection}/{id}?includeDeleted=true")).await;
            if res.status() == 200 {
                last = res.json::<Value>().await.expect("json")["data"].clone();
                if check(&last) {
                    return last;
                }
            }
            assert!(Instant::now() < deadline, "{collection} {id} never reached the expected state; last: {last}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for task in self.tasks.drain(..) {
            task.await.expect("joins").expect("service drains cleanly");
        }
        uapi_test_support::delete_broker_objects(&self.exchange, &[]).await;
        for q in &self.queues {
            uapi_test_support::delete_queue_with_dead_letters(q).await;
        }
    }
}

/// A private, auto-deleted queue on `exchange` that receives every `employee.*` event: what a test
/// uses to see the events on the wire. Returns the consumer and the broker it lives on.
pub async fn tap(exchange: &str) -> (lapin::Consumer, std::sync::Arc<uapi_platform::amqp::Broker>) {
    use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;
    let broker = uapi_platform::amqp::Broker::new(uapi_test_support::amqp_url(), "tap");
    broker.connect_now().await.expect("rabbitmq");
    let ch = broker.channel().await.expect("channel");
    uapi_platform::amqp::declare_exchange(&ch, exchange).await.expect("exchange");
    let q = unique_name("test.tap");
    let declare = QueueDeclareOptions { auto_delete: true, ..Default::default() };
    ch.queue_declare(q.as_str().into(), declare, FieldTable::default()).await.expect("queue");
    ch.queue_bind(
        q.as_str().into(),
        exchange.into(),
        "employee.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind");
    let consumer = ch
        .basic_consume(q.as_str().into(), "tap".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume");
    (consumer, broker)
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
