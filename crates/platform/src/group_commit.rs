//! Group commit: concurrent callers hand their items to one task, which commits whatever queued
//! together in one database round (a batch), with a bounded number of batches in flight. Idle, an
//! item is committed at once; under load a batch is everything that queued while the previous
//! batches were committing, so the cost of a commit is shared instead of paid by each caller.
//!
//! Two batches in flight may commit in either order. Where items carry a key whose order matters
//! (one employee's versions), [`GroupCommit::start_keyed`] starts a batch only once every earlier
//! batch holding one of its keys has committed, so items of one key commit in submission order.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

type Ticket<T, R> = (T, oneshot::Sender<R>);

/// The submitting side. Cloning is cheap; the committing task ends when every clone is gone.
pub struct GroupCommit<T, R> {
    tx: mpsc::Sender<Ticket<T, R>>,
}

impl<T, R> Clone for GroupCommit<T, R> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone() }
    }
}

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Starts the committing task. `commit` gets up to `batch` items and returns one result per
    /// item, in order; up to `in_flight` batches commit at once.
    pub fn start<F, Fut>(batch: usize, in_flight: usize, commit: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        Self::start_keyed(batch, in_flight, |_: &T| None::<()>, commit)
    }

    /// Like [`GroupCommit::start`], but a batch holding an item whose `key` an earlier batch still
    /// in flight holds waits for that batch to end: items of one key commit in submission order.
    /// An item without a key waits for nothing.
    pub fn start_keyed<K, KF, F, Fut>(batch: usize, in_flight: usize, key: KF, commit: F) -> Self
    where
        K: Hash + Eq + Send + 'static,
        KF: Fn(&T) -> Option<K> + Send + 'static,
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(batch.max(1) * in_flight.max(1));
        tokio::spawn(commit_batches(rx, batch.max(1), in_flight.max(1), key, commit));
        Self { tx }
    }

    /// The result of committing `item`, or `None` if the committing task is gone.
    pub async fn submit(&self, item: T) -> Option<R> {
        let (done, wait) = oneshot::channel();
        self.tx.send((item, done)).await.ok()?;
        wait.await.ok()
    }
}

/// The keys of the batches in flight, each with the batch holding it last.
struct Holders<K> {
    next: u64,
    by_key: HashMap<K, (u64, CancellationToken)>,
}

/// A batch's hold on its keys: ended (and its waiters woken) when the batch's task ends, however.
struct Hold<K: Hash + Eq> {
    batch: u64,
    done: CancellationToken,
    holders: Arc<Mutex<Holders<K>>>,
}

impl<K: Hash + Eq> Drop for Hold<K> {
    fn drop(&mut self) {
        if let Ok(mut h) = self.holders.lock() {
            h.by_key.retain(|_, (batch, _)| *batch != self.batch);
        }
        self.done.cancel();
    }
}

/// Takes `keys` for a new batch; returns its hold and the earlier batches it must wait for.
fn hold<K: Hash + Eq>(
    holders: &Arc<Mutex<Holders<K>>>,
    keys: impl Iterator<Item = K>,
) -> (Hold<K>, Vec<CancellationToken>) {
    let done = CancellationToken::new();
    let mut waits: Vec<CancellationToken> = Vec::new();
    let batch = match holders.lock() {
        Ok(mut h) => {
            let batch = h.next;
            h.next += 1;
            for key in keys {
                if let Some((earlier, token)) = h.by_key.insert(key, (batch, done.clone()))
                    && earlier != batch
                {
                    waits.push(token);
                }
            }
            batch
        }
        // Only a panic while holding the lock poisons it, and nothing in it panics.
        Err(_) => u64::MAX,
    };
    (Hold { batch, done, holders: holders.clone() }, waits)
}

