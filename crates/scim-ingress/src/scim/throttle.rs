//! Per-connection rate limiting: a token bucket per connection, refilled at `rate` requests/s up
//! to `burst`. A request over the limit is answered 429 with a SCIM error and `Retry-After` (whole
//! seconds until a token is back), which Okta honours before it retries. Each replica counts on its
//! own, so N replicas admit up to N × `rate`. Off (`rate` 0) unless configured.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Throttle {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

impl Throttle {
    /// `rate` requests per second per connection (0: no limit), at most `burst` at once.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self { rate, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `connection`; when none is left, how long until one is.
    pub fn admit(&self, connection: Uuid) -> Result<(), Duration> {
        self.admit_at(connection, Instant::now())
    }

    fn admit_at(&self, connection: Uuid, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        // Bounded: buckets full again carry no state and go first.
        if buckets.len() >= 100_000 {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(connection).or_insert(Bucket { tokens: self.burst, at: now });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_admitted_then_the_rate_holds_per_connection() {
        let throttle = Throttle::new(2.0, 3);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(throttle.admit_at(a, t0).is_ok());
        }
        let wait = throttle.admit_at(a, t0).expect_err("the fourth waits");
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert!(throttle.admit_at(b, t0).is_ok(), "another connection has its own bucket");
        assert!(throttle.admit_at(a, t0 + Duration::from_millis(500)).is_ok(), "refilled at 2/s");
        assert!(throttle.admit_at(a, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn a_zero_rate_admits_everything() {
        let throttle = Throttle::new(0.0, 1);
        let a = Uuid::now_v7();
        assert!((0..1000).all(|_| throttle.admit(a).is_ok()));
    }
}
