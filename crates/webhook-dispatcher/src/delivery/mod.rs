//! The delivery loop of a worker: attempts claimed deliveries concurrently within the bounds of
//! [`slots::Slots`], records each attempt and where the delivery goes next, and polls for due
//! retries and expired leases. New deliveries arrive from the fan-out already claimed, so the
//! common path has no polling delay.

pub mod attempt;
pub mod early;
pub mod metrics;
pub mod recorder;
pub mod schedule;
pub mod slots;
pub mod subscription_cache;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Mutex, MutexGuard, Notify};
use tokio_util::sync::CancellationToken;
use uapi_platform::db::PgPool;
use uuid::Uuid;

use crate::config::WebhookSettings;
use crate::db::claims::Claimed;
use crate::db::deliveries::{self, Attempt, Next};
use crate::db::{claims, held};
use crate::fanout::Rendered;
use crate::ssrf::TargetPolicy;
use early::{Early, Fate};
use metrics::DeliveryMetrics;
use recorder::{Record, Recorder};
use slots::{Slots, Ticket};
use subscription_cache::SubscriptionCache;

/// Where held-back deliveries may be waiting.
#[derive(Debug, Default)]
struct Backlog {
    all: bool,
    subscriptions: std::collections::HashSet<Uuid>,
}

/// How often a worker deletes deliveries past their retention.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// (subscription, entity) pairs with versions waiting for an older one, remembered at most.
const MAX_ORDER_WAITS: usize = 100_000;

/// How often a worker releases held deliveries past `webhooks.hold_max_secs`, at most.
const RELEASE_AGED_EVERY: Duration = Duration::from_secs(5);

/// The worker's delivery engine; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    settings: WebhookSettings,
    client: reqwest::Client,
    policy: Arc<TargetPolicy>,
    metrics: DeliveryMetrics,
    recorder: Recorder,
    /// Opens the sealed signing secrets.
    keys: Arc<crate::sealing::KeyRing>,
    slots: Mutex<Slots>,
    wake: Notify,
    /// Where due deliveries may be waiting (capacity or order held them back): an attempt of such
    /// a subscription that finishes wakes the poller instead of leaving them to the next poll.
    backlog: std::sync::Mutex<Backlog>,
    /// Subscriptions this worker held deliveries for: released once they can take them again.
    held: std::sync::Mutex<std::collections::HashSet<Uuid>>,
    /// (subscription, entity) with a version the fan-out left waiting for an older one: the
    /// attempt of that entity this worker records next wakes the poller. Kept apart from the
    /// backlog, which every claim starts afresh.
    order_waits: std::sync::Mutex<std::collections::HashSet<(Uuid, String)>>,
    /// Attempts finished and not yet recorded (shutdown waits for them).
    recording: AtomicUsize,
    subscriptions: Arc<SubscriptionCache>,
    early: Early,
}

