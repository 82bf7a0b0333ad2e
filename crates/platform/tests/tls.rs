//! TLS to Postgres and RabbitMQ with certificates this test makes: the local servers behind a
//! TLS-terminating proxy (uapi_test_support::tls), and the services' own connection code on the
//! client side, checking what `sslmode` and `amqp.ca_file` promise.

use diesel_async::RunQueryDsl;
use uapi_platform::amqp::{Broker, Outgoing, Publisher, declare_queue};
use uapi_platform::config::{AmqpSettings, DatabaseSettings};
use uapi_platform::secret::Secret;
use uapi_test_support::tls::{Protocol, TestCa, tls_proxy};
use uapi_test_support::{TestDb, amqp_url, unique_name};

/// The test database's URL through the proxy on `port`, as `host`, with `params`.
fn via(db: &TestDb, host: &str, port: u16, params: &str) -> String {
    let mut url = url::Url::parse(&db.url).expect("url");
    url.set_host(Some(host)).expect("host");
    url.set_port(Some(port)).expect("port");
    format!("{url}?{params}")
}

async fn select_one(url: &str) -> Result<i32, String> {
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        one: i32,
    }
    let mut conn = uapi_platform::tls::pg_connect(url).await.map_err(|e| e.to_string())?;
    let row: One = diesel::sql_query("SELECT 1 AS one").get_result(&mut conn).await.map_err(|e| e.to_string())?;
    Ok(row.one)
}

#[tokio::test]
async fn postgres_over_tls_honours_sslmode_and_the_root_certificate() {
    let db = TestDb::new().await.expect("db");
    let ca = TestCa::new("uapi test CA");
    let port = tls_proxy(ca.server(&["localhost", "127.0.0.1"]), Protocol::Postgres, "127.0.0.1:5432").await;
    let root = ca.pem_file();

    // verify-full: the chain and the name check out.
    let full = via(&db, "localhost", port, &format!("sslmode=verify-full&sslrootcert={root}"));
    assert_eq!(select_one(&full).await, Ok(1));
    assert_eq!(
        select_one(&via(&db, "127.0.0.1", port, &format!("sslmode=verify-full&sslrootcert={root}"))).await,
        Ok(1)
    );

    // The pool the services use, over the same URL.
    let settings = DatabaseSettings {
        url: Secret::new(full.clone()),
        pool_size: 2,
        acquire_timeout_ms: 5000,
        connect_timeout_ms: 5000,
        statement_timeout_ms: 5000,
    };
    let pool = uapi_platform::db::pool(&settings).expect("pool");
    uapi_platform::db::ping(&pool, std::time::Duration::from_secs(5)).await.expect("a pooled connection over TLS");

    // Another CA's root: refused, in every verifying mode.
    let stranger = TestCa::new("another CA");
    let other_root = stranger.pem_file();
    for mode in ["verify-full", "verify-ca", "require"] {
        let err = select_one(&via(&db, "localhost", port, &format!("sslmode={mode}&sslrootcert={other_root}")))
            .await
            .expect_err("an unknown issuer");
        assert!(err.to_lowercase().contains("certificate"), "{mode}: {err}");
    }

    // A certificate for another name: verify-full refuses it, verify-ca (chain only) takes it.
    let misnamed = tls_proxy(ca.server(&["db.internal.example"]), Protocol::Postgres, "127.0.0.1:5432").await;
    let err = select_one(&via(&db, "localhost", misnamed, &format!("sslmode=verify-full&sslrootcert={root}")))
        .await
        .expect_err("wrong name");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(
        select_one(&via(&db, "localhost", misnamed, &format!("sslmode=verify-ca&sslrootcert={root}"))).await,
        Ok(1)
    );
    // require without a root certificate: encrypted, not verified (libpq's meaning).
    assert_eq!(select_one(&via(&db, "localhost", misnamed, "sslmode=require")).await, Ok(1));

    // Plaintext to a server that only speaks TLS fails, and so does an unknown sslmode.
    assert!(select_one(&via(&db, "localhost", port, "sslmode=disable")).await.is_err());
    assert!(select_one(&via(&db, "localhost", port, "sslmode=verify_full")).await.is_err());
}

fn amqp_settings(url: String, ca_file: String) -> AmqpSettings {
    AmqpSettings { url: Secret::new(url), exchange: unique_name("test.tls"), prefetch: 16, ca_file }
}

#[tokio::test]
async fn amqps_with_a_ca_file_connects_publishes_and_refuses_a_stranger() {
    let ca = TestCa::new("uapi test CA");
    let port = tls_proxy(ca.server(&["localhost"]), Protocol::Direct, "127.0.0.1:5672").await;
    let credentials = url::Url::parse(&amqp_url()).expect("url");
    let amqps = format!(
        "amqps://{}:{}@localhost:{port}/%2f",
        credentials.username(),
        credentials.password().unwrap_or_default()
    );

    let settings = amqp_settings(amqps.clone(), ca.pem_file());
    let broker = Broker::from_settings(&settings, "tls-test").expect("broker");
    broker.connect_now().await.expect("amqps with the test CA");
    let publisher = Publisher::open(&broker, &settings.exchange).await.expect("publisher");
    let queue = unique_name("test.tls.q");
    let channel = broker.channel().await.expect("channel");
    declare_queue(&channel, &settings.exchange, &queue, &["tls.#"]).await.expect("queue");
    let message = Outgoing {
        routing_key: "tls.check",
        type_name: "test.Message",
        message_id: "m1",
        content_type: "application/octet-stream",
        body: b"over TLS",
        headers: Default::default(),
    };
    publisher.publish(message).await.expect("confirmed over TLS");
    uapi_test_support::delete_queue_with_dead_letters(&queue).await;
    uapi_test_support::delete_broker_objects(&settings.exchange, &[]).await;

    let plaintext = Broker::new(format!("amqp://guest:guest@localhost:{port}/%2f"), "tls-test-plaintext");
    assert!(plaintext.connect_now().await.is_err(), "the proxy speaks TLS only: the client above did TLS");
    let stranger = TestCa::new("another CA");
    let refused =
        Broker::from_settings(&amqp_settings(amqps, stranger.pem_file()), "tls-test-refused").expect("broker");
    assert!(refused.connect_now().await.is_err(), "a server certificate from another CA is refused");
    let missing = amqp_settings(format!("amqps://guest:guest@localhost:{port}/%2f"), "/nonexistent/ca.pem".into());
    assert!(Broker::from_settings(&missing, "x").is_err(), "a CA file that is not there is an error at start");
}
