//! The confirming publisher and the outbox relay against the real RabbitMQ and Postgres,
//! including a broker outage through a proxy the test controls.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uapi_platform::amqp::{AmqpError, Broker, Outgoing, Publisher, declare_queue};
use uapi_platform::outbox::{self, NewMessage, RelaySettings};
use uapi_test_support::{TcpProxy, TestDb, amqp_url, unique_name};

fn message<'a>(key: &'a str, id: &'a str, body: &'a [u8]) -> Outgoing<'a> {
    Outgoing {
        routing_key: key,
        type_name: "test.Message",
        message_id: id,
        content_type: "application/octet-stream",
        body,
        headers: FieldTable::default(),
    }
}

#[tokio::test]
async fn publish_is_confirmed_and_unroutable_messages_are_errors() {
    let exchange = unique_name("test.x");
    let queue = unique_name("test.q");
    let broker = Broker::new(amqp_url(), "test");
    broker.connect_now().await.expect("rabbitmq");
    let publisher = Publisher::open(&broker, &exchange).await.expect("publisher");
    let ch = broker.channel().await.expect("channel");
    declare_queue(&ch, &exchange, &queue, &["routed.#"]).await.expect("queue");

    publisher.publish(message("routed.one", "m1", b"hello")).await.expect("confirmed");
    let err = publisher.publish(message("nowhere", "m2", b"lost?")).await.expect_err("unroutable");
    assert!(matches!(err, AmqpError::Unroutable { .. }), "{err}");

    let mut consumer = ch
        .basic_consume(queue.as_str().into(), "t".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume");
    let d = consumer.next().await.expect("open").expect("delivery");
    assert_eq!(d.data, b"hello");
    assert_eq!(d.properties.message_id().as_ref().map(|m| m.as_str()), Some("m1"));
    assert_eq!(d.properties.delivery_mode(), &Some(2));
    d.ack(BasicAckOptions::default()).await.expect("ack");
    uapi_test_support::delete_broker_objects(&exchange, &[]).await;
    uapi_test_support::delete_queue_with_dead_letters(&queue).await;
}

const OUTBOX_DDL: &str = "CREATE TABLE outbox (id bigserial PRIMARY KEY, message_id uuid NOT NULL, \
    routing_key text NOT NULL, type_name text NOT NULL, payload bytea NOT NULL, traceparent text, \
    created_at timestamptz NOT NULL DEFAULT now(), failures int NOT NULL DEFAULT 0, parked_at timestamptz)";

async fn enqueue(url: &str, from: u32, to: u32) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    for i in from..to {
        outbox::enqueue(
            &mut conn,
            NewMessage {
                message_id: uuid::Uuid::now_v7(),
                routing_key: "item.created",
                type_name: "test.Item",
                payload: i.to_be_bytes().to_vec(),
            },
        )
        .await
        .expect("enqueue");
    }
}

