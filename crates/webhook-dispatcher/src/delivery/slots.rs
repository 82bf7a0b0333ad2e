//! What one worker process holds, per subscription and in total, and each subscription's circuit
//! breaker. Claims are computed from it while it is locked, so the bounds hold within a process.
//!
//! A healthy endpoint may have up to [`CLAIM_AHEAD`] × its in-flight bound claimed, so a finished
//! attempt is followed at once by the next one without waiting for a claim round trip; attempts
//! themselves are bounded by semaphores (per endpoint and in total). An endpoint that failed
//! recently gets no claim-ahead, one whose breaker is open gets nothing.
//!
//! A subscription whose breaker is open or half-open, or whose endpoint has stalled (every slot
//! busy and no attempt finished for [`STALLED`]), is *holding*: the fan-out holds its new
//! deliveries back (`db::held`) instead of writing a row per event it cannot take.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use uuid::Uuid;

use super::metrics::BreakerMetrics;
use crate::config::WebhookSettings;
use crate::db::claims::{ClaimLimits, Claimed};

/// Deliveries claimed per healthy endpoint, as a multiple of its in-flight bound.
pub const CLAIM_AHEAD: usize = 4;

/// How long an endpoint with every in-flight slot busy may go without finishing an attempt before
/// its new deliveries are held. A healthy endpoint under load finishes one every few milliseconds.
pub const STALLED: Duration = Duration::from_millis(250);

#[derive(Debug)]
struct Endpoint {
    /// Claimed by this process and not done (in flight or waiting for a permit).
    claimed: usize,
    /// Consecutive failed attempts.
    failures: u32,
    /// While set and in the future, the breaker is open: no attempts.
    open_until: Option<Instant>,
    /// When an attempt last finished, or the first claim of an idle endpoint was registered.
    last_progress: Instant,
    permits: Arc<Semaphore>,
}

/// Claimed counts, attempt permits and breakers.
#[derive(Debug)]
pub struct Slots {
    claimed: usize,
    global: Arc<Semaphore>,
    endpoints: HashMap<Uuid, Endpoint>,
    breakers: BreakerMetrics,
}

/// A claimed delivery with the permits its attempt must hold.
pub struct Ticket {
    pub claimed: Claimed,
    pub endpoint: Arc<Semaphore>,
    pub global: Arc<Semaphore>,
    pub at: Instant,
    /// For an early send, where its delivery id arrives once the fan-out commits.
    pub pending: Option<tokio::sync::oneshot::Receiver<super::early::Fate>>,
}

/// The capacity snapshot a claim uses.
pub struct Limits {
    capped: Vec<(Uuid, i32)>,
    default_cap: i32,
    limit: i64,
    holding: Vec<Uuid>,
}

impl Limits {
    pub fn claim(&self, settings: &WebhookSettings) -> ClaimLimits<'_> {
        ClaimLimits {
            capped: &self.capped,
            default_cap: self.default_cap,
            limit: self.limit,
            lease: settings.lease(),
            order_gap: settings.order_gap(),
        }
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }

    /// Whether the subscription can take nothing now (breaker open, or full).
    pub fn blocked(&self, sub: Uuid) -> bool {
        self.capped.iter().any(|(id, cap)| *id == sub && *cap == 0)
    }

    /// The subscriptions whose new deliveries are held.
    pub fn holding(&self) -> &[Uuid] {
        &self.holding
    }
}

impl Slots {
    pub fn new(s: &WebhookSettings, breakers: BreakerMetrics) -> Self {
        Self { claimed: 0, global: Arc::new(Semaphore::new(s.max_in_flight)), endpoints: HashMap::new(), breakers }
    }

    /// How much each subscription may still claim.
    pub fn limits(&self, s: &WebhookSettings) -> Limits {
        let now = Instant::now();
        let per = s.max_in_flight_per_endpoint;
        let ahead = per.saturating_mul(CLAIM_AHEAD);
        let capped = self
            .endpoints
            .iter()
            .filter_map(|(id, e)| {
                let cap = if e.open_until.is_some_and(|t| t > now) {
                    0
                } else if e.failures >= s.breaker_failures {
                    1usize.saturating_sub(e.claimed) // half-open: one trial
                } else if e.failures > 0 {
                    per.saturating_sub(e.claimed)
                } else {
                    ahead.saturating_sub(e.claimed)
                };
                (cap != ahead).then_some((*id, cap.min(i32::MAX as usize) as i32))
            })
            .collect();
        let holding = self
            .endpoints
            .iter()
            .filter(|(_, e)| {
                e.open_until.is_some_and(|t| t > now)
                    || e.failures >= s.breaker_failures
                    || (e.claimed >= per && now.saturating_duration_since(e.last_progress) >= STALLED)
            })
            .map(|(id, _)| *id)
            .collect();
        let total = s.max_in_flight.saturating_mul(2);
        Limits {
            capped,
            default_cap: ahead.min(i32::MAX as usize) as i32,
            limit: total.saturating_sub(self.claimed) as i64,
            holding,
        }
    }

    /// Counts claimed deliveries and hands out what their attempts need.
    pub fn register(&mut self, claimed: Vec<Claimed>, s: &WebhookSettings) -> Vec<Ticket> {
        let at = Instant::now();
        claimed
            .into_iter()
            .map(|c| {
                self.claimed += 1;
                let e = self.endpoints.entry(c.subscription_id).or_insert_with(|| Endpoint {
                    claimed: 0,
                    failures: 0,
                    open_until: None,
                    last_progress: at,
                    permits: Arc::new(Semaphore::new(s.max_in_flight_per_endpoint)),
                });
                if e.claimed == 0 {
                    e.last_progress = at;
                }
                e.claimed += 1;
                Ticket { claimed: c, endpoint: e.permits.clone(), global: self.global.clone(), at, pending: None }
            })
            .collect()
    }