impl Dispatcher {
    /// A worker's engine; `subscriptions` is the cache its early sends read (shared with the API
    /// of the same process, which drops what it changes).
    pub fn new(
        pool: PgPool,
        settings: WebhookSettings,
        policy: Arc<TargetPolicy>,
        metrics: DeliveryMetrics,
        subscriptions: Arc<SubscriptionCache>,
        keys: Arc<crate::sealing::KeyRing>,
    ) -> anyhow::Result<Self> {
        let client = attempt::client(policy.clone(), settings.request_timeout())?;
        let recorder = Recorder::start(pool.clone(), settings.disable_after_failing_secs, subscriptions.clone());
        let slots = Mutex::new(Slots::new(&settings, metrics.breakers.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                keys,
                pool,
                settings,
                client,
                policy,
                metrics,
                recorder,
                slots,
                wake: Notify::new(),
                backlog: std::sync::Mutex::new(Backlog { all: true, ..Backlog::default() }),
                held: std::sync::Mutex::new(std::collections::HashSet::new()),
                order_waits: std::sync::Mutex::new(std::collections::HashSet::new()),
                recording: AtomicUsize::new(0),
                subscriptions,
                early: Early::default(),
            }),
        })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    pub fn metrics(&self) -> &DeliveryMetrics {
        &self.inner.metrics
    }

    /// The in-flight counts and breakers (held briefly, never across a query).
    pub async fn lock_slots(&self) -> MutexGuard<'_, Slots> {
        self.inner.slots.lock().await
    }

    /// Due deliveries of these subscriptions may be waiting: wake the poller when one of their
    /// attempts finishes. Per subscription, so a dead endpoint's held-back deliveries never turn
    /// every healthy attempt into a claim query.
    pub fn note_backlog(&self, subscriptions: impl IntoIterator<Item = Uuid>) {
        self.backlog().subscriptions.extend(subscriptions);
    }

    /// Due deliveries of any subscription may be waiting (the worker's own capacity ran out).
    fn note_backlog_everywhere(&self) {
        self.backlog().all = true;
    }

    /// Whether an attempt of `subscription` finishing should wake the poller: deliveries may be
    /// held back for it (capacity, order), or held for it in `held_deliveries`.
    fn backlogged(&self, subscription: Uuid) -> bool {
        let waiting = {
            let backlog = self.backlog();
            backlog.all || backlog.subscriptions.contains(&subscription)
        };
        waiting || self.held().contains(&subscription)
    }

    fn backlog(&self) -> std::sync::MutexGuard<'_, Backlog> {
        // A panic while holding it cannot leave it inconsistent (two plain fields): go on.
        self.inner.backlog.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The fan-out held deliveries of these subscriptions: release them when they can take them.
    pub fn note_held(&self, subscriptions: &[Uuid]) {
        self.held().extend(subscriptions.iter().copied());
    }

    fn held(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<Uuid>> {
        // A set of ids: a panic while holding it cannot leave it inconsistent.
        self.inner.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Turns held deliveries into deliveries: those of the subscriptions in `subscriptions`, and
    /// every one held longer than `older_than_secs`. On failure the subscriptions are noted again.
    async fn release_held(&self, subscriptions: Vec<Uuid>, older_than_secs: Option<f64>) {
        let result = match self.inner.pool.get().await {
            Ok(mut conn) => {
                held::release(&mut conn, &subscriptions, older_than_secs).await.map_err(anyhow::Error::from)
            }
            Err(e) => Err(anyhow::Error::from(e)),
        };
        match result {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(deliveries = n, "held deliveries released");
                self.note_backlog(subscriptions.iter().copied());
            }
            Err(e) => {
                tracing::warn!(error = %e, "releasing held deliveries failed; trying again at the next poll");
                self.note_held(&subscriptions);
            }
        }
    }

    /// Versions of these (subscription, entity) pairs wait for an older one's attempt: wake the
    /// poller when this worker records one, and now (it may have been recorded already).
    pub fn note_order_waits(&self, waits: impl IntoIterator<Item = (Uuid, String)>) {
        self.remember_order_waits(waits);
        self.inner.wake.notify_one();
    }

    fn remember_order_waits(&self, waits: impl IntoIterator<Item = (Uuid, String)>) {
        let mut set = self.order_waits();
        // Bounded: pairs whose older version another worker attempts are never taken here, and
        // the poll finds their versions anyway.
        if set.len() > MAX_ORDER_WAITS {
            set.clear();
        }
        set.extend(waits);
    }

    fn order_waits(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<(Uuid, String)>> {
        // A set of keys: a panic while holding it cannot leave it inconsistent.
        self.inner.order_waits.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn early(&self) -> &Early {
        &self.inner.early
    }

    /// The subscriptions' cache changed its mind about `application`: drop its entry.
    pub fn forget_subscriptions(&self, application: uuid::Uuid) {
        self.inner.subscriptions.forget(application);
    }

    /// Starts the first attempt of `event` now, before its fan-out commits, to each subscription
    /// it may go to early ([`early`]); returns those subscriptions, which the fan-out must write
    /// leased. The caller settles them ([`Early::settle`]) once the fan-out is over.
    pub async fn send_early(&self, event: &Rendered) -> Vec<Uuid> {
        let inner = &self.inner;
        let Some(subs) = inner.subscriptions.get(event.application_id) else {
            return Vec::new();
        };
        let candidates: Vec<&subscription_cache::Cached> = {
            let held = self.held();
            subs.iter()
                .filter(|s| s.wants(&event.event_type) && !held.contains(&s.id))
                .filter(|s| inner.early.in_order(s.id, &event.entity_id, event.version))
                .collect()
        };
        if candidates.is_empty() {
            return Vec::new();
        }
        let mut tickets = Vec::with_capacity(candidates.len());
        {
            let mut slots = inner.slots.lock().await;
            for s in candidates {
                let claimed = Claimed {
                    id: Uuid::nil(), // the fan-out's, once it commits
                    subscription_id: s.id,
                    event_id: event.event_id,
                    attempt_count: 0,
                    step: 0,
                    entity_id: event.entity_id.clone(),
                    version: event.version,
                    body: event.body.clone(),
                    traceparent: event.traceparent.clone(),
                    created_at: Utc::now(),
                    endpoint: s.endpoint.clone(),
                };
                tickets.extend(slots.take_early(claimed, &inner.settings));
            }
        }
        let sent: Vec<Uuid> = tickets.iter().map(|t| t.claimed.subscription_id).collect();
        for t in &mut tickets {
            let c = &t.claimed;
            t.pending = Some(inner.early.wait(c.event_id, c.subscription_id, c.endpoint.clone()));
        }
        inner.metrics.sent_early(tickets.len());
        self.start(tickets);
        sent
    }

    /// Attempts each claimed (and registered) delivery in its own task.
    pub fn start(&self, tickets: Vec<Ticket>) {
        for t in tickets {
            let me = self.clone();
            tokio::spawn(async move { me.deliver(t).await });
        }
    }

    /// Polls for due deliveries until `stop`; then, once `fed` fires (the consumer stopped: no
    /// handler will start an early send or lease a fan-out's rows any more), waits (bounded) for the
    /// attempts in flight and their records. A worker that left before recording an attempt it
    /// made would leave its delivery leased, to go out a second time when the lease expires.
    pub async fn run_until(self, stop: CancellationToken, fed: CancellationToken) {
        let interval = Duration::from_millis(self.inner.settings.poll_interval_ms);
        let mut swept = tokio::time::Instant::now();
        // Held rows are not known to this process when it starts (it may replace one that held
        // them): release them all on the first round, then those past the bound.
        let mut released: Option<tokio::time::Instant> = None;
        let hold_max = self.inner.settings.hold_max_secs as f64;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(interval) => {}
            }
            if swept.elapsed() >= SWEEP_EVERY {
                swept = tokio::time::Instant::now();
                self.sweep().await;
            }
            if released.is_none_or(|t| t.elapsed() >= RELEASE_AGED_EVERY) {
                let older_than = if released.is_some() { hold_max } else { 0.0 };
                released = Some(tokio::time::Instant::now());
                self.release_held(Vec::new(), Some(older_than)).await;
            }
            // Keep claiming while full batches come back: more may be due.
            for _ in 0..8 {
                match self.claim_due().await {
                    Ok(full) if full => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming due deliveries failed");
                        break;
                    }
                }
            }
        }
        // The consumer waits for its handlers (bounded by the broker's RPC timeout).
        let _ = tokio::time::timeout(uapi_platform::amqp::RPC_TIMEOUT + Duration::from_secs(1), fed.cancelled()).await;
        let deadline = tokio::time::Instant::now() + self.inner.settings.request_timeout() + Duration::from_secs(1);
        while (self.inner.slots.lock().await.claimed() > 0 || self.inner.recording.load(Ordering::Acquire) > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Deletes deliveries past their retention, a bounded batch at a time.
    async fn sweep(&self) {
        let days = self.inner.settings.retention_days;
        let Ok(mut conn) = self.inner.pool.get().await else {
            return;
        };
        match deliveries::sweep(&mut conn, days, 5000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "finished deliveries past retention deleted"),
            Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
        }
    }

    /// One poll claim; `true` when it took as many as it could (more may be due).
    async fn claim_due(&self) -> anyhow::Result<bool> {
        *self.backlog() = Backlog::default();
        let limits = self.inner.slots.lock().await.limits(&self.inner.settings);
        let ready: Vec<Uuid> = {
            let mut held = self.held();
            let ready: Vec<Uuid> = held.iter().filter(|s| !limits.holding().contains(s)).copied().collect();
            held.retain(|s| limits.holding().contains(s));
            ready
        };
        if !ready.is_empty() {
            self.release_held(ready, None).await;
        }
        if limits.limit() == 0 {
            self.note_backlog_everywhere();
            return Ok(false);
        }
        let mut conn = self.inner.pool.get().await?;
        let started = std::time::Instant::now();
        let claimed = claims::claim(&mut conn, limits.claim(&self.inner.settings)).await?;
        tracing::debug!(claimed = claimed.len(), ms = started.elapsed().as_secs_f64() * 1e3, "claimed due deliveries");
        let full = claimed.len() as i64 >= limits.limit();
        // Whatever this claim took may have used up an endpoint's capacity with more due behind
        // it: look again when one of its attempts finishes. A claim that found nothing stops the
        // chain.
        if full {
            self.note_backlog_everywhere();
        } else {
            self.note_backlog(claimed.iter().map(|c| c.subscription_id));
        }
        // A claimed version may have later ones waiting behind it (the claim takes one version of
        // an entity at a time): its recorded attempt wakes the poller for them. Not the backlog,
        // which the next claim starts afresh, maybe before this attempt is recorded.
        self.remember_order_waits(claimed.iter().map(|c| (c.subscription_id, c.entity_id.clone())));
        let tickets = self.inner.slots.lock().await.register(claimed, &self.inner.settings);
        self.start(tickets);
        Ok(full)
    }

    async fn deliver(&self, t: Ticket) {
        let inner = &self.inner;
        let Ticket { claimed: mut c, endpoint, global, at, mut pending } = t;
        // Bounded concurrency: per endpoint first, so a busy endpoint never holds global permits.
        let (Ok(endpoint_permit), Ok(global_permit)) = (endpoint.acquire_owned().await, global.acquire_owned().await)
        else {
            return;
        };
        let open = inner.slots.lock().await.open_until(c.subscription_id);
        // A lease nearly spent waiting for a permit would let another worker start the same
        // delivery while this attempt runs: give it back instead.
        let lease_left = inner.settings.lease().saturating_sub(at.elapsed());
        let expiring = lease_left < inner.settings.request_timeout() + Duration::from_secs(1);
        if open.is_some() || expiring {
            // Not attempted: the permits go back now, not after the wait for an early send's delivery.
            drop((endpoint_permit, global_permit));
            // The breaker opened after the claim: back for after the cool-down; or due again now.
            let after =
                open.map(|until| until.saturating_duration_since(std::time::Instant::now())).unwrap_or_default();
            let due = Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
            // An early send not sent: its delivery (if the fan-out made one) goes back the same way.
            let id = match pending.take() {
                Some(p) => delivery_of(p).await,
                None => Some(c.id),
            };
            if let Some(id) = id {
                self.release(id, due).await;
            }
            inner.slots.lock().await.done(c.subscription_id, None, &inner.settings);
            self.note_backlog([c.subscription_id]);
            inner.wake.notify_one();
            return;
        }
        let attempted_at = crate::db::now();
        let outcome = attempt::attempt(&inner.client, &inner.policy, &inner.keys, &c).await;
        // The bounds are on requests in flight: the next attempt may start while this one is recorded
        // (its lease is held until the record commits).
        drop((endpoint_permit, global_permit));
        let result = schedule::Result { status: outcome.status, retry_after: outcome.retry_after };
        let step = usize::try_from(c.step).unwrap_or(0);
        let next = schedule::next(&inner.settings, step, result, Utc::now());
        let ok = result.succeeded();
        // Capacity frees now (the row stays leased until its record commits, so no claim takes
        // it; an early send's row is written leased).
        inner.slots.lock().await.done(c.subscription_id, Some(ok), &inner.settings);
        inner.recording.fetch_add(1, Ordering::AcqRel);
        if let Some(p) = pending {
            // An early send's record waits for the delivery the fan-out is writing.
            match p.await.unwrap_or(Fate::Missing) {
                Fate::Created(id) => c.id = id,
                // The fan-out may have committed although its caller saw it fail (the connection
                // lost on the way back): an attempt made must then be recorded, or the delivery
                // stays leased to this worker and goes out again when the lease expires.
                Fate::Missing if let Some(id) = self.pending_delivery(&c).await => c.id = id,
                fate => {
                    self.early_not_recorded(&c, fate).await;
                    inner.recording.fetch_sub(1, Ordering::AcqRel);
                    return;
                }
            }
        }
        let record = Attempt {
            id: Uuid::now_v7(),
            delivery_id: c.id,
            attempted_at,
            status_code: outcome.status.map(i32::from),
            latency_ms: outcome.latency.as_millis().min(i32::MAX as u128) as i32,
            error: outcome.error.clone(),
            response_body: outcome.body.clone(),
        };
        // Noted before the wake: the claim it triggers clears the backlog, and may run before this
        // record commits, when the entity's next version is still held back behind this one.
        let waiting = self.backlogged(c.subscription_id);
        if waiting {
            inner.wake.notify_one();
        }
        // The lease runs from the claim (`at`; an early send's row is leased later, by its fan-out,
        // so `at` is the earlier bound), less a second for the database's clock and ours.
        let lease_ends = at + inner.settings.lease().saturating_sub(Duration::from_secs(1));
        let record = Record { attempt: record, next, subscription: c.subscription_id, gone: result.gone(), lease_ends };
        match inner.recorder.record(record).await {
            Ok(()) if c.attempt_count == 0 => inner.early.first_recorded(c.subscription_id, &c.entity_id, c.version),
            Ok(()) => {}
            // The lease expires and the delivery is attempted again: at-least-once.
            Err(e) => tracing::warn!(error = %e, delivery = %c.id, "recording an attempt failed"),
        }
        inner.recording.fetch_sub(1, Ordering::AcqRel);
        let label = match next {
            Next::Succeeded => "succeeded",
            Next::RetryAt(_) => "retried",
            Next::Failed => "failed",
        };
        inner.metrics.outcome(label, outcome.latency.as_secs_f64(), ok);
        if ok {
            inner.metrics.delivered(Utc::now() - c.created_at);
        }
        tracing::debug!(delivery = %c.id, status = ?outcome.status, outcome = label, "webhook attempt");
        let next_waits = self.order_waits().remove(&(c.subscription_id, c.entity_id.clone()));
        if (ok || c.attempt_count == 0) && (waiting || next_waits || self.backlogged(c.subscription_id)) {
            // The entity's next version may be claimable now that this first attempt is recorded
            // (after a success, or a first failure that moved this version into backoff). Only
            // when something was held back: a claim scans the due deliveries, too dear per attempt.
            inner.wake.notify_one();
        }
    }
}

