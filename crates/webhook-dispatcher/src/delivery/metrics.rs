//! Delivery metrics on the process registry: outcomes and attempt latency.

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts};
use uapi_platform::metrics::Metrics;

#[derive(Clone)]
pub struct DeliveryMetrics {
    outcomes: IntCounterVec,
    latency: HistogramVec,
    fanned_out: IntCounter,
    sent_early: IntCounter,
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
        // Registration only fails on duplicate names, impossible for these.
        let _ = metrics.registry.register(Box::new(outcomes.clone()));
        let _ = metrics.registry.register(Box::new(latency.clone()));
        let _ = metrics.registry.register(Box::new(fanned_out.clone()));
        let _ = metrics.registry.register(Box::new(sent_early.clone()));
        Self { outcomes, latency, fanned_out, sent_early }
    }

    pub fn outcome(&self, outcome: &str, seconds: f64, ok: bool) {
        self.outcomes.with_label_values(&[outcome]).inc();
        self.latency.with_label_values(&[if ok { "success" } else { "failure" }]).observe(seconds);
    }

    pub fn fanned_out(&self, n: usize) {
        self.fanned_out.inc_by(n as u64);
    }

    pub fn sent_early(&self, n: usize) {
        self.sent_early.inc_by(n as u64);
    }
}