    /// Registers an early send ([`super::early`]) of `c` if its endpoint is healthy here (no
    /// failure since its last success) with an attempt slot free, and this process has one free.
    pub fn take_early(&mut self, c: Claimed, s: &WebhookSettings) -> Option<Ticket> {
        if self.claimed >= s.max_in_flight {
            return None;
        }
        if let Some(e) = self.endpoints.get(&c.subscription_id)
            && (e.failures > 0 || e.claimed >= s.max_in_flight_per_endpoint)
        {
            return None;
        }
        self.register(vec![c], s).pop()
    }

    /// Whether the subscription's breaker is open now, and until when.
    pub fn open_until(&self, sub: Uuid) -> Option<Instant> {
        self.endpoints.get(&sub).and_then(|e| e.open_until).filter(|t| *t > Instant::now())
    }

    /// A delivery is done (attempted or released); `success` is `None` when it was not attempted.
    pub fn done(&mut self, sub: Uuid, success: Option<bool>, s: &WebhookSettings) {
        self.claimed = self.claimed.saturating_sub(1);
        let Some(e) = self.endpoints.get_mut(&sub) else {
            return;
        };
        e.claimed = e.claimed.saturating_sub(1);
        if success.is_some() {
            e.last_progress = Instant::now();
        }
        let tripped = e.failures >= s.breaker_failures;
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
        match (tripped, e.failures >= s.breaker_failures) {
            (false, true) => self.breakers.opened(sub),
            (true, false) => self.breakers.closed(sub),
            _ => {}
        }
        if e.claimed == 0 && e.failures == 0 {
            self.endpoints.remove(&sub);
        }
    }

    /// Deliveries claimed and not done.
    pub fn claimed(&self) -> usize {
        self.claimed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::claims::Endpoint as Target;

    fn settings() -> WebhookSettings {
        let mut s = crate::config::Settings::load(crate::config::tests::env(&[])).expect("defaults").webhooks;
        s.max_in_flight_per_endpoint = 2;
        s.breaker_failures = 2;
        s
    }

    fn claimed(sub: Uuid) -> Claimed {
        Claimed {
            id: Uuid::now_v7(),
            subscription_id: sub,
            event_id: Uuid::now_v7(),
            attempt_count: 0,
            step: 0,
            entity_id: "e1".into(),
            version: 1,
            body: String::new(),
            traceparent: None,
            created_at: chrono::Utc::now(),
            endpoint: Target {
                delivery_url: String::new(),
                secret: String::new(),
                previous_secret: None,
                previous_secret_expires_at: None,
            },
        }
    }

    #[test]
    fn an_endpoint_with_every_slot_busy_and_no_progress_is_holding() {
        let s = settings();
        let mut slots = Slots::new(&s, BreakerMetrics::default());
        let (stalled, busy) = (Uuid::now_v7(), Uuid::now_v7());
        slots.register(vec![claimed(stalled), claimed(stalled), claimed(busy), claimed(busy)], &s);
        assert!(slots.limits(&s).holding().is_empty(), "nobody stalls at once");
        std::thread::sleep(STALLED + Duration::from_millis(20));
        // `busy` finished an attempt just now and took another: progress, not a stall.
        slots.done(busy, Some(true), &s);
        slots.register(vec![claimed(busy)], &s);
        assert_eq!(slots.limits(&s).holding(), [stalled]);
        slots.done(stalled, Some(true), &s);
        assert!(slots.limits(&s).holding().is_empty(), "a finished attempt ends the stall");
    }

    #[test]
    fn early_sends_need_a_healthy_endpoint_with_a_free_slot() {
        let s = settings();
        let mut slots = Slots::new(&s, BreakerMetrics::default());
        let sub = Uuid::now_v7();
        assert!(slots.take_early(claimed(sub), &s).is_some(), "an endpoint not seen yet");
        assert!(slots.take_early(claimed(sub), &s).is_some());
        assert!(slots.take_early(claimed(sub), &s).is_none(), "both attempt slots are taken");
        slots.done(sub, Some(false), &s);
        assert!(slots.take_early(claimed(sub), &s).is_none(), "a failure since the last success");
        slots.done(sub, Some(true), &s);
        assert!(slots.take_early(claimed(sub), &s).is_some(), "a success heals it");
        assert_eq!(slots.claimed(), 1);
    }

    #[test]
    fn an_open_or_half_open_breaker_is_holding() {
        let s = settings();
        let breakers = BreakerMetrics::default();
        let mut slots = Slots::new(&s, breakers.clone());
        let sub = Uuid::now_v7();
        slots.register(vec![claimed(sub), claimed(sub)], &s);
        slots.done(sub, Some(false), &s);
        assert!(slots.limits(&s).holding().is_empty(), "one failure keeps it open for deliveries");
        assert_eq!(breakers.open_now(), 0);
        slots.done(sub, Some(false), &s);
        assert_eq!(slots.limits(&s).holding(), [sub]);
        assert_eq!(breakers.open_now(), 1, "the breaker opened");
        assert!(breakers.is_exported(sub));
        slots.register(vec![claimed(sub)], &s);
        slots.done(sub, Some(false), &s);
        assert_eq!(breakers.open_now(), 1, "a failure while open counts once");
        slots.register(vec![claimed(sub)], &s);
        slots.done(sub, Some(true), &s);
        assert!(slots.limits(&s).holding().is_empty(), "a success closes the breaker");
        assert_eq!(breakers.open_now(), 0, "and its gauge");
        assert!(!breakers.is_exported(sub), "its series is gone");
    }
}
