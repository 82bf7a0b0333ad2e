//! The supervised consumer against the real RabbitMQ: every delivery settled exactly once with
//! coalesced acks, a failing delivery not holding back the acks behind it, and a permanent
//! failure dead-lettered among successes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;
use uapi_platform::amqp::{Broker, Outgoing, Publisher, declare_queue};
use uapi_platform::consumer::{ConsumerSettings, HandleError, consume_until};
use uapi_test_support::{amqp_url, unique_name};

/// A queue with `n` messages `m0`…`m{n-1}` waiting, declared as the consumer declares it.
async fn queue_with(n: usize) -> (Arc<Broker>, ConsumerSettings) {
    let (exchange, queue) = (unique_name("test.x"), unique_name("test.q"));
    let broker = Broker::new(amqp_url(), "test");
    broker.connect_now().await.expect("rabbitmq");
    let ch = broker.channel().await.expect("channel");
    let publisher = Publisher::open(&broker, &exchange).await.expect("publisher");
    declare_queue(&ch, &exchange, &queue, &["t.#"]).await.expect("queue");
    for i in 0..n {
        let id = format!("m{i}");
        let msg = Outgoing {
            routing_key: "t.m",
            type_name: "test.Message",
            message_id: &id,
            content_type: "application/octet-stream",
            body: id.as_bytes(),
            headers: FieldTable::default(),
        };
        publisher.publish(msg).await.expect("confirmed");
    }
    let settings = ConsumerSettings {
        exchange,
        queue,
        bindings: vec!["t.#".into()],
        prefetch: 128,
        concurrency: 64,
        metrics: Default::default(),
    };
    (broker, settings)
}

/// Messages ready in `queue` (unacked ones count once their channel is closed).
async fn ready(broker: &Broker, queue: &str) -> u32 {
    let ch = broker.channel().await.expect("channel");
    let q = ch
        .queue_declare(queue.into(), QueueDeclareOptions { passive: true, ..Default::default() }, FieldTable::default())
        .await
        .expect("queue exists");
    q.message_count()
}

async fn wait_until(mut check: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

type Seen = Arc<Mutex<HashMap<String, usize>>>;

fn count(seen: &Seen, d: &lapin::message::Delivery) {
    let id = String::from_utf8_lossy(&d.data).into_owned();
    *seen.lock().expect("lock").entry(id).or_default() += 1;
}

fn handled(seen: &Seen) -> usize {
    seen.lock().expect("lock").len()
}

/// A running consumer: stopped by [`Running::stop`].
struct Running {
    task: tokio::task::JoinHandle<()>,
    stop: CancellationToken,
}

fn start<H, F>(broker: &Arc<Broker>, settings: &ConsumerSettings, handle: H) -> Running
where
    H: Fn(Arc<lapin::message::Delivery>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Result<(), HandleError>> + Send + 'static,
{
    let stop = CancellationToken::new();
    let task = tokio::spawn(consume_until(broker.clone(), settings.clone(), handle, stop.clone()));
    Running { task, stop }
}

impl Running {
    /// Stops the consumer (its channel closes, so anything unacked goes back to the queue), then
    /// checks that each message was handled once and none is left.
    async fn stop_and_check(self, broker: &Broker, settings: &ConsumerSettings, seen: &Seen) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task).await.expect("consumer stops").expect("joins");
        assert!(seen.lock().expect("lock").values().all(|n| *n == 1), "a message was handled twice");
        assert_eq!(ready(broker, &settings.queue).await, 0, "every delivery was acked or dead-lettered");
    }
}

async fn cleanup(settings: &ConsumerSettings) {
    uapi_test_support::delete_queue_with_dead_letters(&settings.queue).await;
    uapi_test_support::delete_broker_objects(&settings.exchange, &[]).await;
}

#[tokio::test]
async fn a_burst_handled_out_of_order_is_acked_once_each() {
    let (broker, settings) = queue_with(300).await;
    let seen: Seen = Arc::default();
    let handler_seen = seen.clone();
    let handle = move |d: Arc<lapin::message::Delivery>| {
        let seen = handler_seen.clone();
        async move {
            // Finish out of delivery order, as concurrent handlers do.
            let n: u64 = String::from_utf8_lossy(&d.data[1..]).parse().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis((n * 7919) % 6)).await;
            count(&seen, &d);
            Ok(())
        }
    };
    let running = start(&broker, &settings, handle);
    wait_until(|| handled(&seen) == 300, "all 300 handled").await;
    running.stop_and_check(&broker, &settings, &seen).await;
    cleanup(&settings).await;
}

