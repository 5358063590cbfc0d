//! What every handler can reach: the services, built once by the composition root.

use std::sync::Arc;

use axum::extract::FromRef;
use vendrome_core::flags::FlagService;
use vendrome_core::idempotency::IdempotencyRepo;
use vendrome_store::bus::InProcessBus;
use vendrome_store::Store;

use crate::auth::KeyRing;

/// Shared application state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub flags: FlagService,
    pub idempotency: Arc<dyn IdempotencyRepo>,
    pub keys: Arc<KeyRing>,
    /// Where the outbox relay publishes; realtime and other in-process consumers subscribe.
    pub bus: InProcessBus,
}

impl AppState {
    /// The services over one store.
    pub fn new(store: Store, keys: KeyRing) -> Self {
        let shared = Arc::new(store.clone());
        Self {
            flags: FlagService::new(shared.clone()),
            idempotency: shared,
            store,
            keys: Arc::new(keys),
            bus: InProcessBus::default(),
        }
    }
}

impl FromRef<AppState> for Arc<KeyRing> {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}
