//! Group commit: concurrent callers hand their items to one task, which commits whatever queued
//! together in one database round (a batch), with a bounded number of batches in flight. Idle, an
//! item is committed at once; under load a batch is everything that queued while the previous
//! batches were committing, so the cost of a commit is shared instead of paid by each caller.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

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
        let (tx, rx) = mpsc::channel(batch.max(1) * in_flight.max(1));
        tokio::spawn(commit_batches(rx, batch.max(1), in_flight.max(1), commit));
        Self { tx }
    }

    /// The result of committing `item`, or `None` if the committing task is gone.
    pub async fn submit(&self, item: T) -> Option<R> {
        let (done, wait) = oneshot::channel();
        self.tx.send((item, done)).await.ok()?;
        wait.await.ok()
    }
}

async fn commit_batches<T, R, F, Fut>(mut rx: mpsc::Receiver<Ticket<T, R>>, batch: usize, in_flight: usize, commit: F)
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<R>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(in_flight));
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
        let committing = commit(items);
        tokio::spawn(async move {
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
}