#[tokio::test]
async fn outbox_survives_a_broker_outage_and_keeps_order() {
    let db = TestDb::new().await.expect("db");
    AsyncPgConnection::establish(&db.url).await.expect("connect").batch_execute(OUTBOX_DDL).await.expect("ddl");
    let pool = uapi_platform::db::pool(&uapi_platform::config::DatabaseSettings {
        url: uapi_platform::secret::Secret::new(db.url.clone()),
        pool_size: 2,
        acquire_timeout_ms: 2000,
        connect_timeout_ms: 2000,
        statement_timeout_ms: 0,
    })
    .expect("pool");

    let amqp = url::Url::parse(&amqp_url()).expect("url");
    let target = format!("{}:{}", amqp.host_str().unwrap_or("127.0.0.1"), amqp.port().unwrap_or(5672));
    let proxy = TcpProxy::start(&target).await.expect("proxy");
    let mut via_proxy = amqp.clone();
    via_proxy.set_port(Some(proxy.port)).expect("port");

    let exchange = unique_name("test.x");
    let queue = unique_name("test.q");
    let broker = Broker::new(via_proxy.as_str(), "relay");
    let stop = CancellationToken::new();
    let supervisor = broker.supervise_until(stop.clone());
    let wake = Arc::new(Notify::new());
    let relay = tokio::spawn(outbox::relay_until(
        pool.clone(),
        broker.clone(),
        RelaySettings {
            exchange: exchange.clone(),
            batch_size: 16,
            rounds_in_flight: 4,
            poll_interval: Duration::from_millis(100),
            mailboxes: vec![(queue.clone(), vec!["item.#".into()])],
        },
        outbox::OutboxMetrics::unregistered(),
        wake.clone(),
        stop.clone(),
    ));

    enqueue(&db.url, 0, 50).await;
    wake.notify_one();
    wait_until(|| async { outbox::backlog(&pool).await.expect("backlog") == 0 }, "first batch published").await;

    // The broker goes away while writes continue: they wait in the outbox.
    proxy.cut();
    // The sentinel: the relay's broker connection is seen down before the writes go on.
    wait_until(|| async { !broker.is_connected() }, "the outage noticed").await;
    enqueue(&db.url, 50, 150).await;
    wake.notify_one();
    assert!(outbox::backlog(&pool).await.expect("backlog") > 0, "nothing can be published during the outage");
    proxy.restore();
    wait_until(|| async { outbox::backlog(&pool).await.expect("backlog") == 0 }, "backlog drained after restore").await;

    // Every message arrived, in order; an outage may duplicate (at-least-once) but never lose or reorder.
    let direct = Broker::new(amqp_url(), "reader");
    direct.connect_now().await.expect("rabbitmq");
    let ch = direct.channel().await.expect("channel");
    let mut consumer = ch
        .basic_consume(queue.as_str().into(), "t".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume");
    let mut seen: Vec<u32> = Vec::new();
    while seen.last() != Some(&149) {
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .expect("message within 10 s")
            .expect("open")
            .expect("delivery");
        seen.push(u32::from_be_bytes(d.data[..4].try_into().expect("4 bytes")));
        d.ack(BasicAckOptions::default()).await.expect("ack");
    }
    let mut expected_next = 0;
    for n in &seen {
        assert!(*n <= expected_next, "message {n} arrived before {expected_next}: {seen:?}");
        if *n == expected_next {
            expected_next += 1;
        }
    }
    assert_eq!(expected_next, 150, "every message arrived");

    stop.cancel();
    let _ = relay.await;
    let _ = supervisor.await;
    uapi_test_support::delete_broker_objects(&exchange, &[]).await;
    uapi_test_support::delete_queue_with_dead_letters(&queue).await;
}

async fn enqueue_keyed(url: &str, routing_key: &str, n: u32) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    let message = NewMessage {
        message_id: uuid::Uuid::now_v7(),
        routing_key,
        type_name: "test.Item",
        payload: n.to_be_bytes().to_vec(),
    };
    outbox::enqueue(&mut conn, message).await.expect("enqueue");
}

