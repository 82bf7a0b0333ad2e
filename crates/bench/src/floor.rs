//! The machine's own floor, measured in the same run before the workloads, so each figure can be
//! read as a ratio of what this box does at the time rather than as a bare number:
//! - Postgres: transactions like a SCIM create's (one row and one outbox row, then commit), from 32
//!   clients;
//! - RabbitMQ: persistent publishes with confirms (64 in flight, as the outbox relay keeps them),
//!   and publish → consume → ack through a quorum queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use uapi_platform::amqp::{Broker, Outgoing, Publisher};
use uapi_platform::config::DatabaseSettings;
use uapi_platform::secret::Secret;

/// What this box does on its own, now.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    /// Postgres transactions (row + outbox row) per second, 32 clients.
    pub pg_tx: f64,
    /// RabbitMQ publishes confirmed per second, 64 in flight.
    pub confirms: f64,
    /// Messages published, consumed and acked per second through a quorum queue.
    pub round_trips: f64,
}

impl Floor {
    pub fn print(&self) {
        println!(
            "floor (this box, now): Postgres {:.0} tx/s (row + outbox row, 32 clients); RabbitMQ {:.0} confirmed publishes/s, {:.0} publish → consume → ack/s",
            self.pg_tx, self.confirms, self.round_trips
        );
    }
}

pub async fn measure(pg_server: &str, amqp_url: &str, secs: Duration) -> anyhow::Result<Floor> {
    let pg_tx = postgres(pg_server, secs).await?;
    let (confirms, round_trips) = rabbitmq(amqp_url, secs).await?;
    Ok(Floor { pg_tx, confirms, round_trips })
}

const CLIENTS: usize = 32;

async fn postgres(server: &str, secs: Duration) -> anyhow::Result<f64> {
    let url = format!("{}/uapi_bench_floor", server.trim_end_matches('/'));
    uapi_platform::db::ensure_database(&url).await?;
    let mut setup = diesel_async::AsyncPgConnection::establish(&url).await?;
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS floor_rows, floor_outbox; \
             CREATE TABLE floor_rows (id uuid PRIMARY KEY, data jsonb NOT NULL); \
             CREATE TABLE floor_outbox (id bigserial PRIMARY KEY, payload bytea NOT NULL, \
                                        created_at timestamptz NOT NULL DEFAULT now());",
        )
        .await?;
    let settings = DatabaseSettings {
        url: Secret::new(url),
        pool_size: CLIENTS,
        acquire_timeout_ms: 10_000,
        connect_timeout_ms: 10_000,
        statement_timeout_ms: 0,
    };
    let pool = uapi_platform::db::pool(&settings)?;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + secs;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (pool, done) = (pool.clone(), done.clone());
            tokio::spawn(async move {
                let payload = vec![7u8; 600];
                while Instant::now() < deadline {
                    let Ok(mut conn) = pool.get().await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let id = uuid::Uuid::now_v7();
                    let written = conn
                        .transaction::<_, diesel::result::Error, _>(async |conn| {
                            diesel::sql_query("INSERT INTO floor_rows (id, data) VALUES ($1, '{\"name\": \"floor\"}')")
                                .bind::<diesel::sql_types::Uuid, _>(id)
                                .execute(conn)
                                .await?;
                            diesel::sql_query("INSERT INTO floor_outbox (payload) VALUES ($1)")
                                .bind::<diesel::sql_types::Binary, _>(&payload)
                                .execute(conn)
                                .await
                        })
                        .await;
                    if written.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.await?;
    }
    Ok(AtomicU64::load(&done, Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

async fn rabbitmq(url: &str, secs: Duration) -> anyhow::Result<(f64, f64)> {
    let broker = Broker::new(url, "uapi-bench-floor");
    broker.connect_now().await?;
    let exchange = "bench.floor";
    let queue = "bench.floor.q";
    let publisher = Publisher::open(&broker, exchange).await?;
    let channel = broker.channel().await?;
    let _ = channel.queue_delete(queue.into(), Default::default()).await;
    uapi_platform::amqp::declare_queue(&channel, exchange, queue, &["floor.#"]).await?;
    let body = vec![7u8; 600];
    // Publishes with confirms, 64 in flight (the outbox relay's batch).
    let started = Instant::now();
    let mut confirmed = 0u64;
    while started.elapsed() < secs {
        confirmed += publish_batch(&publisher, &body, confirmed).await? as u64;
    }
    let confirms = confirmed as f64 / started.elapsed().as_secs_f64();

    // Publish → consume → ack on an empty queue: a consumer (prefetch 128, one ack each) beside
    // a publisher that keeps 64 in flight.
    let _ = channel.queue_delete(queue.into(), Default::default()).await;
    uapi_platform::amqp::declare_queue(&channel, exchange, queue, &["floor.#"]).await?;
    let consumer_channel = uapi_platform::amqp::consumer_channel(&broker, 128).await?;
    let mut consumer = consumer_channel
        .basic_consume(queue.into(), "floor".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await?;
    let started = Instant::now();
    let publishing = {
        let publisher = Arc::new(Publisher::open(&broker, exchange).await?);
        let body = body.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < secs {
                match publish_batch(&publisher, &body, n).await {
                    Ok(k) => n += k as u64,
                    Err(_) => break,
                }
            }
        })
    };
    let mut acked = 0u64;
    while started.elapsed() < secs {
        let Ok(Some(Ok(delivery))) = tokio::time::timeout(Duration::from_secs(2), consumer.next()).await else { break };
        delivery.ack(BasicAckOptions::default()).await?;
        acked += 1;
    }
    let round_trips = acked as f64 / started.elapsed().as_secs_f64();
    publishing.abort();
    let _ = channel.queue_delete(queue.into(), Default::default()).await;
    Ok((confirms, round_trips))
}

/// Publishes 64 persistent messages and waits for their confirms; returns how many.
async fn publish_batch(publisher: &Publisher, body: &[u8], first: u64) -> anyhow::Result<usize> {
    let ids: Vec<String> = (first..first + 64).map(|i| format!("floor-{i}")).collect();
    let sends = ids.iter().map(|id| {
        publisher.send(Outgoing {
            routing_key: "floor.event",
            type_name: "bench.Floor",
            message_id: id,
            content_type: "application/octet-stream",
            body,
            headers: FieldTable::default(),
        })
    });
    let pending = futures_util::future::join_all(sends).await.into_iter().collect::<Result<Vec<_>, _>>()?;
    let n = pending.len();
    for p in pending {
        p.confirmed().await?;
    }
    Ok(n)
}
