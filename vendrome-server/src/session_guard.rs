//! Refusing access tokens of ended sessions.
//!
//! Access tokens are self-contained JWTs, valid for 15 minutes. To make logout, logout-all,
//! password changes and disabled accounts take effect sooner, every authenticated request also
//! checks that the token's session is live — answered from a per-process cache of recent
//! positive answers for [`SessionGuard::RECHECK_AFTER`], then from the database. Ending a session
//! through this process forgets it at once; through another instance it is refused here within
//! `RECHECK_AFTER` at most.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vendrome_core::auth::AuthService;
use vendrome_core::ids::SessionId;
use vendrome_core::Result;

pub struct SessionGuard {
    live: Mutex<HashMap<SessionId, Instant>>,
}

impl SessionGuard {
    /// How long a session known to be live is trusted without asking the database again.
    pub const RECHECK_AFTER: Duration = Duration::from_secs(30);
    const MAX_ENTRIES: usize = 100_000;

    pub fn new() -> Self {
        Self {
            live: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the session is live.
    pub async fn is_live(&self, auth: &AuthService, session: SessionId) -> Result<bool> {
        let cached = self
            .live
            .lock()
            .expect("the guard's lock is never poisoned")
            .get(&session)
            .copied();
        if cached.is_some_and(|checked| checked.elapsed() < Self::RECHECK_AFTER) {
            return Ok(true);
        }
        let live = auth.session_is_active(session).await?;
        let mut entries = self
            .live
            .lock()
            .expect("the guard's lock is never poisoned");
        if live {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.retain(|_, checked| checked.elapsed() < Self::RECHECK_AFTER);
            }
            entries.insert(session, Instant::now());
        } else {
            entries.remove(&session);
        }
        Ok(live)
    }

    /// Forgets sessions this process just ended.
    pub fn forget(&self, sessions: impl IntoIterator<Item = SessionId>) {
        let mut entries = self
            .live
            .lock()
            .expect("the guard's lock is never poisoned");
        for session in sessions {
            entries.remove(&session);
        }
    }

    /// Forgets everything (after ending all sessions of a user, whose ids this process may not
    /// know).
    pub fn forget_all(&self) {
        self.live
            .lock()
            .expect("the guard's lock is never poisoned")
            .clear();
    }
}

impl Default for SessionGuard {
    fn default() -> Self {
        Self::new()
    }
}
