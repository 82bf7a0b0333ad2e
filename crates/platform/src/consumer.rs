//! A supervised RabbitMQ consumer: declares its queue, consumes with prefetch and manual acks, and
//! classifies each failure:
//! - a dependency is down (`Unavailable`): the message is retried in place with capped backoff for
//!   as long as it takes, since it is not the message's fault (a database restart loses nothing);
//! - `Transient`: handed back to the queue after a growing pause, a bounded number of times (the
//!   quorum queue's delivery limit), so a poison message never loops hot;
//! - `Permanent`, or retries exhausted: the dead-letter queue.
//!
//! Acks are coalesced per channel ([`crate::acks`]). Reconnects on broker loss.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions};
use lapin::types::{AMQPValue, FieldTable};
use tokio_util::sync::CancellationToken;

use crate::acks::{Acks, Settle};
use crate::amqp::{self, Broker};
use crate::dead_letters::{self, ConsumerMetrics};

/// What went wrong with one message.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A dependency (the database) is unreachable: retried in place until it is back.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Worth a few more tries (a failed query): the message is redelivered later, boundedly.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed (cannot decode, violates the contract): dead-lettered at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Where and how to consume.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub exchange: String,
    pub queue: String,
    pub bindings: Vec<String>,
    pub prefetch: u16,
    /// Concurrent handlers (≤ prefetch). Messages of one aggregate may then be handled out of
    /// order, so handlers must be idempotent and version-aware.
    pub concurrency: usize,
    /// Where the messages given up on, and the lag, are counted.
    pub metrics: ConsumerMetrics,
}

impl HandleError {
    /// Classifies a database error: a lost connection is `Unavailable`, anything else `Transient`.
    pub fn from_query(e: diesel::result::Error) -> Self {
        if crate::db::is_connection_lost(&e) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Transient(e.to_string())
        }
    }

    /// A pool that cannot hand out a connection means the database is unavailable.
    pub fn from_pool(e: impl std::fmt::Display) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// How many times a message was delivered before, from the quorum queue's `x-delivery-count`.
pub fn delivery_count(delivery: &Delivery) -> u32 {
    let headers = delivery.properties.headers().as_ref();
    match headers.and_then(|h| h.inner().iter().find(|(k, _)| k.as_str() == "x-delivery-count").map(|(_, v)| v)) {
        Some(AMQPValue::LongLongInt(n)) => (*n).max(0) as u32,
        Some(AMQPValue::LongInt(n)) => (*n).max(0) as u32,
        Some(AMQPValue::ShortInt(n)) => (*n).max(0) as u32,
        Some(AMQPValue::LongUInt(n)) => *n,
        _ => 0,
    }
}

/// An integer header of the message.
fn header_i64(delivery: &Delivery, name: &str) -> Option<i64> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v) {
        Some(AMQPValue::LongLongInt(n)) => Some(*n),
        Some(AMQPValue::LongInt(n)) => Some(i64::from(*n)),
        _ => None,
    }
}

/// The W3C trace context carried in the message headers.
pub fn parent_context(delivery: &Delivery) -> opentelemetry::Context {
    let mut carrier = std::collections::HashMap::new();
    if let Some(headers) = delivery.properties.headers().as_ref() {
        for (k, v) in headers.inner().iter() {
            if let AMQPValue::LongString(s) = v {
                carrier.insert(k.to_string(), String::from_utf8_lossy(s.as_bytes()).into_owned());
            }
        }
    }
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier))
}

