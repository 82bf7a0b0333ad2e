//! Delivery metrics on the process registry: outcomes, attempt latency, delivery lag, breakers.

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts};
use uapi_platform::metrics::Metrics;

#[derive(Clone)]
pub struct DeliveryMetrics {
    outcomes: IntCounterVec,
    latency: HistogramVec,
    fanned_out: IntCounter,
    sent_early: IntCounter,
    lag: Histogram,
    pub breakers: BreakerMetrics,
}

impl DeliveryMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let outcomes = IntCounterVec::new(
            Opts::new("webhook_deliveries_total", "Webhook attempts by outcome: succeeded, retried, failed"),
            &["outcome"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        let latency = HistogramVec::new(
            HistogramOpts::new("webhook_attempt_duration_seconds", "Latency of webhook attempts by result")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0]),
            &["result"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        let fanned_out = IntCounter::new("webhook_fanout_deliveries_total", "Deliveries created by the fan-out")
            .expect("static metric definition is valid"); // ok: constant names
        let sent_early = IntCounter::new(
            "webhook_early_sends_total",
            "First attempts started before their fan-out committed (docs/webhooks.md, early sends)",
        )
        .expect("static metric definition is valid"); // ok: constant names
        let lag = Histogram::with_opts(
            HistogramOpts::new(
                "webhook_delivery_lag_seconds",
                "From a delivery's creation (its event's fan-out) to its successful attempt, retries included",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0,
            ]),
        )
        .expect("static metric definition is valid"); // ok: constant names
        let breakers = BreakerMetrics::default();
        // Registration only fails on duplicate names, impossible for these.
        let _ = metrics.registry.register(Box::new(lag.clone()));
        let _ = metrics.registry.register(Box::new(breakers.open.clone()));
        let _ = metrics.registry.register(Box::new(breakers.by_subscription.clone()));
        let _ = metrics.registry.register(Box::new(outcomes.clone()));
        let _ = metrics.registry.register(Box::new(latency.clone()));
        let _ = metrics.registry.register(Box::new(fanned_out.clone()));
        let _ = metrics.registry.register(Box::new(sent_early.clone()));
        Self { outcomes, latency, fanned_out, sent_early, lag, breakers }
    }

    pub fn outcome(&self, outcome: &str, seconds: f64, ok: bool) {
        self.outcomes.with_label_values(&[outcome]).inc();
        self.latency.with_label_values(&[if ok { "success" } else { "failure" }]).observe(seconds);
    }

    /// A delivery succeeded `lag` after it was created.
    pub fn delivered(&self, lag: chrono::TimeDelta) {
        self.lag.observe(lag.num_milliseconds().max(0) as f64 / 1e3);
    }

    pub fn fanned_out(&self, n: usize) {
        self.fanned_out.inc_by(n as u64);
    }

    pub fn sent_early(&self, n: usize) {
        self.sent_early.inc_by(n as u64);
    }
}

/// Subscriptions whose breaker this process holds open (or half-open: failing, probing), counted
/// and, for the first [`BREAKER_SERIES`] of them, one series each: bounded whatever the failures.
#[derive(Clone)]
pub struct BreakerMetrics {
    open: IntGauge,
    by_subscription: IntGaugeVec,
}

/// Series of `webhook_breaker_open` at most.
pub const BREAKER_SERIES: i64 = 100;

impl Default for BreakerMetrics {
    /// Gauges no registry exports (tests); [`DeliveryMetrics::register`] registers its own.
    fn default() -> Self {
        let open =
            IntGauge::new("webhook_breakers_open", "Subscriptions whose circuit breaker is open in this process")
                .expect("static metric definition is valid"); // ok: constant names
        let by_subscription = IntGaugeVec::new(
            Opts::new(
                "webhook_breaker_open",
                "1 for each subscription whose circuit breaker is open in this process (the first 100)",
            ),
            &["subscription"],
        )
        .expect("static metric definition is valid"); // ok: constant names and labels
        Self { open, by_subscription }
    }
}

impl BreakerMetrics {
    pub fn opened(&self, subscription: uuid::Uuid) {
        self.open.inc();
        if self.open.get() <= BREAKER_SERIES {
            self.by_subscription.with_label_values(&[&subscription.to_string()]).set(1);
        }
    }

    pub fn closed(&self, subscription: uuid::Uuid) {
        self.open.dec();
        let _ = self.by_subscription.remove_label_values(&[&subscription.to_string()]);
    }

    #[cfg(test)]
    pub fn open_now(&self) -> i64 {
        self.open.get()
    }

    #[cfg(test)]
    pub fn is_exported(&self, subscription: uuid::Uuid) -> bool {
        use prometheus::core::Collector;
        let id = subscription.to_string();
        self.by_subscription
            .collect()
            .iter()
            .flat_map(|f| f.get_metric())
            .any(|m| m.get_label().iter().any(|l| l.value() == id))
    }
}

impl std::fmt::Debug for BreakerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerMetrics").field("open", &self.open.get()).finish()
    }
}
