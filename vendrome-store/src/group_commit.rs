//! Group commit: concurrent writes of one kind share one transaction.
//!
//! A transaction that updates a hot row (a campaign's running totals) holds that row's lock until
//! its commit is on disk, so writes to one row go one commit at a time however many clients
//! send them: on a disk whose flush takes 3 ms, about 300 a second. [`GroupCommit`] queues the
//! writes that arrive while a transaction of their key runs, and the next transaction takes them
//! all: one flush, and one wait for the row, for the whole batch.
//!
//! A batch runs on a task of its own, so a caller that goes away (a client that hung up) never
//! strands the callers queued behind it. What a batch does with each item, and what a failure of
//! the whole batch means for each (usually: each item again on its own), is the runner's.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::oneshot;

/// At most this many items go into one transaction.
pub(crate) const MAX_BATCH: usize = 64;

/// Runs one batch: an answer per item, in the items' order.
pub(crate) type Runner<T, R> = Arc<dyn Fn(Vec<T>) -> BoxFuture<'static, Vec<R>> + Send + Sync>;

struct Queue<T, R> {
    waiting: Vec<(T, oneshot::Sender<R>)>,
}

/// Batches of items per key `K`; see the module's documentation.
pub(crate) struct GroupCommit<K, T, R> {
    queues: Mutex<HashMap<K, Queue<T, R>>>,
}

impl<K, T, R> Default for GroupCommit<K, T, R> {
    fn default() -> Self {
        Self {
            queues: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, T, R> GroupCommit<K, T, R>
where
    K: Hash + Eq + Clone + Send + 'static,
    T: Send + 'static,
    R: Send + 'static,
{
    /// Queues `item` under `key` and answers what its batch made of it. The first item of an
    /// idle key starts a task that runs batches with `run` until the key's queue is empty.
    ///
    /// # Errors
    ///
    /// [`Abandoned`] when the batch's task panicked (a bug in the runner): the items it held
    /// and those queued behind it are answered so, and the key starts afresh.
    pub(crate) async fn submit(
        self: &Arc<Self>,
        key: K,
        item: T,
        run: Runner<T, R>,
    ) -> Result<R, Abandoned> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut queues = self.queues.lock().expect("group commit queues");
            match queues.get_mut(&key) {
                Some(queue) => {
                    queue.waiting.push((item, tx));
                    false
                }
                None => {
                    queues.insert(
                        key.clone(),
                        Queue {
                            waiting: vec![(item, tx)],
                        },
                    );
                    true
                }
            }
        };
        if start {
            tokio::spawn(Arc::clone(self).drain(key, run));
        }
        rx.await.map_err(|_| Abandoned)
    }

    /// Runs batches of `key` until its queue is empty, then forgets the key (so the next item
    /// starts a new task).
    async fn drain(self: Arc<Self>, key: K, run: Runner<T, R>) {
        // Should the runner panic, the key's queue goes with this task: its callers (and those
        // of the batch in hand) learn their items were abandoned, and the next item starts anew.
        let mut guard = Forget {
            group: Arc::clone(&self),
            key: key.clone(),
            armed: true,
        };
        loop {
            let batch = {
                let mut queues = self.queues.lock().expect("group commit queues");
                let Some(queue) = queues.get_mut(&key) else {
                    return;
                };
                if queue.waiting.is_empty() {
                    queues.remove(&key);
                    guard.armed = false;
                    return;
                }
                let n = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..n).collect::<Vec<_>>()
            };
            let (items, answers): (Vec<T>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
            let expected = items.len();
            let results = run(items).await;
            assert_eq!(
                results.len(),
                expected,
                "a group commit runner answers each item"
            );
            for (answer, result) in answers.into_iter().zip(results) {
                // A caller that went away no longer needs its answer; its write stands.
                let _ = answer.send(result);
            }
        }
    }
}

/// The answer to an item whose batch's task panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Abandoned;

impl From<Abandoned> for sqlx::Error {
    fn from(_: Abandoned) -> Self {
        sqlx::Error::WorkerCrashed
    }
}

/// Removes its key's queue when dropped armed (only while unwinding: a drained queue disarms
/// it, under the lock that removed the queue).
struct Forget<K: Hash + Eq, T, R> {
    group: Arc<GroupCommit<K, T, R>>,
    key: K,
    armed: bool,
}

impl<K: Hash + Eq, T, R> Drop for Forget<K, T, R> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(mut queues) = self.group.queues.lock() {
            queues.remove(&self.key);
        }
    }
}