/// A row no queue is bound for is parked after a few tries instead of blocking the rows behind it,
/// is counted as parked, and is published once the topology is fixed and it is unparked.
#[tokio::test]
async fn an_unroutable_row_is_parked_and_replayed_without_blocking_the_rest() {
    let db = TestDb::new().await.expect("db");
    AsyncPgConnection::establish(&db.url).await.expect("connect").batch_execute(OUTBOX_DDL).await.expect("ddl");
    let pool = uapi_platform::db::pool(&uapi_platform::config::DatabaseSettings {
        url: uapi_platform::secret::Secret::new(db.url.clone()),
        pool_size: 2,
        acquire_timeout_ms: 2000,
        connect_timeout_ms: 2000,
        statement_timeout_ms: 0,
    })
    .expect("pool");
    let (exchange, queue) = (unique_name("test.x"), unique_name("test.q"));
    for n in 0..3 {
        enqueue_keyed(&db.url, "item.created", n).await;
    }
    enqueue_keyed(&db.url, "nowhere.created", 99).await;
    for n in 3..6 {
        enqueue_keyed(&db.url, "item.created", n).await;
    }
    let broker = Broker::new(amqp_url(), "relay");
    broker.connect_now().await.expect("rabbitmq");
    let stop = CancellationToken::new();
    let wake = Arc::new(Notify::new());
    let relay = tokio::spawn(outbox::relay_until(
        pool.clone(),
        broker.clone(),
        RelaySettings {
            exchange: exchange.clone(),
            batch_size: 16,
            rounds_in_flight: 2,
            poll_interval: Duration::from_millis(50),
            mailboxes: vec![(queue.clone(), vec!["item.#".into()])],
        },
        outbox::OutboxMetrics::unregistered(),
        wake.clone(),
        stop.clone(),
    ));
    let parked = |waiting: i64| {
        let pool = pool.clone();
        async move {
            outbox::state(&pool).await.expect("state")
                == outbox::OutboxState { waiting, oldest_age_secs: 0.0, parked: 1 }
        }
    };
    wait_until(|| parked(0), "the unroutable row parked, every other row published").await;

    let ch = broker.channel().await.expect("channel");
    let mut consumer = ch
        .basic_consume(queue.as_str().into(), "t".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume");
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 6 {
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .expect("message within 10 s")
            .expect("open")
            .expect("delivery");
        seen.insert(u32::from_be_bytes(d.data[..4].try_into().expect("4 bytes")));
        d.ack(BasicAckOptions::default()).await.expect("ack");
    }
    assert_eq!(seen, (0..6).collect(), "the rows behind the parked one were published");

    // Fixed: a queue is now bound for it; replayed, it is published.
    declare_queue(&ch, &exchange, &queue, &["item.#", "nowhere.#"]).await.expect("bind");
    assert_eq!(outbox::unpark(&pool).await.expect("unpark"), 1);
    wake.notify_one();
    wait_until(|| async { outbox::backlog(&pool).await.expect("backlog") == 0 }, "the replayed row published").await;
    // The rows behind it went out again with each retry before it was parked (at-least-once).
    loop {
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .expect("message within 10 s")
            .expect("open")
            .expect("delivery");
        d.ack(BasicAckOptions::default()).await.expect("ack");
        match u32::from_be_bytes(d.data[..4].try_into().expect("4 bytes")) {
            99 => break,
            n => assert!(n < 6, "only copies of the earlier rows come before it: {n}"),
        }
    }
    stop.cancel();
    let _ = relay.await;
    uapi_test_support::delete_broker_objects(&exchange, &[]).await;
    uapi_test_support::delete_queue_with_dead_letters(&queue).await;
}

async fn wait_until<F, Fut>(mut check: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_relays_on_one_outbox_publish_each_row_once() {
    let db = TestDb::new().await.expect("db");
    AsyncPgConnection::establish(&db.url).await.expect("connect").batch_execute(OUTBOX_DDL).await.expect("ddl");
    let pool = uapi_platform::db::pool(&uapi_platform::config::DatabaseSettings {
        url: uapi_platform::secret::Secret::new(db.url.clone()),
        pool_size: 4,
        acquire_timeout_ms: 2000,
        connect_timeout_ms: 2000,
        statement_timeout_ms: 0,
    })
    .expect("pool");
    let exchange = unique_name("test.x");
    let queue = unique_name("test.q");
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for name in ["relay-a", "relay-b"] {
        let broker = Broker::new(amqp_url(), name);
        broker.connect_now().await.expect("rabbitmq");
        tasks.push(tokio::spawn(outbox::relay_until(
            pool.clone(),
            broker,
            RelaySettings {
                exchange: exchange.clone(),
                batch_size: 8,
                rounds_in_flight: 4,
                poll_interval: Duration::from_millis(5),
                mailboxes: vec![(queue.clone(), vec!["item.#".into()])],
            },
            outbox::OutboxMetrics::unregistered(),
            Arc::new(Notify::new()),
            stop.clone(),
        )));
    }
    // Rows arrive while both relays poll as fast as they can.
    for chunk in 0..10 {
        enqueue(&db.url, chunk * 30, (chunk + 1) * 30).await;
    }
    wait_until(|| async { outbox::backlog(&pool).await.expect("backlog") == 0 }, "outbox drained").await;
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }

    let reader = Broker::new(amqp_url(), "reader");
    reader.connect_now().await.expect("rabbitmq");
    let ch = reader.channel().await.expect("channel");
    let mut consumer = ch
        .basic_consume(queue.as_str().into(), "t".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume");
    let mut seen = std::collections::HashMap::new();
    while let Ok(Some(Ok(d))) = tokio::time::timeout(Duration::from_millis(1500), consumer.next()).await {
        *seen.entry(u32::from_be_bytes(d.data[..4].try_into().expect("4 bytes"))).or_insert(0) += 1;
        d.ack(BasicAckOptions::default()).await.expect("ack");
    }
    assert_eq!(seen.len(), 300, "every row published");
    assert!(
        seen.values().all(|n| *n == 1),
        "a row was published twice: {:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    uapi_test_support::delete_broker_objects(&exchange, &[]).await;
    uapi_test_support::delete_queue_with_dead_letters(&queue).await;
}

/// A consumer stopped before the broker ever connected returns at once (the supervisor stops with
/// it, so waiting for a connection would wait for the hour-long bound).
#[tokio::test]
async fn a_consumer_that_never_connected_stops_when_told() {
    use uapi_platform::consumer::{ConsumerSettings, consume_until};
    let broker = Broker::new("amqp://guest:guest@127.0.0.1:1/%2f", "test");
    let settings = ConsumerSettings {
        exchange: unique_name("test.x"),
        queue: unique_name("test.q"),
        bindings: vec!["#".into()],
        prefetch: 1,
        concurrency: 1,
        metrics: Default::default(),
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(consume_until(broker, settings, |_| async { Ok(()) }, stop.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), task).await.expect("stops without a broker").expect("joins");
}
