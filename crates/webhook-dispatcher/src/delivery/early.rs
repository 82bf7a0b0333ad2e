//! Early sends: the first attempt of a new event's delivery starts while the event's fan-out
//! commits, instead of after it. The fan-out writes one batch at a time (so an entity's versions
//! reach the database in order), and under load an event waits for the batch in progress and then
//! for its own; an early send takes that wait off the path from the SCIM write to the webhook.
//!
//! An event goes early to a subscription only when all of these hold, so early sends keep the
//! guarantees of docs/webhooks.md:
//! - its message is not a redelivery (a redelivered event may have been fanned out already), and
//!   no copy of the event came to this worker before ([`Early::sight`]: the relay publishes an
//!   event again when it cannot tell whether the first publish landed, and the second copy would
//!   otherwise go early while the first one's delivery is under way). A later copy also waits
//!   until the first copy's fan-out is over before it fans out itself: otherwise it could create
//!   the delivery the usual way while the first copy's early attempt is still being started, and
//!   the event would go out twice;
//! - the worker's [`SubscriptionCache`](super::subscription_cache) says the subscription wants it;
//! - the endpoint is healthy in this worker with an attempt slot free ([`super::slots`]) and no
//!   deliveries held for it;
//! - no older version of the entity can still await its first attempt: the event is version 1, or
//!   this worker recorded the first attempt of the version just before it ([`Early::in_order`]).
//!
//! The fan-out then writes the delivery leased, never held, and hands its id to the attempt
//! ([`Fate`]), which is recorded against it as usual. A delivery the fan-out did not create (the
//! subscription changed since the cache was read, or the event was a duplicate) leaves the attempt
//! unrecorded; one created with another URL or secret than the attempt used is released to be
//! sent again the usual way.

use std::collections::{HashMap, HashSet, VecDeque};

use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::db::claims::Endpoint;

/// What the fan-out made of an early send's delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Created as sent: record the attempt against this delivery.
    Created(Uuid),
    /// Created, but the subscription's URL or secrets are not those the attempt used: release it.
    Stale(Uuid),
    /// Not created (the fan-out failed, the subscription no longer matches, or a duplicate).
    Missing,
}

struct Waiting {
    endpoint: Endpoint,
    fate: oneshot::Sender<Fate>,
}

/// Versions whose first attempt was recorded, kept at most; past it the map starts again (a
/// missing entry only means the next version takes the usual path).
const MAX_FIRSTS: usize = 200_000;

/// Event ids remembered for [`Early::sight`]: about a minute and a half at 1,000 events/s.
const MAX_SEEN: usize = 100_000;

/// The events this worker has seen, newest last (a set for lookups, a queue for their age), and
/// those whose first copy is still being fanned out.
#[derive(Default)]
struct Seen {
    ids: HashSet<Uuid>,
    order: VecDeque<Uuid>,
    in_progress: HashMap<Uuid, watch::Receiver<()>>,
}

/// What [`Early::sight`] made of a copy of an event.
pub enum Sight<'a> {
    /// The first copy this worker has seen lately: it may go early. Dropping it (once its
    /// fan-out is over) lets later copies go on.
    First(FirstCopy<'a>),
    /// A later copy: fan it out the usual way, after [`Sight::settled`].
    Again(Option<watch::Receiver<()>>),
}

impl Sight<'_> {
    pub fn is_first(&self) -> bool {
        matches!(self, Sight::First(_))
    }

    /// Resolves once the first copy's fan-out is over (at once for the first copy itself, or
    /// when the first copy is no longer in progress).
    pub async fn settled(&mut self) {
        if let Sight::Again(Some(rx)) = self {
            // The sender goes when the first copy's fan-out is over: that is the signal.
            let _ = rx.changed().await;
        }
    }
}

/// The first copy of an event while it is fanned out.
pub struct FirstCopy<'a> {
    early: &'a Early,
    event: Uuid,
    done: watch::Sender<()>,
}

impl Drop for FirstCopy<'_> {
    fn drop(&mut self) {
        let mut seen = lock(&self.early.seen);
        // Only its own entry: a copy that came after the event was forgotten (MAX_SEEN) is a first
        // copy again, with an entry of its own.
        if seen.in_progress.get(&self.event).is_some_and(|rx| rx.same_channel(&self.done.subscribe())) {
            seen.in_progress.remove(&self.event);
        }
    }
}

/// Early sends in progress and what their order rule needs.
#[derive(Default)]
pub struct Early {
    seen: std::sync::Mutex<Seen>,
    /// (event, subscription) → the early attempt waiting for its delivery id.
    waiting: std::sync::Mutex<HashMap<(Uuid, Uuid), Waiting>>,
    /// (subscription, entity) → the newest version whose first attempt this worker recorded.
    firsts: std::sync::Mutex<HashMap<(Uuid, String), i64>>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Maps of plain values: a panic while holding one cannot leave it inconsistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Early {
    /// Notes that a copy of `event` arrived: the first copy this worker has seen lately, or a
    /// later one, which must wait for the first copy's fan-out ([`Sight::settled`]).
    pub fn sight(&self, event: Uuid) -> Sight<'_> {
        let mut seen = lock(&self.seen);
        if !seen.ids.insert(event) {
            return Sight::Again(seen.in_progress.get(&event).cloned());
        }
        seen.order.push_back(event);
        if seen.order.len() > MAX_SEEN
            && let Some(oldest) = seen.order.pop_front()
        {
            seen.ids.remove(&oldest);
        }
        let (done, waiting) = watch::channel(());
        seen.in_progress.insert(event, waiting);
        Sight::First(FirstCopy { early: self, event, done })
    }

