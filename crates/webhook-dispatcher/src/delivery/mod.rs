//! The delivery loop of a worker: attempts claimed deliveries concurrently within the bounds of
//! [`slots::Slots`], records each attempt and where the delivery goes next, and polls for due
//! retries and expired leases. New deliveries arrive from the fan-out already claimed, so the
//! common path has no polling delay.

pub mod attempt;
pub mod metrics;
pub mod schedule;
pub mod slots;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncConnection;
use tokio::sync::{Mutex, MutexGuard, Notify};
use tokio_util::sync::CancellationToken;
use uapi_platform::db::PgPool;
use uuid::Uuid;

use crate::config::WebhookSettings;
use crate::db::deliveries::{self, Attempt, Claimed, Next};
use crate::db::subscriptions;
use crate::ssrf::TargetPolicy;
use metrics::DeliveryMetrics;
use slots::Slots;

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
    slots: Mutex<Slots>,
    wake: Notify,
    /// Set when due deliveries may be waiting (capacity or order held them back): finished
    /// attempts then wake the poller instead of leaving them to the next poll.
    backlog: AtomicBool,
}

impl Dispatcher {
    pub fn new(
        pool: PgPool,
        settings: WebhookSettings,
        policy: Arc<TargetPolicy>,
        metrics: DeliveryMetrics,
    ) -> anyhow::Result<Self> {
        let client = attempt::client(policy.clone(), settings.request_timeout())?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                settings,
                client,
                policy,
                metrics,
                slots: Mutex::new(Slots::default()),
                wake: Notify::new(),
                backlog: AtomicBool::new(true),
            }),
        })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    pub fn metrics(&self) -> &DeliveryMetrics {
        &self.inner.metrics
    }

    /// Claims are computed under this lock so the in-flight bounds hold.
    pub async fn lock_slots(&self) -> MutexGuard<'_, Slots> {
        self.inner.slots.lock().await
    }

    /// Due deliveries may be waiting: wake the poller when capacity frees.
    pub fn note_backlog(&self) {
        self.inner.backlog.store(true, Ordering::Release);
    }

    /// Attempts each claimed (and registered) delivery in its own task.
    pub fn start(&self, claimed: Vec<Claimed>) {
        for c in claimed {
            let me = self.clone();
            tokio::spawn(async move { me.deliver(c).await });
        }
    }

    /// Polls for due deliveries until `stop`, then waits (bounded) for attempts in flight.
    pub async fn run_until(self, stop: CancellationToken) {
        let interval = Duration::from_millis(self.inner.settings.poll_interval_ms);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(interval) => {}
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
        let deadline = tokio::time::Instant::now() + self.inner.settings.request_timeout() + Duration::from_secs(1);
        while self.inner.slots.lock().await.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One poll claim; `true` when it took as many as it could (more may be due).
    async fn claim_due(&self) -> anyhow::Result<bool> {
        self.inner.backlog.store(false, Ordering::Release);
        let mut conn = self.inner.pool.get().await?;
        let mut slots = self.inner.slots.lock().await;
        let limits = slots.limits(&self.inner.settings);
        if limits.limit() == 0 {
            self.note_backlog();
            return Ok(false);
        }
        let claimed = deliveries::claim(&mut conn, limits.all_due(self.inner.settings.lease())).await?;
        let full = claimed.len() as i64 >= limits.limit();
        if full {
            self.note_backlog();
        }
        let claimed = slots.register(claimed);
        drop(slots);
        self.start(claimed);
        Ok(full)
    }

    async fn deliver(&self, c: Claimed) {
        let inner = &self.inner;
        let open = inner.slots.lock().await.open_until(c.subscription_id);
        if let Some(until) = open {
            // The breaker opened after the claim: give the delivery back for after the cool-down.
            let at = Utc::now() + chrono::Duration::from_std(until - std::time::Instant::now()).unwrap_or_default();
            if let Ok(mut conn) = inner.pool.get().await
                && let Err(e) = deliveries::release(&mut conn, &[c.id], at).await
            {
                tracing::warn!(error = %e, delivery = %c.id, "releasing a delivery failed; its lease will expire");
            }
            inner.slots.lock().await.done(c.subscription_id, None, &inner.settings);
            return;
        }
        let attempted_at = crate::db::now();
        let outcome = attempt::attempt(&inner.client, &inner.policy, &c).await;
        let result = schedule::Result { status: outcome.status, retry_after: outcome.retry_after };
        let step = usize::try_from(c.step).unwrap_or(0);
        let next = schedule::next(&inner.settings, step, result, Utc::now());
        let record = Attempt {
            id: Uuid::now_v7(),
            delivery_id: c.id,
            attempted_at,
            status_code: outcome.status.map(i32::from),
            latency_ms: outcome.latency.as_millis().min(i32::MAX as u128) as i32,
            error: outcome.error.clone(),
            response_body: outcome.body.clone(),
        };
        let ok = result.succeeded();
        if let Err(e) = self.record(&c, &record, next, result.gone()).await {
            // The lease expires and the delivery is attempted again: at-least-once.
            tracing::warn!(error = %e, delivery = %c.id, "recording an attempt failed");
        }
        let label = match next {
            Next::Succeeded => "succeeded",
            Next::RetryAt(_) => "retried",
            Next::Failed => "failed",
        };
        inner.metrics.outcome(label, outcome.latency.as_secs_f64(), ok);
        tracing::debug!(delivery = %c.id, status = ?outcome.status, outcome = label, "webhook attempt");
        inner.slots.lock().await.done(c.subscription_id, Some(ok), &inner.settings);
        if ok || inner.backlog.load(Ordering::Acquire) {
            // A success may unblock the entity's next version; freed capacity may serve a backlog.
            inner.wake.notify_one();
        }
    }

    /// The attempt, the delivery's next state and the subscription's health, in one transaction.
    async fn record(&self, c: &Claimed, attempt: &Attempt, next: Next, gone: bool) -> anyhow::Result<()> {
        let settings = &self.inner.settings;
        let disable_after = chrono::Duration::seconds(settings.disable_after_failing_secs.min(i64::MAX as u64) as i64);
        let mut conn = self.inner.pool.get().await?;
        let sub = c.subscription_id;
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            deliveries::finish(conn, attempt, next).await?;
            if next == Next::Succeeded {
                subscriptions::record_success(conn, sub).await?;
            } else if gone {
                subscriptions::disable(conn, sub, "the endpoint answered 410 Gone").await?;
            } else if let Some(since) = subscriptions::record_failure(conn, sub).await?
                && Utc::now() - since >= disable_after
            {
                let reason = format!(
                    "no successful delivery since {} ({} s)",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    settings.disable_after_failing_secs
                );
                subscriptions::disable(conn, sub, &reason).await?;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}