#[tokio::test]
async fn a_delivery_retrying_in_place_does_not_hold_back_the_acks_behind_it() {
    let (broker, mut settings) = queue_with(50).await;
    // With 8 unacked deliveries at most, successes left waiting behind m0 would stop the flow.
    settings.prefetch = 8;
    settings.concurrency = 8;
    let seen: Seen = Arc::default();
    let m0_may_succeed = Arc::new(AtomicBool::new(false));
    let (handler_seen, gate) = (seen.clone(), m0_may_succeed.clone());
    let handle = move |d: Arc<lapin::message::Delivery>| {
        let (seen, gate) = (handler_seen.clone(), gate.clone());
        async move {
            if &d.data[..] == b"m0" && !gate.load(Ordering::Acquire) {
                return Err(HandleError::Unavailable("database down, for m0".into()));
            }
            count(&seen, &d);
            Ok(())
        }
    };
    let running = start(&broker, &settings, handle);
    wait_until(|| handled(&seen) == 49, "the 49 behind m0 handled while m0 retries").await;
    assert!(!seen.lock().expect("lock").contains_key("m0"));
    m0_may_succeed.store(true, Ordering::Release);
    wait_until(|| handled(&seen) == 50, "m0 handled once it can be").await;
    running.stop_and_check(&broker, &settings, &seen).await;
    cleanup(&settings).await;
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_and_the_rest_acked() {
    let (broker, settings) = queue_with(40).await;
    let seen: Seen = Arc::default();
    let handler_seen = seen.clone();
    let handle = move |d: Arc<lapin::message::Delivery>| {
        let seen = handler_seen.clone();
        async move {
            count(&seen, &d);
            if &d.data[..] == b"m5" {
                return Err(HandleError::Permanent("cannot decode m5".into()));
            }
            Ok(())
        }
    };
    let running = start(&broker, &settings, handle);
    wait_until(|| handled(&seen) == 40, "all 40 handled").await;
    let dlq = format!("{}.dlq", settings.queue);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ready(&broker, &dlq).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "m5 never reached the dead-letter queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop_and_check(&broker, &settings, &seen).await;
    assert_eq!(ready(&broker, &dlq).await, 1, "only m5 was dead-lettered");
    cleanup(&settings).await;
}

/// A message the handler cannot take yet is counted and dead-lettered; after the fix, the replay
/// brings it back to its own queue (routing key intact) and the consumer takes it.
#[tokio::test]
async fn a_dead_letter_is_counted_and_replayed_after_the_fix() {
    let (broker, mut settings) = queue_with(3).await;
    let registry = prometheus::Registry::new();
    settings.metrics = uapi_platform::dead_letters::ConsumerMetrics::register(&registry);
    let fixed = Arc::new(AtomicBool::new(false));
    let seen: Seen = Arc::default();
    let (handler_seen, handler_fixed) = (seen.clone(), fixed.clone());
    let handle = move |d: Arc<lapin::message::Delivery>| {
        let (seen, fixed) = (handler_seen.clone(), handler_fixed.clone());
        async move {
            if &d.data[..] == b"m1" && !fixed.load(Ordering::SeqCst) {
                return Err(HandleError::Permanent("m1 needs a fix".into()));
            }
            assert_eq!(d.routing_key.as_str(), "t.m", "a replayed message keeps its routing key");
            count(&seen, &d);
            Ok(())
        }
    };
    let running = start(&broker, &settings, handle);
    wait_until(|| handled(&seen) == 2, "m0 and m2 handled").await;
    let dlq = format!("{}.dlq", settings.queue);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ready(&broker, &dlq).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "m1 never reached the dead-letter queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let given_up = |registry: &prometheus::Registry| {
        registry
            .gather()
            .iter()
            .find(|f| f.name() == "messages_dead_lettered_total")
            .map(|f| f.get_metric().iter().map(|m| m.get_counter().get_value()).sum::<f64>())
            .unwrap_or_default()
    };
    assert_eq!(given_up(&registry), 1.0);

    fixed.store(true, Ordering::SeqCst);
    let replayed = uapi_platform::dead_letters::replay(&broker, &settings.queue).await.expect("replay");
    assert_eq!(replayed, 1);
    wait_until(|| handled(&seen) == 3, "m1 handled after its replay").await;
    running.stop_and_check(&broker, &settings, &seen).await;
    assert_eq!(ready(&broker, &dlq).await, 0, "the dead-letter queue is empty");
    cleanup(&settings).await;
}
