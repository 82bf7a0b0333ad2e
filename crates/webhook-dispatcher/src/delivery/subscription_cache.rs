//! A worker's cache of each application's enabled subscriptions, for early sends ([`super::early`]).
//! Entries are read from the database in the background and refreshed before they expire, so a
//! busy application is always served from memory and an event never waits for a load: an
//! application not cached yet (or whose load failed) gets no early sends until its entry arrives.
//!
//! The database stays the authority: the fan-out matches subscriptions itself, and an early send
//! the fan-out does not confirm drops the application's entry. A change made through the API
//! drops the entry at once in the process that made it, and reaches other workers within the
//! cache's lifetime (`webhooks.subscription_cache_ms`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use uapi_platform::db::PgPool;
use uuid::Uuid;

use crate::db::claims::Endpoint;
use crate::db::subscriptions;

/// An enabled subscription as an early send needs it.
#[derive(Debug, Clone)]
pub struct Cached {
    pub id: Uuid,
    pub events: Vec<String>,
    pub endpoint: Endpoint,
}

impl Cached {
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

struct Entry {
    /// Identifies this entry, so a load started before the entry was dropped cannot write it back.
    epoch: u64,
    loaded: Option<(Instant, Arc<[Cached]>)>,
    /// When a load last started (one at a time; a failed one is retried after half the lifetime).
    load_started: Option<Instant>,
    loading: bool,
}

pub struct SubscriptionCache {
    pool: PgPool,
    lifetime: Duration,
    entries: std::sync::Mutex<HashMap<Uuid, Entry>>,
    epochs: AtomicU64,
}

/// Applications cached at most; past it the cache starts again (busy ones reload within a lifetime).
const MAX_APPLICATIONS: usize = 100_000;

impl SubscriptionCache {
    /// A cache whose entries live `lifetime`; a zero lifetime caches nothing.
    pub fn new(pool: PgPool, lifetime: Duration) -> Arc<Self> {
        Arc::new(Self { pool, lifetime, entries: Default::default(), epochs: AtomicU64::new(0) })
    }

    pub fn enabled(&self) -> bool {
        !self.lifetime.is_zero()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        // A map of plain values: a panic while holding it cannot leave it inconsistent.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The application's enabled subscriptions if a fresh copy is in memory; starts a load when
    /// there is none or it is past half its lifetime.
    pub fn get(self: &Arc<Self>, application: Uuid) -> Option<Arc<[Cached]>> {
        if !self.enabled() {
            return None;
        }
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= MAX_APPLICATIONS && !entries.contains_key(&application) {
            entries.clear();
        }
        let entry = entries.entry(application).or_insert_with(|| Entry {
            epoch: self.epochs.fetch_add(1, Ordering::Relaxed),
            loaded: None,
            load_started: None,
            loading: false,
        });
        let fresh = entry.loaded.as_ref().filter(|(at, _)| now.duration_since(*at) < self.lifetime);
        let due = fresh.is_none_or(|(at, _)| now.duration_since(*at) >= self.lifetime / 2);
        let found = fresh.map(|(_, subs)| subs.clone());
        let retry_ok = entry.load_started.is_none_or(|t| now.duration_since(t) >= self.lifetime / 2);
        if due && !entry.loading && (found.is_some() || retry_ok) {
            entry.loading = true;
            entry.load_started = Some(now);
            let (me, epoch) = (self.clone(), entry.epoch);
            tokio::spawn(async move { me.load(application, epoch).await });
        }
        found
    }

    async fn load(&self, application: Uuid, epoch: u64) {
        let started = Instant::now();
        let loaded = match self.pool.get().await {
            Ok(mut conn) => subscriptions::enabled_of(&mut conn, application).await.map_err(anyhow::Error::from),
            Err(e) => Err(anyhow::Error::from(e)),
        };
        let mut entries = self.entries();
        let Some(entry) = entries.get_mut(&application).filter(|e| e.epoch == epoch) else {
            return; // dropped meanwhile: what was read may predate the change that dropped it
        };
        entry.loading = false;
        match loaded {
            Ok(subs) => {
                let subs: Arc<[Cached]> = subs
                    .into_iter()
                    .map(|s| Cached {
                        id: s.id,
                        events: s.events,
                        endpoint: Endpoint {
                            delivery_url: s.delivery_url,
                            secret: s.secret,
                            previous_secret: s.previous_secret,
                            previous_secret_expires_at: s.previous_secret_expires_at,
                        },
                    })
                    .collect();
                // Dated from the start of the read: the lifetime bounds how old what it saw can be.
                entry.loaded = Some((started, subs));
            }
            Err(e) => {
                tracing::debug!(error = %e, application = %application, "loading subscriptions for early sends failed")
            }
        }
    }

    /// Drops what is cached for `application` (its subscriptions changed).
    pub fn forget(&self, application: Uuid) {
        self.entries().remove(&application);
    }

    /// Drops everything (a subscription changed, its application not at hand).
    pub fn clear(&self) {
        self.entries().clear();
    }
}