async fn commit_batches<T, R, K, KF, F, Fut>(
    mut rx: mpsc::Receiver<Ticket<T, R>>,
    batch: usize,
    in_flight: usize,
    key: KF,
    commit: F,
) where
    T: Send + 'static,
    R: Send + 'static,
    K: Hash + Eq + Send + 'static,
    KF: Fn(&T) -> Option<K>,
    F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<R>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(in_flight));
    let holders = Arc::new(Mutex::new(Holders { next: 0, by_key: HashMap::new() }));
    while let Some(first) = rx.recv().await {
        // Wait for a slot before collecting, so the batch takes in everything that queued meanwhile.
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let mut tickets = vec![first];
        while tickets.len() < batch {
            match rx.try_recv() {
                Ok(t) => tickets.push(t),
                Err(_) => break,
            }
        }
        let (items, answers): (Vec<T>, Vec<_>) = tickets.into_iter().unzip();
        let (hold, waits) = hold(&holders, items.iter().filter_map(&key));
        let committing = commit(items);
        tokio::spawn(async move {
            let _hold = hold;
            for earlier in waits {
                earlier.cancelled().await;
            }
            let results = committing.await;
            for (answer, result) in answers.into_iter().zip(results) {
                let _ = answer.send(result);
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::GroupCommit;

    #[tokio::test]
    async fn concurrent_items_share_batches_and_each_gets_its_own_result() {
        let batches = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = batches.clone();
        let gc = GroupCommit::start(8, 1, move |items: Vec<u32>| {
            seen.lock().expect("lock").push(items.len());
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                items.into_iter().map(|i| i * 10).collect()
            }
        });
        let results = futures_util::future::join_all((0..20).map(|i| gc.submit(i))).await;
        assert_eq!(results, (0..20).map(|i| Some(i * 10)).collect::<Vec<_>>());
        let sizes = batches.lock().expect("lock").clone();
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(sizes.iter().all(|n| *n <= 8), "{sizes:?}");
        assert!(sizes.len() < 20, "items waiting for a slot share a batch: {sizes:?}");
    }

    /// Earlier batches take longer here, so without keys later batches would commit first.
    #[tokio::test]
    async fn items_of_one_key_commit_in_submission_order_and_other_keys_overlap() {
        let committed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (log, now, peak) = (committed.clone(), running.clone(), most.clone());
        let gc = GroupCommit::start_keyed(
            2,
            2,
            |item: &(u32, u32)| Some(item.0),
            move |items: Vec<(u32, u32)>| {
                let (log, now, peak) = (log.clone(), now.clone(), peak.clone());
                async move {
                    let n = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                    let slowest = items.iter().map(|(_, v)| 3 * (40 - v)).max().unwrap_or(0);
                    tokio::time::sleep(std::time::Duration::from_millis(u64::from(slowest))).await;
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    log.lock().expect("lock").extend(items.iter().copied());
                    items.iter().map(|_| ()).collect()
                }
            },
        );
        // Keys 0..3 in turn, so neighbouring batches share one; value = submission order.
        let results = futures_util::future::join_all((0..40).map(|v| gc.submit((v % 3, v)))).await;
        assert!(results.iter().all(Option::is_some));
        let committed = committed.lock().expect("lock").clone();
        assert_eq!(committed.len(), 40);
        for key in 0..3 {
            let order: Vec<u32> = committed.iter().filter(|(k, _)| *k == key).map(|(_, v)| *v).collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(order, sorted, "key {key} committed out of submission order");
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        // Batches with disjoint keys still commit two at a time.
        let (now, peak) = (std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)), most.clone());
        peak.store(0, std::sync::atomic::Ordering::SeqCst);
        let gc = GroupCommit::start_keyed(
            1,
            2,
            |item: &u32| Some(*item),
            move |items: Vec<u32>| {
                let (now, peak) = (now.clone(), peak.clone());
                async move {
                    let n = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    items.iter().map(|_| ()).collect::<Vec<()>>()
                }
            },
        );
        futures_util::future::join_all((0..10).map(|v| gc.submit(v))).await;
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
