//! The README journey with the real binaries: `control-plane` serving on the real Postgres and
//! RabbitMQ, driven by `uapi` exactly as a user would, with scripts' view of exit codes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use uapi_test_support::TestDb;

const ADMIN_TOKEN: &str = "journey-admin-token-0123456789";

/// The four services as real processes, on free ports, with their own databases, one exchange
/// and queue names unique to this test.
struct System {
    children: Vec<Child>,
    control_plane: String,
    employee_store: String,
    webhooks: String,
    exchange: String,
    queues: Vec<String>,
}

impl Drop for System {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn bin(name: &str) -> PathBuf {
    // Workspace builds put every binary beside `uapi`; `cargo nextest run --workspace` builds them all.
    let path = Path::new(env!("CARGO_BIN_EXE_uapi")).with_file_name(name);
    assert!(path.exists(), "{} is not built; run the tests for the whole workspace", path.display());
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port()
}

async fn wait_listening(port: u16, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "{name} did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_system(dbs: &[TestDb; 4]) -> System {
    let (signing, verifying) = uapi_platform::auth::generate_keypair().expect("key pair");
    let exchange = uapi_test_support::unique_name("test.events");
    let connections_queue = format!("{exchange}.connections");
    let store_queue = format!("{exchange}.store");
    let webhooks_queue = format!("{exchange}.webhooks");
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let scim_url = format!("http://127.0.0.1:{}", ports[1]);
    let services = ["control-plane", "scim-ingress", "employee-store", "webhook-dispatcher"];
    let mut children = Vec::new();
    for (i, name) in services.iter().enumerate() {
        let command = |arg: &str| {
            let mut c = Command::new(bin(name));
            c.arg(arg)
                .env("UAPI_HTTP__PORT", ports[i].to_string())
                .env("UAPI_DATABASE__URL", &dbs[i].url)
                .env("UAPI_AMQP__URL", uapi_test_support::amqp_url())
                .env("UAPI_AMQP__EXCHANGE", &exchange)
                .env("UAPI_OUTBOX__CONNECTION_EVENTS_QUEUE", &connections_queue)
                .env("UAPI_CONNECTIONS__QUEUE", &connections_queue)
                .env("UAPI_OUTBOX__CONSUMER_QUEUES", format!("{store_queue},{webhooks_queue}"))
                .env("UAPI_CONSUMER__QUEUE", if *name == "webhook-dispatcher" { &webhooks_queue } else { &store_queue })
                .env("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
                .env("UAPI_ADMIN__TOKEN", ADMIN_TOKEN)
                .env("UAPI_AUTH__SIGNING_KEY", &signing)
                .env("UAPI_AUTH__VERIFYING_KEY", &verifying)
                .env("UAPI_SECRETS__KEYS", "journey:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
                .env("UAPI_SCIM__TOKEN_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
                .env("UAPI_SCIM__PUBLIC_URL", &scim_url)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            c
        };
        assert!(command("migrate").status().expect("migrate").success(), "{name} migrate");
        children.push(command("serve").spawn().expect("service starts"));
    }
    for (port, name) in ports.iter().zip(services) {
        wait_listening(*port, name).await;
    }
    System {
        children,
        control_plane: format!("http://127.0.0.1:{}", ports[0]),
        employee_store: format!("http://127.0.0.1:{}", ports[2]),
        webhooks: format!("http://127.0.0.1:{}", ports[3]),
        exchange,
        queues: vec![connections_queue, store_queue, webhooks_queue],
    }
}

struct Uapi {
    config_dir: PathBuf,
    url: String,
    store: String,
    webhooks: String,
}

impl Uapi {
    /// `uapi --json <what> get --consumer C <id>` once the event is projected (exit code 4, not
    /// found, until then); its `data`.
    async fn get_when_projected(&self, what: &str, consumer: &str, id: &str, deadline: Instant) -> Value {
        loop {
            let out = self.run(&["--json", what, "get", "--consumer", consumer, id]);
            if out.status.success() {
                return serde_json::from_slice::<Value>(&out.stdout).expect("json")["data"].clone();
            }
            assert_eq!(out.status.code(), Some(4), "not found until the event is projected");
            assert!(Instant::now() < deadline, "{what} {id} never readable");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_uapi"))
            .args(args)
            .env("UAPI_CONFIG_DIR", &self.config_dir)
            .env("UAPI_CONTROL_PLANE_URL", &self.url)
            .env("UAPI_EMPLOYEE_STORE_URL", &self.store)
            .env("UAPI_WEBHOOKS_URL", &self.webhooks)
            .env("UAPI_ADMIN__TOKEN", ADMIN_TOKEN)
            .env_remove("UAPI_API_KEY")
            .env_remove("UAPI_APPLICATION_ID")
            .env_remove("UAPI_CONSUMER_ID")
            .output()
            .expect("uapi runs")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(out.status.success(), "uapi {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }
}

#[tokio::test]
async fn readme_journey_with_the_cli() {
    let dbs = [
        TestDb::new().await.expect("db"),
        TestDb::new().await.expect("db"),
        TestDb::new().await.expect("db"),
        TestDb::new().await.expect("db"),
    ];
    let system = start_system(&dbs).await;
    let config_dir = std::env::temp_dir().join(format!("uapi-cli-{}", uuid::Uuid::new_v4().simple()));
    let uapi = Uapi {
        config_dir: config_dir.clone(),
        url: system.control_plane.clone(),
        store: system.employee_store.clone(),
        webhooks: system.webhooks.clone(),
    };

    // Not yet authenticated: exit code 3 and a hint.
    let out = uapi.run(&["consumers", "list"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("uapi auth"));

    let app = uapi.json(&["admin", "create-application", "--name", "Acme"]);
    let (app_id, key) = (app["applicationId"].as_str().expect("id"), app["apiKey"].as_str().expect("key"));
    let out = uapi.run(&["auth", "--application-id", app_id, "--api-key", key]);
    assert!(out.status.success());
    let saved = std::fs::read_to_string(config_dir.join("config.toml")).expect("profile saved");
    assert!(saved.contains(app_id));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config_dir.join("config.toml")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "profile holds credentials and must be private");
    }

    // A webhook to a local receiver run by the CLI itself, which verifies every signature.
    let listen_port = free_port().to_string();
    let hook = uapi.json(&["webhooks", "create", "--url", &format!("http://127.0.0.1:{listen_port}/")]);
    assert_eq!((hook["events"][0].as_str(), hook["status"].as_str()), (Some("*"), Some("Enabled")));
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    let hook_id = hook["id"].as_str().expect("id").to_owned();
    let mut listener = Command::new(env!("CARGO_BIN_EXE_uapi"))
        .args(["webhooks", "listen", "--port", &listen_port, "--secret", &secret])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("uapi webhooks listen");
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = listener.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    assert_eq!(uapi.json(&["webhooks", "list"])["data"][0]["id"], hook_id.as_str());

    let consumer = uapi.json(&["consumers", "create", "--name", "Globex", "--reference", "globex-1"]);
    let consumer_id = consumer["id"].as_str().expect("id");
    let list = uapi.json(&["consumers", "list"]);
    assert_eq!(list["data"][0]["id"], consumer_id);
    // The human table names the consumer too.
    let table = String::from_utf8(uapi.run(&["consumers", "list"]).stdout).expect("utf8");
    assert!(table.starts_with("ID") && table.contains("Globex"), "{table}");

    let conn = uapi.json(&["connections", "create", "--consumer", consumer_id]);
    assert_eq!(conn["serviceId"], "okta-scim");
    assert!(conn["metadata"]["baseUrl"].as_str().expect("baseUrl").ends_with("/scim/v2"));
    let token = conn["metadata"]["apiToken"].as_str().expect("apiToken").to_owned();
    let conn_id = conn["id"].as_str().expect("id");

    // Okta provisions a user; the CLI reads it from the employees API.
    let base_url = conn["metadata"]["baseUrl"].as_str().expect("baseUrl").to_owned();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let user_id = loop {
        let res = http
            .post(format!("{base_url}/Users"))
            .header("Authorization", token.as_str())
            .header("Content-Type", "application/scim+json")
            .body(r#"{"userName":"jane.doe@globex.example","name":{"givenName":"Jane","familyName":"Doe"},"active":true}"#)
            .send()
            .await
            .expect("scim");
        // 401 until scim-ingress has seen the connection event.
        if res.status() == 201 {
            break res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
        }
        assert!(Instant::now() < deadline, "SCIM create never succeeded: {}", res.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let employee = uapi.get_when_projected("employees", consumer_id, &user_id, deadline).await;
    assert_eq!(
        (employee["userName"].as_str(), employee["employmentStatus"].as_str()),
        (Some("jane.doe@globex.example"), Some("ACTIVE"))
    );
    // The webhook arrived at the listener, signature verified: one line per event.
    let line = lines.recv_timeout(Duration::from_secs(20)).expect("the listener printed the webhook");
    assert!(line.starts_with(&format!("employee.created  {user_id}  v1  [")), "{line}");
    let deliveries = uapi.json(&["webhooks", "deliveries", &hook_id, "--status", "succeeded"]);
    assert_eq!(deliveries["data"][0]["eventType"], "employee.created");
    // A test event on request, signed like the rest: the listener verifies and prints it too.
    let sent = uapi.json(&["webhooks", "test", &hook_id]);
    assert_eq!(sent["eventType"], "webhook.test", "{sent}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = lines.recv_timeout(left).expect("the listener printed the test event");
        if line.starts_with("webhook.test  ") {
            break;
        }
    }
    let _ = listener.kill();
    let _ = listener.wait();

    let employees = uapi.json(&["employees", "list", "--consumer", consumer_id, "--employment-status", "ACTIVE"]);
    assert_eq!(employees["data"][0]["id"], user_id.as_str());
    let table = String::from_utf8(uapi.run(&["employees", "list", "--consumer", consumer_id]).stdout).expect("utf8");
    assert!(table.contains("jane.doe@globex.example"), "{table}");

    // Okta pushes a group with her in it; the CLI reads it from the groups API.
    let res = http
        .post(format!("{base_url}/Groups"))
        .header("Authorization", token.as_str())
        .header("Content-Type", "application/scim+json")
        .body(format!(r#"{{"displayName":"Engineering","members":[{{"value":"{user_id}"}}]}}"#))
        .send()
        .await
        .expect("scim");
    assert_eq!(res.status(), 201);
    let group_id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let group = uapi.get_when_projected("groups", consumer_id, &group_id, deadline).await;
    assert_eq!(
        (group["name"].as_str(), group["memberIds"].clone()),
        (Some("Engineering"), serde_json::json!([user_id]))
    );
    let groups = uapi.json(&["groups", "list", "--consumer", consumer_id]);
    assert_eq!(groups["data"][0]["id"], group_id.as_str());
    let table = String::from_utf8(uapi.run(&["groups", "list", "--consumer", consumer_id]).stdout).expect("utf8");
    assert!(table.starts_with("ID") && table.contains("Engineering"), "{table}");

    let got = uapi.json(&["connections", "get", "--consumer", consumer_id, conn_id]);
    assert_eq!(got["metadata"]["apiToken"], token.as_str());
    let rotated = uapi.json(&["connections", "rotate-token", "--consumer", consumer_id, conn_id]);
    assert_ne!(rotated["metadata"]["apiToken"], token.as_str());
    let listed = uapi.json(&["connections", "list", "--consumer", consumer_id]);
    assert_eq!(listed["data"].as_array().expect("data").len(), 1);

    // Exit codes scripts can trust.
    assert_eq!(uapi.run(&["consumers", "create", "--name", "Again", "--reference", "globex-1"]).status.code(), Some(5));
    assert_eq!(uapi.run(&["consumers", "get", &uuid::Uuid::now_v7().to_string()]).status.code(), Some(4));
    assert_eq!(uapi.run(&["consumers", "create", "--name", " "]).status.code(), Some(6));
    assert_eq!(uapi.run(&["consumers", "frobnicate"]).status.code(), Some(2));

    assert!(uapi.run(&["connections", "delete", "--consumer", consumer_id, conn_id]).status.success());
    assert_eq!(uapi.run(&["connections", "get", "--consumer", consumer_id, conn_id]).status.code(), Some(4));
    assert!(uapi.run(&["consumers", "delete", consumer_id]).status.success());

    // A control plane that is not there: exit code 7.
    let (exchange, queues) = (system.exchange.clone(), system.queues.clone());
    drop(system);
    assert_eq!(uapi.run(&["consumers", "list"]).status.code(), Some(7));
    let _ = std::fs::remove_dir_all(&config_dir);
    uapi_test_support::delete_broker_objects(&exchange, &[]).await;
    for q in &queues {
        uapi_test_support::delete_queue_with_dead_letters(q).await;
    }
}

/// `uapi webhooks listen` checks signatures on its own: signed by the published `standardwebhooks`
/// crate it answers 200 and prints the event; with a wrong signature it answers 401.
#[tokio::test]
async fn webhooks_listen_verifies_signatures() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let port = free_port();
    let mut listener = Command::new(env!("CARGO_BIN_EXE_uapi"))
        .args(["--json", "webhooks", "listen", "--port", &port.to_string(), "--secret", secret])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("uapi webhooks listen");
    wait_listening(port, "uapi webhooks listen").await;
    let body = r#"{"eventType":"employee.updated","entityId":"e1","version":2,"changedFields":["jobTitle"]}"#;
    let now = chrono_now();
    let signature =
        standardwebhooks::Webhook::new(secret).expect("secret").sign("msg_1", now, body.as_bytes()).expect("sign");
    let http = reqwest::Client::new();
    let send = |sig: String| {
        http.post(format!("http://127.0.0.1:{port}/"))
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", sig)
            .body(body)
            .send()
    };
    assert_eq!(send(signature).await.expect("request").status(), 200);
    assert_eq!(send("v1,bm9wZQ==".to_owned()).await.expect("request").status(), 401);
    let _ = listener.kill();
    let out = listener.wait_with_output().expect("output");
    let printed: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().expect("a line")).expect("JSON");
    assert_eq!(printed["eventType"], "employee.updated");
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}
