//! What one worker process has in flight, per subscription and in total, and each subscription's
//! circuit breaker. Claims are computed from it while it is locked, so the bounds hold exactly
//! within a process.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::config::WebhookSettings;
use crate::db::deliveries::{ClaimLimits, Claimed};

#[derive(Debug, Default)]
struct Endpoint {
    in_flight: usize,
    /// Consecutive failed attempts.
    failures: u32,
    /// While set and in the future, the breaker is open: no attempts.
    open_until: Option<Instant>,
}

/// In-flight counts and breakers.
#[derive(Debug, Default)]
pub struct Slots {
    in_flight: usize,
    endpoints: HashMap<Uuid, Endpoint>,
}

/// The capacity snapshot a claim uses.
pub struct Limits {
    capped: Vec<(Uuid, i32)>,
    default_cap: i32,
    limit: i64,
}

impl Limits {
    pub fn with_only<'a>(&'a self, only: &'a [Uuid], lease: Duration) -> ClaimLimits<'a> {
        ClaimLimits { capped: &self.capped, default_cap: self.default_cap, limit: self.limit, lease, only: Some(only) }
    }

    pub fn all_due(&self, lease: Duration) -> ClaimLimits<'_> {
        ClaimLimits { capped: &self.capped, default_cap: self.default_cap, limit: self.limit, lease, only: None }
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }
}

impl Slots {
    /// How much each subscription may still take: an open breaker takes none, a half-open one
    /// (cool-down over, still failing) one trial attempt.
    pub fn limits(&self, s: &WebhookSettings) -> Limits {
        let now = Instant::now();
        let per = s.max_in_flight_per_endpoint;
        let capped = self
            .endpoints
            .iter()
            .filter_map(|(id, e)| {
                let cap = if e.open_until.is_some_and(|t| t > now) {
                    0
                } else if e.failures >= s.breaker_failures {
                    1usize.saturating_sub(e.in_flight)
                } else {
                    per.saturating_sub(e.in_flight)
                };
                (cap != per).then_some((*id, cap as i32))
            })
            .collect();
        Limits {
            capped,
            default_cap: per.min(i32::MAX as usize) as i32,
            limit: s.max_in_flight.saturating_sub(self.in_flight) as i64,
        }
    }

    /// Counts claimed deliveries as in flight.
    pub fn register(&mut self, claimed: Vec<Claimed>) -> Vec<Claimed> {
        for c in &claimed {
            self.in_flight += 1;
            self.endpoints.entry(c.subscription_id).or_default().in_flight += 1;
        }
        claimed
    }

    /// Whether the subscription's breaker is open now, and until when.
    pub fn open_until(&self, sub: Uuid) -> Option<Instant> {
        self.endpoints.get(&sub).and_then(|e| e.open_until).filter(|t| *t > Instant::now())
    }

    /// A delivery is done (attempted or released); `success` is `None` when it was not attempted.
    pub fn done(&mut self, sub: Uuid, success: Option<bool>, s: &WebhookSettings) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let e = self.endpoints.entry(sub).or_default();
        e.in_flight = e.in_flight.saturating_sub(1);
        match success {
            Some(true) => {
                e.failures = 0;
                e.open_until = None;
            }
            Some(false) => {
                e.failures = e.failures.saturating_add(1);
                if e.failures >= s.breaker_failures {
                    e.open_until = Some(Instant::now() + Duration::from_millis(s.breaker_cooldown_ms));
                }
            }
            None => {}
        }
        if e.in_flight == 0 && e.failures == 0 {
            self.endpoints.remove(&sub);
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}