/// Consumes until `stop`, calling `handle` for each delivery and acking after it succeeds.
pub async fn consume_until<H, F>(broker: Arc<Broker>, settings: ConsumerSettings, handle: H, stop: CancellationToken)
where
    H: Fn(Arc<Delivery>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(), HandleError>> + Send + 'static,
{
    let mut backoff = Duration::from_millis(200);
    while !stop.is_cancelled() {
        match run_session(&broker, &settings, handle.clone(), &stop).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(queue = %settings.queue, error = %e, "consumer interrupted; resubscribing");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn run_session<H, F>(
    broker: &Broker,
    settings: &ConsumerSettings,
    handle: H,
    stop: &CancellationToken,
) -> Result<(), amqp::AmqpError>
where
    H: Fn(Arc<Delivery>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(), HandleError>> + Send + 'static,
{
    // Stopping must not wait for a broker that may never come back (the supervisor stops with us):
    // a service stopped before its first connection would otherwise hang here for the hour.
    tokio::select! {
        _ = stop.cancelled() => return Ok(()),
        connected = broker.wait_connected(Duration::from_secs(3600)) => { connected?; }
    }
    let channel = amqp::consumer_channel(broker, settings.prefetch).await?;
    amqp::declare_exchange(&channel, &settings.exchange).await?;
    let keys: Vec<&str> = settings.bindings.iter().map(String::as_str).collect();
    amqp::declare_queue(&channel, &settings.exchange, &settings.queue, &keys).await?;
    let tag = format!("{}-{}", settings.queue, uuid::Uuid::new_v4().simple());
    let mut consumer = amqp::timed(channel.basic_consume(
        settings.queue.as_str().into(),
        tag.as_str().into(),
        BasicConsumeOptions::default(),
        FieldTable::default(),
    ))
    .await?;
    let limit = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
    let acks = Arc::new(Acks::new(channel.clone()));
    let mut observe = tokio::time::interval(dead_letters::OBSERVE_EVERY);
    let outcome = loop {
        let next = tokio::select! {
            _ = stop.cancelled() => break Ok(()),
            _ = observe.tick() => {
                if let Err(e) = settings.metrics.observe(&channel, &settings.queue).await {
                    tracing::debug!(queue = %settings.queue, error = %e, "dead-letter gauge not refreshed");
                }
                continue;
            }
            next = consumer.next() => next,
        };
        let delivery = match next {
            Some(Ok(d)) => d,
            Some(Err(e)) => break Err(e.into()),
            None => break Err(amqp::AmqpError::NotConnected),
        };
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break Ok(());
        };
        acks.track(delivery.delivery_tag);
        let handle = handle.clone();
        let queue = settings.queue.clone();
        let stop = stop.clone();
        let acks = acks.clone();
        let metrics = settings.metrics.clone();
        tokio::spawn(async move {
            let _permit = permit;
            process(delivery, handle, &queue, &stop, &acks, &metrics).await;
        });
    };
    // Let handlers in flight finish and ack before the channel closes; bounded, because after a
    // partition their acks may never be answered (the broker redelivers those messages anyway).
    let _ = tokio::time::timeout(amqp::RPC_TIMEOUT, limit.acquire_many(settings.concurrency.max(1) as u32)).await;
    if channel.status().connected() {
        let _ = amqp::timed(channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default())).await;
        let _ = amqp::timed(channel.close(200, "consumer stopped".into())).await;
    }
    outcome
}

async fn process<H, F>(
    delivery: Delivery,
    handle: H,
    queue: &str,
    stop: &CancellationToken,
    acks: &Acks,
    metrics: &ConsumerMetrics,
) where
    H: Fn(Arc<Delivery>) -> F,
    F: Future<Output = Result<(), HandleError>>,
{
    let tag = delivery.delivery_tag;
    let attempt = delivery_count(&delivery);
    let delivery = Arc::new(delivery);
    let message_id = delivery.properties.message_id().as_ref().map(|m| m.to_string()).unwrap_or_default();
    let created_ms = header_i64(&delivery, crate::outbox::CREATED_AT_HEADER);
    // The consumer span of this message, a child of its producer's (the `traceparent` it carries).
    let span = tracing::info_span!(
        "consume",
        otel.name = %format!("{queue} process"),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.destination.name = %queue,
        messaging.rabbitmq.destination.routing_key = %delivery.routing_key,
        messaging.message.id = %message_id,
    );
    {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let _ = span.set_parent(parent_context(&delivery));
    }
    let mut backoff = Duration::from_millis(100);
    // Marked in the ack window once: it stays failing until it is settled.
    let mut failing = false;
    let outcome = loop {
        // A panicking handler must not leave its delivery unsettled: the acks behind it would wait
        // for it forever. It counts as a transient failure (the delivery limit bounds it).
        let result =
            std::panic::AssertUnwindSafe(tracing::Instrument::instrument(handle(delivery.clone()), span.clone()))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(HandleError::Transient("the handler panicked".into())));
        match result {
            Err(HandleError::Unavailable(reason)) => {
                tracing::warn!(%queue, %message_id, %reason, retry_in_ms = backoff.as_millis() as u64, "dependency unavailable; retrying in place");
                if !std::mem::replace(&mut failing, true) {
                    acks.failing(tag).await;
                }
                tokio::select! {
                    _ = stop.cancelled() => {
                        // Shutting down: hand it back untouched for the next consumer.
                        acks.settle(tag, Settle::Requeue).await;
                        return;
                    }
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            other => break other,
        }
    };
    match outcome {
        Ok(()) => {
            if let Some(created_ms) = created_ms {
                metrics.handled(queue, created_ms);
            }
            acks.ack(tag).await
        }
        Err(HandleError::Permanent(reason)) => {
            tracing::error!(%queue, %message_id, %reason, "message rejected to the dead-letter queue");
            metrics.given_up(queue);
            acks.settle(tag, Settle::Reject).await;
        }
        Err(HandleError::Transient(reason) | HandleError::Unavailable(reason)) => {
            // Pause before handing it back so a failing dependency is not hammered; the queue's
            // delivery limit dead-letters it after a bounded number of attempts.
            let pause = Duration::from_millis(200 * u64::from(attempt + 1).min(25));
            if attempt >= amqp::DELIVERY_LIMIT as u32 {
                tracing::error!(%queue, %message_id, attempt, %reason, "message failed for the last time; the broker dead-letters it");
                metrics.given_up(queue);
            } else {
                tracing::warn!(%queue, %message_id, attempt, %reason, "message failed; will be redelivered");
            }
            if !failing {
                acks.failing(tag).await;
            }
            tokio::time::sleep(pause).await;
            acks.settle(tag, Settle::Requeue).await;
        }
    }
}
