//! Results: throughput and latency percentiles.

use std::time::Duration;

#[derive(Default)]
pub struct Run {
    pub ok: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[idx.min(sorted.len() - 1)]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub fn print(name: &str, run: &Run) {
    let rate = run.ok as f64 / run.elapsed.as_secs_f64().max(1e-9);
    println!(
        "{name}\n  {} ok, {} errors in {:.1} s → {:.0}/s; latency p50 {}, p99 {}, max {}",
        run.ok,
        run.errors,
        run.elapsed.as_secs_f64(),
        rate,
        ms(run.percentile(0.50)),
        ms(run.percentile(0.99)),
        ms(run.percentile(1.0)),
    );
}
