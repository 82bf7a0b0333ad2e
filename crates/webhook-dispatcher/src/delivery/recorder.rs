//! Records finished attempts in batches: every attempt that finished while the previous batch
//! was being written goes into one transaction (attempt rows, delivery states, subscription
//! health), so recording costs a few statements per batch instead of per delivery, and no two
//! deliveries of one subscription contend for its row.

use diesel_async::AsyncConnection;
use diesel_async::pooled_connection::deadpool::PoolError;
use tokio::sync::{mpsc, oneshot};
use uapi_platform::db::PgPool;
use uuid::Uuid;

use super::subscription_cache::SubscriptionCache;
use crate::db::deliveries::{self, Attempt, Next};
use crate::db::subscriptions;

/// One finished attempt.
pub struct Record {
    pub attempt: Attempt,
    pub next: Next,
    pub subscription: Uuid,
    /// The endpoint answered 410 Gone.
    pub gone: bool,
    /// Until when this worker's lease on the delivery surely holds: a record written later could
    /// overwrite what another worker, claiming the delivery since, recorded.
    pub lease_ends: std::time::Instant,
}

type Ticket = (Record, oneshot::Sender<anyhow::Result<()>>);

/// Attempts recorded in one transaction at most.
const BATCH: usize = 256;

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Ticket>,
}

impl Recorder {
    /// Starts the recorder task; it ends when every clone is dropped. Subscriptions it disables
    /// are dropped from `cache`.
    pub fn start(pool: PgPool, disable_after_secs: u64, cache: std::sync::Arc<SubscriptionCache>) -> Self {
        let (tx, rx) = mpsc::channel(BATCH * 2);
        tokio::spawn(write_batches(pool, disable_after_secs, cache, rx));
        Self { tx }
    }

    /// Resolves once `record` is committed.
    pub async fn record(&self, record: Record) -> anyhow::Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx.send((record, done)).await.map_err(|_| anyhow::anyhow!("recorder stopped"))?;
        wait.await.unwrap_or_else(|_| Err(anyhow::anyhow!("recorder stopped")))
    }
}

async fn write_batches(
    pool: PgPool,
    disable_after_secs: u64,
    cache: std::sync::Arc<SubscriptionCache>,
    mut rx: mpsc::Receiver<Ticket>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(t) => batch.push(t),
                Err(_) => break,
            }
        }
        let records: Vec<&Record> = batch.iter().map(|(r, _)| r).collect();
        let started = std::time::Instant::now();
        let written = write_until_reachable(&pool, &records, disable_after_secs, &cache).await;
        tracing::debug!(records = records.len(), ms = started.elapsed().as_secs_f64() * 1e3, "attempts recorded");
        match written {
            Ok(()) => {
                for (_, done) in batch {
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, records = batch.len(), "recording attempts failed; trying one by one");
                for (record, done) in batch {
                    let one = write_until_reachable(&pool, &[&record], disable_after_secs, &cache).await;
                    let _ = done.send(one);
                }
            }
        }
    }
}

/// The longest pause between two tries to reach the database.
const MAX_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

/// Writes `records`, trying again while the database is unreachable (a restart, a failover) and
/// every record's lease holds: an attempt made and not recorded keeps its delivery leased until the
/// lease expires, and then goes out a second time. Past the lease the record is given up, as another
/// worker may own the delivery by then.
async fn write_until_reachable(
    pool: &PgPool,
    records: &[&Record],
    disable_after_secs: u64,
    cache: &SubscriptionCache,
) -> anyhow::Result<()> {
    let deadline = records.iter().map(|r| r.lease_ends).min().unwrap_or_else(std::time::Instant::now);
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match write(pool, records, disable_after_secs, cache).await {
            Err(Failure::Unreachable(e)) if std::time::Instant::now() + pause < deadline => {
                tracing::warn!(error = %e, records = records.len(), "database unreachable; attempts will be recorded when it is back");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
            // The attempt ids are fixed: a try whose commit was acknowledged too late for us to
            // hear meets its own rows.
            Err(Failure::Recorded) => return Ok(()),
            Err(Failure::Other(e) | Failure::Unreachable(e)) => return Err(e),
            Ok(()) => return Ok(()),
        }
    }
}

/// Why a batch was not recorded.
enum Failure {
    /// The database is down or the connection was lost: the same batch goes through later.
    Unreachable(anyhow::Error),
    /// Its attempt rows exist: an earlier try of this batch committed.
    Recorded,
    Other(anyhow::Error),
}

impl From<PoolError> for Failure {
    fn from(e: PoolError) -> Self {
        if uapi_platform::db::is_unavailable(&e) { Self::Unreachable(e.into()) } else { Self::Other(e.into()) }
    }
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            // The only row the transaction inserts is the attempt, under its own fixed id.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Self::Recorded,
            e if uapi_platform::db::is_connection_lost(&e) => Self::Unreachable(e.into()),
            e => Self::Other(e.into()),
        }
    }
}

async fn write(
    pool: &PgPool,
    records: &[&Record],
    disable_after_secs: u64,
    cache: &SubscriptionCache,
) -> Result<(), Failure> {
    let done: Vec<(Attempt, Next)> = records.iter().map(|r| (r.attempt.clone(), r.next)).collect();
    let mut succeeded: Vec<Uuid> =
        records.iter().filter(|r| r.next == Next::Succeeded).map(|r| r.subscription).collect();
    succeeded.sort_unstable();
    succeeded.dedup();
    let mut failed: Vec<Uuid> = records
        .iter()
        .filter(|r| r.next != Next::Succeeded && !r.gone && succeeded.binary_search(&r.subscription).is_err())
        .map(|r| r.subscription)
        .collect();
    failed.sort_unstable();
    failed.dedup();
    let gone: Vec<Uuid> = records.iter().filter(|r| r.gone).map(|r| r.subscription).collect();
    let mut conn = pool.get().await?;
    let disabled = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            deliveries::finish_many(conn, &done).await?;
            subscriptions::record_successes(conn, &succeeded).await?;
            let disabled = subscriptions::record_failures(conn, &failed, disable_after_secs).await?;
            for sub in &gone {
                subscriptions::disable(conn, *sub, "the endpoint answered 410 Gone").await?;
            }
            Ok(disabled)
        })
        .await?;
    if !gone.is_empty() || !disabled.is_empty() {
        cache.clear(); // the records name subscriptions, not their applications
    }
    for sub in disabled {
        tracing::warn!(subscription = %sub, "subscription disabled: failing too long without a success");
    }
    Ok(())
}