    /// Whether `version` of `entity` may go early to `subscription`: no older version of it can
    /// be waiting for a first attempt.
    pub fn in_order(&self, subscription: Uuid, entity: &str, version: i64) -> bool {
        version == 1 || lock(&self.firsts).get(&(subscription, entity.to_owned())) == Some(&(version - 1))
    }

    /// The first attempt of `version` of `entity` to `subscription` is recorded.
    pub fn first_recorded(&self, subscription: Uuid, entity: &str, version: i64) {
        let mut firsts = lock(&self.firsts);
        if firsts.len() >= MAX_FIRSTS {
            firsts.clear();
        }
        let newest = firsts.entry((subscription, entity.to_owned())).or_insert(version);
        *newest = (*newest).max(version);
    }

    /// Registers an early attempt of `event` to `subscription`, sent with `endpoint`; the receiver
    /// learns its delivery's fate once the fan-out commits.
    pub fn wait(&self, event: Uuid, subscription: Uuid, endpoint: Endpoint) -> oneshot::Receiver<Fate> {
        let (fate, rx) = oneshot::channel();
        lock(&self.waiting).insert((event, subscription), Waiting { endpoint, fate });
        rx
    }

    /// The fan-out committed `delivery` for `event` and `subscription` with `endpoint`. `None`
    /// when no early attempt waited for it; otherwise (it is not to be started again) whether the
    /// attempt used that endpoint.
    pub fn created(&self, event: Uuid, subscription: Uuid, delivery: Uuid, endpoint: &Endpoint) -> Option<bool> {
        let w = lock(&self.waiting).remove(&(event, subscription))?;
        let same = w.endpoint == *endpoint;
        let _ = w.fate.send(if same { Fate::Created(delivery) } else { Fate::Stale(delivery) }); // nobody waits: fine
        Some(same)
    }

    /// The fan-out of `event` is over: early attempts still waiting learn their delivery is
    /// missing. Returns how many there were.
    pub fn settle(&self, event: Uuid, subscriptions: &[Uuid]) -> usize {
        let mut waiting = lock(&self.waiting);
        let mut missing = 0;
        for w in subscriptions.iter().filter_map(|s| waiting.remove(&(event, *s))) {
            let _ = w.fate.send(Fate::Missing); // nobody waits: fine
            missing += 1;
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint {
            delivery_url: url.to_owned(),
            secret: "whsec_x".to_owned(),
            previous_secret: None,
            previous_secret_expires_at: None,
        }
    }

    #[test]
    fn a_version_goes_early_only_right_after_a_recorded_first_attempt() {
        let early = Early::default();
        let sub = Uuid::now_v7();
        assert!(early.in_order(sub, "e1", 1), "a first version has nothing before it");
        assert!(!early.in_order(sub, "e1", 2), "version 1's first attempt is not recorded");
        early.first_recorded(sub, "e1", 1);
        assert!(early.in_order(sub, "e1", 2));
        assert!(!early.in_order(sub, "e1", 3), "version 2 may still await its first attempt");
        assert!(!early.in_order(Uuid::now_v7(), "e1", 2), "per subscription");
        early.first_recorded(sub, "e1", 3);
        early.first_recorded(sub, "e1", 2);
        assert!(early.in_order(sub, "e1", 4), "the newest recorded version counts");
    }

    #[test]
    fn only_the_first_copy_of_an_event_is_a_first_sight() {
        let early = Early::default();
        let event = Uuid::now_v7();
        assert!(early.sight(event).is_first());
        assert!(!early.sight(event).is_first(), "a second copy");
        for _ in 0..MAX_SEEN {
            early.sight(Uuid::now_v7());
        }
        assert!(early.sight(event).is_first(), "forgotten once MAX_SEEN newer events came");
        let seen = lock(&early.seen);
        assert_eq!(seen.ids.len(), MAX_SEEN);
        assert!(seen.in_progress.is_empty(), "every first copy dropped is no longer in progress");
    }

    #[tokio::test]
    async fn a_later_copy_waits_until_the_first_copys_fan_out_is_over() {
        let early = Early::default();
        let event = Uuid::now_v7();
        let first = early.sight(event);
        assert!(first.is_first());
        let mut again = early.sight(event);
        assert!(!again.is_first());
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), again.settled()).await;
        assert!(waited.is_err(), "the first copy is still being fanned out");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(1), again.settled())
            .await
            .expect("the first copy's fan-out is over");
        let mut late = early.sight(event);
        tokio::time::timeout(std::time::Duration::from_secs(1), late.settled())
            .await
            .expect("a copy after the first one's fan-out goes on at once");
    }

    #[tokio::test]
    async fn the_fan_out_decides_each_waiting_attempts_fate() {
        let early = Early::default();
        let (event, sub, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let same = early.wait(event, sub, endpoint("http://a"));
        let moved = early.wait(event, other, endpoint("http://a"));
        let delivery = Uuid::now_v7();
        assert_eq!(early.created(event, sub, delivery, &endpoint("http://a")), Some(true));
        assert_eq!(early.created(event, other, delivery, &endpoint("http://b")), Some(false));
        assert_eq!(early.created(event, sub, delivery, &endpoint("http://a")), None, "once");
        assert_eq!(same.await.expect("fate"), Fate::Created(delivery));
        assert_eq!(moved.await.expect("fate"), Fate::Stale(delivery));
        let missing = early.wait(event, sub, endpoint("http://a"));
        assert_eq!(early.settle(event, &[sub, other]), 1);
        assert_eq!(missing.await.expect("fate"), Fate::Missing);
    }
}
