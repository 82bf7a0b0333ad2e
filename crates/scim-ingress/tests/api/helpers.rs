//! `spawn_app`: scim-ingress on a random port with its own database and exchange, and
//! connections registered the way the connection-event projection registers them.

use std::collections::HashMap;

use reqwest::{Client, Method, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uapi_platform::config::Sources;
use uapi_platform::db::PgPool;
use uapi_scim_ingress::config::Settings;
use uapi_scim_ingress::db::connections::{self, ConnectionRow};
use uapi_scim_ingress::startup::Application;
use uapi_test_support::TestDb;
use uuid::Uuid;

pub struct TestApp {
    /// The server's root, `http://127.0.0.1:<port>`.
    pub root: String,
    /// The SCIM base, `<root>/scim/v2`.
    pub base: String,
    pub client: Client,
    pub pool: PgPool,
    exchange: String,
    queue: String,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _db: TestDb,
}

pub struct Conn {
    pub id: Uuid,
    pub token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with extra settings, e.g. `("UAPI_SCIM__RATE_LIMIT_PER_SEC", "1")`.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    uapi_test_support::init_tracing();
    let db = TestDb::new().await.expect("db");
    let exchange = uapi_test_support::unique_name("test.events");
    let queue = format!("{exchange}.connections");
    let env: HashMap<String, String> = [
        ("UAPI_HTTP__PORT", "0".to_owned()),
        ("UAPI_HTTP__WORKERS", "2".to_owned()),
        ("UAPI_DATABASE__URL", db.url.clone()),
        ("UAPI_DATABASE__POOL_SIZE", "4".to_owned()),
        ("UAPI_AMQP__URL", uapi_test_support::amqp_url()),
        ("UAPI_AMQP__EXCHANGE", exchange.clone()),
        ("UAPI_CONNECTIONS__QUEUE", queue.clone()),
        ("UAPI_HTTP__BODY_LIMIT_BYTES", "65536".to_owned()),
        // Nothing consumes the test's events: they stay in the outbox, where the tests read them.
        ("UAPI_OUTBOX__CONSUMER_QUEUES", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    .collect();
    let settings = Settings::load(Sources { file: None, env: Some(env) }).expect("settings");
    uapi_platform::db::migrate(&db.url, uapi_scim_ingress::MIGRATIONS, uapi_scim_ingress::MIGRATION_LOCK)
        .await
        .expect("migrate");
    let app = Application::build(&settings).expect("app");
    let root = format!("http://127.0.0.1:{}", app.port());
    let base = format!("{root}/scim/v2");
    let pool = uapi_platform::db::pool(&settings.database).expect("pool");
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run_until(stop.clone()));
    TestApp { root, base, client: Client::new(), pool, exchange, queue, stop, task: Some(task), _db: db }
}

impl TestApp {
    /// Registers a live connection with a fresh token.
    pub async fn connection(&self) -> Conn {
        let token = format!("uapi_scim_{}", Uuid::new_v4().simple());
        let id = Uuid::now_v7();
        let row = ConnectionRow {
            id,
            application_id: Uuid::now_v7(),
            consumer_id: Uuid::now_v7(),
            service_id: "okta-scim".into(),
            token_sha256: Sha256::digest(token.as_bytes()).to_vec(),
            revision: 1,
            deleted: false,
        };
        let mut conn = self.pool.get().await.expect("conn");
        connections::apply(&mut conn, &row).await.expect("connection");
        Conn { id, token }
    }

    /// Deletes the connection, as control-plane's `connection.deleted` does.
    pub async fn revoke(&self, c: &Conn) {
        let row = ConnectionRow {
            id: c.id,
            application_id: Uuid::now_v7(),
            consumer_id: Uuid::now_v7(),
            service_id: "okta-scim".into(),
            token_sha256: Sha256::digest(c.token.as_bytes()).to_vec(),
            revision: 2,
            deleted: true,
        };
        let mut conn = self.pool.get().await.expect("conn");
        assert!(connections::apply(&mut conn, &row).await.expect("connection"), "revoked");
    }

    /// `GET /api/scim/status` with `authorization` as the whole header, if any.
    pub async fn status_with(&self, authorization: Option<&str>) -> Response {
        let mut req = self.client.get(format!("{}/api/scim/status", self.root));
        if let Some(value) = authorization {
            req = req.header("Authorization", value);
        }
        req.send().await.expect("request")
    }

    /// The connection's directory status, asserting a 200.
    pub async fn status(&self, c: &Conn) -> Value {
        let res = self.status_with(Some(&format!("Bearer {}", c.token))).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        res.json().await.expect("json")
    }

    pub async fn send(&self, c: &Conn, method: Method, path: &str, body: Option<&str>) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", c.token));
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json").body(b.to_owned());
        }
        req.send().await.expect("request")
    }

    /// A request with exactly the headers Okta sends (okta-scim.md §2.1), and a JSON body.
    pub async fn okta(&self, c: &Conn, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("User-Agent", "Okta SCIM Client 1.0.0")
            .header("Accept", "application/scim+json")
            .header("Accept-Charset", "utf-8")
            .header("Content-Type", "application/scim+json; charset=utf-8")
            .header("Authorization", format!("Bearer {}", c.token));
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        req.send().await.expect("request")
    }

    /// Okta's assignment (okta-scim.md §1.2): the existence check, then the create when nothing
    /// was found. Returns the user's id.
    pub async fn okta_assign(&self, c: &Conn, body: &Value) -> String {
        let lookup = okta_lookup(body["userName"].as_str().expect("userName"));
        let res = self.okta(c, Method::GET, &lookup, None).await;
        assert_eq!(res.status(), 200);
        let found: Value = res.json().await.expect("json");
        if let Some(id) = found["Resources"][0]["id"].as_str() {
            return id.to_owned();
        }
        let res = self.okta(c, Method::POST, "/Users", Some(body)).await;
        let status = res.status();
        let created: Value = res.json().await.expect("json");
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().expect("id").to_owned()
    }

    /// Creates a user and returns its id.
    pub async fn user(&self, c: &Conn, user_name: &str) -> String {
        let body =
            serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name });
        let res = self.okta(c, Method::POST, "/Users", Some(&body)).await;
        let status = res.status();
        let created: Value = res.json().await.expect("json");
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().expect("id").to_owned()
    }

    /// Every event the service wrote, oldest first, decoded. Nothing is bound to the test's
    /// exchange, so the relay cannot publish them and they stay in the outbox.
    pub async fn events(&self) -> Vec<Event> {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            routing_key: String,
            #[diesel(sql_type = diesel::sql_types::Bytea)]
            payload: Vec<u8>,
        }
        let mut conn = self.pool.get().await.expect("conn");
        let rows: Vec<Row> = diesel::sql_query("SELECT routing_key, payload FROM outbox ORDER BY id")
            .load(&mut conn)
            .await
            .expect("outbox");
        rows.iter().map(|r| Event::decode(&r.routing_key, &r.payload)).collect()
    }

    /// Rows in the outbox: every event the service has produced and not yet published.
    pub async fn outbox_len(&self) -> i64 {
        uapi_platform::outbox::backlog(&self.pool).await.expect("backlog")
    }

    pub async fn user_count(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM users").await
    }

    pub async fn group_count(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM groups").await
    }

    pub async fn member_count(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM group_members").await
    }

    async fn count(&self, sql: &str) -> i64 {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.pool.get().await.expect("conn");
        diesel::sql_query(sql).get_result::<N>(&mut conn).await.expect("count").n
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

/// Okta's existence check before a create, encoded as Okta encodes it.
pub fn okta_lookup(user_name: &str) -> String {
    format!("/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100", user_name.replace('@', "%40"))
}

/// Okta's (de)activation: a path-less PATCH of `active` (okta-scim.md §1.5).
pub fn set_active(active: bool) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": active } }]
    })
}

