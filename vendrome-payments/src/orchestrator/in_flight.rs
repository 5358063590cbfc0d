//! Deliveries of one provider event that arrive while this instance is processing it wait for
//! that processing instead of racing it to the store.
//!
//! Providers redeliver an event they think was lost, sometimes while the first delivery is
//! still being answered. The store deduplicates by the event id in any case (a unique index:
//! the second transaction waits for the first to commit, then finds the event processed); this
//! spares it that transaction. A delivery that finds its event under way here waits for it: when
//! it was processed (applied, stale, ignored or a duplicate itself) the waiter is a duplicate and
//! touches nothing; when it failed, or its caller went away, the waiter processes the event
//! itself, as a redelivery of a failed event is. Deliveries to other instances still meet in
//! the store.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;
use vendrome_core::enums::PaymentProvider as ProviderId;

type Key = (ProviderId, String);

/// The events being processed on this instance, each with what its processing came to
/// (`None` while it runs, then whether it was processed).
#[derive(Default)]
pub(super) struct InFlight {
    running: Mutex<HashMap<Key, watch::Receiver<Option<bool>>>>,
}

/// What a delivery does with its event.
pub(super) enum Turn<'a> {
    /// Process it; the guard tells the deliveries that wait how it went.
    Lead(Lead<'a>),
    /// Another delivery processed it while this one waited: a duplicate.
    Processed,
}

impl InFlight {
    /// Takes `event`'s turn: [`Turn::Lead`] when no delivery of it is under way here, else
    /// waits for the one that is.
    pub(super) async fn enter(&self, provider: ProviderId, event: &str) -> Turn<'_> {
        let key = (provider, event.to_owned());
        loop {
            let mut running = {
                let mut map = self.running.lock().expect("in-flight webhooks");
                match map.get(&key) {
                    Some(running) => running.clone(),
                    None => {
                        let (done, running) = watch::channel(None);
                        map.insert(key.clone(), running.clone());
                        return Turn::Lead(Lead {
                            owner: self,
                            key,
                            done,
                            mine: running,
                        });
                    }
                }
            };
            // `Err`: the leading delivery was dropped unfinished (its caller went away).
            let outcome = running.wait_for(Option::is_some).await.map(|v| *v);
            if let Ok(Some(true)) = outcome {
                return Turn::Processed;
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.running.lock().expect("in-flight webhooks").len()
    }
}

/// The delivery processing an event; dropping it unfinished lets a waiting one lead.
pub(super) struct Lead<'a> {
    owner: &'a InFlight,
    key: Key,
    done: watch::Sender<Option<bool>>,
    /// This lead's entry, to tell it from a later lead's of the same event.
    mine: watch::Receiver<Option<bool>>,
}

impl Lead<'_> {
    /// Tells the waiting deliveries whether the event was processed.
    pub(super) fn finish(self, processed: bool) {
        // Out of the map first: a delivery arriving now leads anew (and meets the store's
        // deduplication) rather than reading this outcome again and again.
        self.forget();
        self.done.send_replace(Some(processed));
    }

    fn forget(&self) {
        if let Ok(mut map) = self.owner.running.lock() {
            if map
                .get(&self.key)
                .is_some_and(|r| r.same_channel(&self.mine))
            {
                map.remove(&self.key);
            }
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        // Unfinished (the caller went away): the waiters see the sender gone and one leads.
        self.forget();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    async fn lead<'a>(in_flight: &'a InFlight, event: &str) -> Lead<'a> {
        match in_flight.enter(ProviderId::Stripe, event).await {
            Turn::Lead(lead) => lead,
            Turn::Processed => panic!("{event} should lead"),
        }
    }

    #[tokio::test]
    async fn a_delivery_under_way_makes_the_next_a_duplicate_once_processed() {
        let in_flight = Arc::new(InFlight::default());
        let first = lead(&in_flight, "evt_1").await;
        // Another event is not held up.
        drop(lead(&in_flight, "evt_2").await);
        let waiter = {
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                matches!(
                    in_flight.enter(ProviderId::Stripe, "evt_1").await,
                    Turn::Processed
                )
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        first.finish(true);
        assert!(waiter.await.unwrap(), "the waiter is a duplicate");
        assert_eq!(in_flight.len(), 0);
        // Once done, a later delivery leads again (the store answers it as a duplicate).
        drop(lead(&in_flight, "evt_1").await);
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_delivery_lets_a_waiter_lead() {
        for abandon in [false, true] {
            let in_flight = Arc::new(InFlight::default());
            let first = lead(&in_flight, "evt_1").await;
            let waiter = {
                let in_flight = in_flight.clone();
                tokio::spawn(async move {
                    match in_flight.enter(ProviderId::Stripe, "evt_1").await {
                        Turn::Lead(lead) => {
                            lead.finish(true);
                            true
                        }
                        Turn::Processed => false,
                    }
                })
            };
            tokio::task::yield_now().await;
            if abandon {
                drop(first);
            } else {
                first.finish(false);
            }
            assert!(
                waiter.await.unwrap(),
                "the waiter processes the event itself"
            );
            assert_eq!(in_flight.len(), 0);
        }
    }
}