/// Runs `items` as one batch with `batch`; when that fails as a whole (one bad item, a deadlock
/// with another instance's batch), runs each item as a batch of its own, so that only the item
/// at fault fails. `what` names the items in the log.
pub(crate) async fn batch_or_each<T, A>(
    items: &[T],
    what: &'static str,
    batch: impl for<'a> Fn(&'a [T]) -> BoxFuture<'a, sqlx::Result<Vec<A>>>,
) -> Vec<sqlx::Result<A>> {
    if items.len() > 1 {
        match batch(items).await {
            Ok(done) => return done.into_iter().map(Ok).collect(),
            Err(e) => tracing::warn!(
                error = %e,
                items = items.len(),
                "a batch of {what} failed; each is tried on its own"
            ),
        }
    }
    let mut answers = Vec::with_capacity(items.len());
    for item in items {
        answers.push(
            batch(std::slice::from_ref(item))
                .await
                .map(|mut one| one.remove(0)),
        );
    }
    answers
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn concurrent_items_share_batches_and_each_gets_its_own_answer() {
        let group: Arc<GroupCommit<u8, u32, u32>> = Arc::default();
        let batches = Arc::new(AtomicUsize::new(0));
        let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
        let run: Runner<u32, u32> = {
            let batches = Arc::clone(&batches);
            Arc::new(move |items: Vec<u32>| {
                let batches = Arc::clone(&batches);
                let mut gate = gate_rx.clone();
                async move {
                    // The first batch waits until every other item is queued behind it.
                    gate.wait_for(|open| *open).await.unwrap();
                    batches.fetch_add(1, Ordering::SeqCst);
                    items.into_iter().map(|i| i * 10).collect()
                }
                .boxed()
            })
        };
        let first = tokio::spawn({
            let (group, run) = (Arc::clone(&group), Arc::clone(&run));
            async move { group.submit(1, 1, run).await.unwrap() }
        });
        // Wait until the first item's batch has taken it (the queue is empty but the key busy).
        while group
            .queues
            .lock()
            .unwrap()
            .get(&1)
            .map(|q| q.waiting.len())
            != Some(0)
        {
            tokio::task::yield_now().await;
        }
        let rest: Vec<_> = (2..=100)
            .map(|i| {
                let (group, run) = (Arc::clone(&group), Arc::clone(&run));
                tokio::spawn(async move { group.submit(1, i, run).await.unwrap() })
            })
            .collect();
        while group
            .queues
            .lock()
            .unwrap()
            .get(&1)
            .map(|q| q.waiting.len())
            != Some(99)
        {
            tokio::task::yield_now().await;
        }
        gate_tx.send(true).unwrap();
        assert_eq!(first.await.unwrap(), 10);
        for (i, handle) in (2..=100).zip(rest) {
            assert_eq!(handle.await.unwrap(), i * 10);
        }
        // One batch for the first item, then 99 queued items in batches of at most 64.
        assert_eq!(batches.load(Ordering::SeqCst), 3);
        // Idle again: the key is forgotten, and a new item starts a new batch.
        assert!(group.queues.lock().unwrap().is_empty());
        assert_eq!(group.submit(1, 7, run).await, Ok(70));
    }

    #[tokio::test]
    async fn a_panicking_batch_abandons_its_items_and_the_key_starts_afresh() {
        let group: Arc<GroupCommit<u8, u32, u32>> = Arc::default();
        let panics: Runner<u32, u32> = Arc::new(|_| async { panic!("a runner's bug") }.boxed());
        assert_eq!(group.submit(1, 1, panics).await, Err(Abandoned));
        assert!(group.queues.lock().unwrap().is_empty());
        let doubles: Runner<u32, u32> = Arc::new(|items: Vec<u32>| {
            async move { items.iter().map(|i| i * 2).collect() }.boxed()
        });
        assert_eq!(group.submit(1, 4, doubles).await, Ok(8));
    }
}
