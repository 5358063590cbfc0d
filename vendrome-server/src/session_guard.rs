//! Refusing access tokens of ended sessions.
//!
//! Access tokens are self-contained JWTs, valid for 15 minutes. To make logout, logout-all,
//! password changes and resets, lowered roles and disabled accounts take effect at once, every
//! authenticated request also checks that the token's session is live — answered from a
//! per-process cache of recent positive answers for [`SessionGuard::RECHECK_AFTER`], then from
//! the database. Ending sessions forgets the user's cached sessions in this process at once and,
//! with several instances, announces it through [`RevocationNotices`] (NATS) so that every other
//! instance forgets them too; an instance that missed the notice re-checks within
//! `RECHECK_AFTER`. A database answer obtained while something was forgotten may predate the
//! end it is about, so it is not cached: an ended session is never recorded as live again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use vendrome_core::auth::{AuthService, RevocationNotices};
use vendrome_core::ids::{SessionId, UserId};
use vendrome_core::Result;

pub struct SessionGuard {
    entries: Mutex<Entries>,
    notices: OnceLock<Arc<dyn RevocationNotices>>,
}

#[derive(Default)]
struct Entries {
    /// Live sessions, when they were checked, and whose they are.
    live: HashMap<SessionId, (Instant, UserId)>,
    /// Counts the forgets: a database answer obtained while one happened is not cached.
    generation: u64,
}

impl SessionGuard {
    /// How long a session known to be live is trusted without asking the database again.
    pub const RECHECK_AFTER: Duration = Duration::from_secs(30);
    const MAX_ENTRIES: usize = 100_000;

    pub fn new() -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            notices: OnceLock::new(),
        }
    }

    /// Announces revocations to the other instances through `notices` from now on (set once,
    /// at start-up; later calls are ignored).
    pub fn announce_through(&self, notices: Arc<dyn RevocationNotices>) {
        let _ = self.notices.set(notices);
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .expect("the guard's lock is never poisoned")
    }

    /// Whether `user`'s session is live.
    pub async fn is_live(
        &self,
        auth: &AuthService,
        session: SessionId,
        user: UserId,
    ) -> Result<bool> {
        self.check(session, user, auth.session_is_active(session))
            .await
    }

    /// Whether the session is live: from the cache, else as `ask` (the database) answers.
    async fn check(
        &self,
        session: SessionId,
        user: UserId,
        ask: impl std::future::Future<Output = Result<bool>>,
    ) -> Result<bool> {
        let generation = {
            let entries = self.entries();
            if entries
                .live
                .get(&session)
                .is_some_and(|(checked, _)| checked.elapsed() < Self::RECHECK_AFTER)
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
                    .retain(|_, (checked, _)| checked.elapsed() < Self::RECHECK_AFTER);
            }
            entries.live.insert(session, (Instant::now(), user));
        } else if !live {
            entries.live.remove(&session);
        }
        Ok(live)
    }

    /// Forgets what this process cached about `user`'s sessions (another instance ended some).
    pub fn forget_user(&self, user: UserId) {
        let mut entries = self.entries();
        entries.generation += 1;
        entries.live.retain(|_, (_, owner)| *owner != user);
    }

    /// Sessions of `user` were just ended through this process: forgets them here and tells the
    /// other instances. A notice that cannot be sent is logged; those instances re-check within
    /// [`SessionGuard::RECHECK_AFTER`].
    pub async fn revoked(&self, user: UserId) {
        self.forget_user(user);
        if let Some(notices) = self.notices.get() {
            if let Err(error) = notices.announce(user).await {
                tracing::warn!(error = %error, "could not announce a session revocation");
            }
        }
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
        let user = UserId::new();
        // The database said "live" just before the session ended (and was forgotten here).
        let live = guard
            .check(session, user, async {
                guard.forget_user(user);
                Ok(true)
            })
            .await
            .unwrap();
        assert!(live);
        // The next request asks the database again, which now says "ended".
        assert!(!guard
            .check(session, user, async { Ok(false) })
            .await
            .unwrap());
        // A check that nothing interrupted is cached.
        assert!(guard
            .check(session, user, async { Ok(true) })
            .await
            .unwrap());
        assert!(guard
            .check(session, user, async { Ok(false) })
            .await
            .unwrap());
        // Forgetting another member leaves this one cached; forgetting this one does not.
        guard.forget_user(UserId::new());
        assert!(guard
            .check(session, user, async { Ok(false) })
            .await
            .unwrap());
        guard.forget_user(user);
        assert!(!guard
            .check(session, user, async { Ok(false) })
            .await
            .unwrap());
    }
}
