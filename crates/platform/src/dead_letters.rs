//! Dead-letter queues are alarms, not bins: every message a consumer gives up on is counted and
//! logged with its event id, each queue's dead letters are exported as a gauge, and
//! `<service> replay-dead-letters` sends them back to their queue once the cause is fixed.

use std::time::Duration;

use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::amqp::{self, AmqpError, Broker};

/// How often a consumer refreshes its dead-letter gauge.
pub const OBSERVE_EVERY: Duration = Duration::from_secs(15);

/// A process's consumer metrics, labelled by queue (bounded: a service has one or two): messages
/// given up on, dead letters waiting, and the age of each event when it is handled (the lag).
#[derive(Clone)]
pub struct ConsumerMetrics {
    given_up: IntCounterVec,
    waiting: IntGaugeVec,
    event_age: HistogramVec,
}

impl std::fmt::Debug for ConsumerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsumerMetrics")
    }
}

impl Default for ConsumerMetrics {
    /// Counters no registry exports (tests, tools).
    fn default() -> Self {
        let given_up = IntCounterVec::new(
            Opts::new(
                "messages_dead_lettered_total",
                "Messages a consumer gave up on, sent to the queue's dead-letter queue",
            ),
            &["queue"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        let waiting = IntGaugeVec::new(
            Opts::new("dead_letter_messages", "Messages waiting in the queue's dead-letter queue (<queue>.dlq)"),
            &["queue"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        let event_age = HistogramVec::new(
            HistogramOpts::new(
                "consumer_event_age_seconds",
                "Age of each event when its consumer handled it: from its outbox row to the handler's success",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0]),
            &["queue"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        Self { given_up, waiting, event_age }
    }
}

impl ConsumerMetrics {
    /// The counters, registered on `registry` (a duplicate registration leaves them unexported).
    pub fn register(registry: &Registry) -> Self {
        let metrics = Self::default();
        let _ = registry.register(Box::new(metrics.given_up.clone()));
        let _ = registry.register(Box::new(metrics.waiting.clone()));
        let _ = registry.register(Box::new(metrics.event_age.clone()));
        metrics
    }

    /// A message of `queue` was given up on.
    pub fn given_up(&self, queue: &str) {
        self.given_up.with_label_values(&[queue]).inc();
    }

    /// A message of `queue` written to its outbox at `created_ms` (Unix milliseconds) was handled.
    pub fn handled(&self, queue: &str, created_ms: i64) {
        let age_ms = chrono::Utc::now().timestamp_millis().saturating_sub(created_ms).max(0);
        self.event_age.with_label_values(&[queue]).observe(age_ms as f64 / 1e3);
    }

    /// Sets the gauge of `queue` from its dead-letter queue's depth.
    pub async fn observe(&self, channel: &lapin::Channel, queue: &str) -> Result<(), AmqpError> {
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        let dlq = dead_letter_queue(queue);
        let declared = amqp::timed(channel.queue_declare(dlq.as_str().into(), passive, FieldTable::default())).await?;
        self.waiting.with_label_values(&[queue]).set(i64::from(declared.message_count()));
        Ok(())
    }
}

/// The dead-letter queue of consumer queue `queue`.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dlq")
}

/// Headers the broker adds while a message fails and is dead-lettered: a replayed message starts
/// afresh without them.
const BROKER_HEADERS: [&str; 2] = ["x-death", "x-delivery-count"];

/// Moves every message of `queue`'s dead-letter queue back to `queue` (through its
/// [`amqp::replay_exchange`], so it keeps its routing key and reaches no other consumer); each
/// is removed from the dead-letter queue only once the broker confirmed its replay. Returns how
/// many were replayed.
pub async fn replay(broker: &Broker, queue: &str) -> anyhow::Result<usize> {
    let channel = broker.channel().await?;
    amqp::timed(channel.confirm_select(ConfirmSelectOptions::default())).await?;
    let dlq = dead_letter_queue(queue);
    let exchange = amqp::replay_exchange(queue);
    let mut replayed = 0;
    loop {
        let got = amqp::timed(channel.basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: false })).await?;
        let Some(message) = got else { break };
        let delivery = message.delivery;
        let mut properties = delivery.properties.clone();
        if let Some(headers) = properties.headers().clone() {
            let mut kept = FieldTable::default();
            for (k, v) in headers.inner().iter().filter(|(k, _)| !is_broker_header(k.as_str())) {
                kept.insert(k.clone(), v.clone());
            }
            properties = properties.with_headers(kept);
        }
        let confirm = amqp::timed(channel.basic_publish(
            exchange.as_str().into(),
            delivery.routing_key.clone(),
            BasicPublishOptions { mandatory: true, ..Default::default() },
            &delivery.data,
            properties,
        ))
        .await?;
        let confirmation = amqp::timed(confirm).await?;
        if !confirmation.is_ack() || confirmation.take_message().is_some() {
            anyhow::bail!("RabbitMQ did not take the replay of a dead letter of {queue}; it stays in {dlq}");
        }
        amqp::timed(delivery.acker.ack(BasicAckOptions::default())).await?;
        let id = delivery.properties.message_id().as_ref().map(|m| m.to_string()).unwrap_or_default();
        tracing::info!(%queue, message_id = %id, routing_key = %delivery.routing_key, "dead letter replayed");
        replayed += 1;
    }
    let _ = amqp::timed(channel.close(200, "replayed".into())).await;
    Ok(replayed)
}

fn is_broker_header(name: &str) -> bool {
    BROKER_HEADERS.contains(&name) || name.starts_with("x-first-death-") || name.starts_with("x-last-death-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn broker_headers_are_dropped_on_replay() {
        for h in ["x-death", "x-delivery-count", "x-first-death-reason", "x-last-death-queue"] {
            assert!(super::is_broker_header(h), "{h}");
        }
        assert!(!super::is_broker_header("traceparent"));
    }
}