/// One event of the outbox: its type, version, changed fields and snapshot as contract JSON.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: String,
    pub version: u64,
    pub changed: Vec<String>,
    /// The employee or group id.
    pub id: String,
    pub data: Value,
}

impl Event {
    fn decode(routing_key: &str, payload: &[u8]) -> Event {
        use prost::Message;
        use uapi_events::model::{Employee, Group};
        use uapi_events::v1::{EmployeeEvent, GroupEvent};
        if routing_key.starts_with("group.") {
            let e = GroupEvent::decode(payload).expect("GroupEvent");
            let group = Group::from(e.group.as_ref().expect("group"));
            assert_eq!(e.event_type, routing_key);
            let data = serde_json::to_value(&group).expect("json");
            return Event { kind: e.event_type, version: e.version, changed: e.changed_fields, id: group.id, data };
        }
        let e = EmployeeEvent::decode(payload).expect("EmployeeEvent");
        let employee = Employee::from(e.employee.as_ref().expect("employee"));
        assert_eq!((e.event_type.as_str(), e.version), (routing_key, employee.version));
        let data = serde_json::to_value(&employee).expect("json");
        Event { kind: e.event_type, version: e.version, changed: e.changed_fields, id: employee.id, data }
    }
}

/// Asserts a SCIM error response and returns its body.
pub async fn assert_scim_error(res: Response, status: u16, scim_type: Option<&str>) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(ct, "application/scim+json");
    let body: Value = res.json().await.expect("SCIM error is JSON");
    assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(body["status"], status.to_string());
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    body
}