impl Dispatcher {
    /// The pending delivery an early send was for, when the fan-out did not say.
    async fn pending_delivery(&self, c: &Claimed) -> Option<Uuid> {
        let mut conn = self.inner.pool.get().await.ok()?;
        deliveries::pending_of(&mut conn, c.event_id, c.subscription_id).await.ok().flatten()
    }

    /// Gives a leased delivery back, due at `due`; on failure its lease expires instead.
    async fn release(&self, id: Uuid, due: chrono::DateTime<Utc>) {
        let released = match self.inner.pool.get().await {
            Ok(mut conn) => deliveries::release(&mut conn, &[id], due).await.map_err(anyhow::Error::from),
            Err(e) => Err(anyhow::Error::from(e)),
        };
        if let Err(e) = released {
            tracing::warn!(error = %e, delivery = %id, "releasing a delivery failed; its lease will expire");
        }
    }

    /// An early attempt the fan-out did not confirm: a delivery made with another URL or secret is
    /// released to go out the usual way; a missing one leaves nothing to record.
    async fn early_not_recorded(&self, c: &Claimed, fate: Fate) {
        let inner = &self.inner;
        match fate {
            Fate::Stale(id) => {
                tracing::info!(delivery = %id, subscription = %c.subscription_id,
                    "an early send used a subscription since changed; delivering again with the current one");
                self.release(id, Utc::now()).await;
                self.note_backlog([c.subscription_id]);
                inner.wake.notify_one();
            }
            Fate::Missing | Fate::Created(_) => tracing::debug!(
                event = %c.event_id, subscription = %c.subscription_id,
                "an early send has no delivery (a duplicate event, or the subscription changed)"
            ),
        }
    }
}

/// The id of an early send's delivery, once the fan-out committed it (`None`: it made none).
async fn delivery_of(pending: tokio::sync::oneshot::Receiver<Fate>) -> Option<Uuid> {
    match pending.await.unwrap_or(Fate::Missing) {
        Fate::Created(id) | Fate::Stale(id) => Some(id),
        Fate::Missing => None,
    }
}
