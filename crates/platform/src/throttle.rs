//! Token buckets: a bucket per key, refilled at `rate` per second up to `burst`. Used for a
//! connection's request rate (scim-ingress) and for failed credentials ([`FailedCredentials`]).
//! Each replica counts on its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept at most; full ones (which carry no state) are dropped first.
const MAX_BUCKETS: usize = 100_000;

pub struct TokenBuckets<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> TokenBuckets<K> {
    /// `rate` tokens per second per key (0: no limit), at most `burst` at once.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self { rate, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key`; when none is left, how long until one is.
    pub fn take(&self, key: K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    pub fn take_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
            if buckets.len() >= MAX_BUCKETS {
                // Every bucket is in use: a flood of distinct keys. Forgetting them all admits
                // at most one more burst each, and keeps memory bounded.
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.burst, at: now });
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

/// `[throttle]`: how many failed credentials a source (client address) and a subject (the
/// application, consumer or connection they named) may present per minute, per replica.
#[derive(Debug, Clone, Deserialize)]
pub struct ThrottleSettings {
    /// Failed attempts per minute from one client address (0: no limit).
    pub failures_per_source_per_minute: u32,
    /// Failed attempts per minute against one subject, from anywhere (0: no limit).
    pub failures_per_subject_per_minute: u32,
}

/// Failed credentials, throttled per source and per subject. Only failures are counted, and only
/// after the credentials were checked: the right key is accepted whatever the counts, so nobody
/// can lock a customer out by presenting wrong keys in its name. Over a limit, a wrong key is
/// answered 429 with `Retry-After` instead of 401.
pub struct FailedCredentials {
    per_source: TokenBuckets<String>,
    per_subject: TokenBuckets<String>,
}

impl FailedCredentials {
    pub fn new(settings: &ThrottleSettings) -> Self {
        let buckets = |per_minute: u32| TokenBuckets::new(f64::from(per_minute) / 60.0, per_minute);
        Self {
            per_source: buckets(settings.failures_per_source_per_minute),
            per_subject: buckets(settings.failures_per_subject_per_minute),
        }
    }

    /// Counts a failure from `source` against `subject`; `Err(wait)` when either is over its limit.
    pub fn failed(&self, source: &str, subject: Option<&str>) -> Result<(), Duration> {
        let by_source = self.per_source.take(source.to_owned());
        let by_subject = subject.map_or(Ok(()), |s| self.per_subject.take(s.to_owned()));
        match (by_source, by_subject) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(w), _) | (_, Err(w)) => Err(w),
        }
    }
}

/// The client's address: the last `X-Forwarded-For` hop, the one the nearest proxy (the Ingress)
/// added, else the peer. `Forwarded` is not read: an Ingress passes a client's own through. A
/// forged hop only moves its sender's failures to another source's count: the per-subject limit
/// still holds, and the right key passes anyway.
pub fn source_of(req: &actix_web::HttpRequest) -> String {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|hop| !hop.is_empty())
        .map(str::to_owned);
    forwarded.or_else(|| req.peer_addr().map(|a| a.ip().to_string())).unwrap_or_else(|| "unknown".into())
}

/// Whole seconds for `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_admitted_then_the_rate_holds_per_key() {
        let buckets = TokenBuckets::new(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(buckets.take_at("a", t0).is_ok());
        }
        let wait = buckets.take_at("a", t0).expect_err("the fourth waits");
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        assert!(buckets.take_at("b", t0).is_ok(), "another key has its own bucket");
        assert!(buckets.take_at("a", t0 + Duration::from_millis(500)).is_ok(), "refilled at 2/s");
        assert!(buckets.take_at("a", t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn a_zero_rate_admits_everything() {
        let buckets = TokenBuckets::new(0.0, 1);
        assert!((0..1000).all(|_| buckets.take("a").is_ok()));
    }

    #[test]
    fn failures_are_limited_per_source_and_per_subject() {
        let f = FailedCredentials::new(&ThrottleSettings {
            failures_per_source_per_minute: 3,
            failures_per_subject_per_minute: 5,
        });
        for _ in 0..3 {
            assert!(f.failed("10.0.0.1", Some("app-1")).is_ok());
        }
        let wait = f.failed("10.0.0.1", Some("app-2")).expect_err("the source is over its limit");
        assert!((19..=21).contains(&wait.as_secs()), "a token every 20 s: {wait:?}");
        // Other sources against app-1: two more fit under its limit of 5, then it is over.
        assert!(f.failed("10.0.0.2", Some("app-1")).is_ok());
        assert!(f.failed("10.0.0.3", Some("app-1")).is_ok());
        assert!(f.failed("10.0.0.4", Some("app-1")).is_err(), "the subject is over its limit from anywhere");
        assert!(f.failed("10.0.0.5", Some("app-3")).is_ok(), "a fresh source against a fresh subject");
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(19_100)), 20);
    }
}
