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
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    live: HashMap<SessionId, Instant>,
    /// Counts the forgets: a database answer obtained while one happened may predate the end
    /// of the session it is about, and is not cached.
    generation: u64,
}

impl SessionGuard {
    /// How long a session known to be live is trusted without asking the database again.
    pub const RECHECK_AFTER: Duration = Duration::from_secs(30);
    const MAX_ENTRIES: usize = 100_000;

    pub fn new() -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .expect("the guard's lock is never poisoned")
    }

    /// Whether the session is live.
    pub async fn is_live(&self, auth: &AuthService, session: SessionId) -> Result<bool> {
        self.check(session, auth.session_is_active(session)).await
    }

    /// Whether the session is live: from the cache, else as `ask` (the database) answers. An
    /// answer is cached only when no session was forgotten while it was being obtained, so a
    /// session ended during the check is never recorded as live again.
    async fn check(
        &self,
        session: SessionId,
        ask: impl std::future::Future<Output = Result<bool>>,
    ) -> Result<bool> {
        let generation = {
            let entries = self.entries();
            if entries
                .live
                .get(&session)
                .is_some_and(|checked| checked.elapsed() < Self::RECHECK_AFTER)
            {
                return Ok(true);
            }
            entries.generation
        };
        let live = ask.await?;
        let mut entries = self.entries();
        if live && entries.generation == generation {
            if entries.live.len() >= Self::MAX_ENTRIES {
                entries
                    .live
                    .retain(|_, checked| checked.elapsed() < Self::RECHECK_AFTER);
            }
            entries.live.insert(session, Instant::now());
        } else if !live {
            entries.live.remove(&session);
        }
        Ok(live)
    }

    /// Forgets sessions this process just ended.
    pub fn forget(&self, sessions: impl IntoIterator<Item = SessionId>) {
        let mut entries = self.entries();
        entries.generation += 1;
        for session in sessions {
            entries.live.remove(&session);
        }
    }

    /// Forgets everything (after ending all sessions of a user, whose ids this process may not
    /// know).
    pub fn forget_all(&self) {
        let mut entries = self.entries();
        entries.generation += 1;
        entries.live.clear();
    }
}

impl Default for SessionGuard {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_ended_during_its_check_is_not_cached_as_live() {
        let guard = SessionGuard::new();
        let session = SessionId::new();
        // The database said "live" just before the session ended (and was forgotten here).
        let live = guard
            .check(session, async {
                guard.forget([session]);
                Ok(true)
            })
            .await
            .unwrap();
        assert!(live);
        // The next request asks the database again, which now says "ended".
        assert!(!guard.check(session, async { Ok(false) }).await.unwrap());
        // A check that nothing interrupted is cached.
        assert!(guard.check(session, async { Ok(true) }).await.unwrap());
        assert!(guard.check(session, async { Ok(false) }).await.unwrap());
        guard.forget_all();
        assert!(!guard.check(session, async { Ok(false) }).await.unwrap());
    }
}
