//! Refusing access tokens of ended sessions.
//!
//! Access tokens are self-contained JWTs, valid for 15 minutes. To make logout, logout-all,
//! password changes and resets, lowered roles and disabled accounts take effect at once, every
//! authenticated request also checks that the token's session is live — answered from a
//! per-process cache of recent positive answers for [`SessionGuard::RECHECK_AFTER`], then from
//! the database. Ending sessions forgets the user's cached sessions in this process at once and,
//! with several instances, announces it through [`RevocationNotices`] (NATS) so that every other
//! instance forgets them too; an instance that missed the notice re-checks within
//! `RECHECK_AFTER`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use vendrome_core::auth::{AuthService, RevocationNotices};
use vendrome_core::ids::{SessionId, UserId};
use vendrome_core::Result;

pub struct SessionGuard {
    /// Live sessions, when they were checked, and whose they are.
    live: Mutex<HashMap<SessionId, (Instant, UserId)>>,
    notices: OnceLock<Arc<dyn RevocationNotices>>,
}

impl SessionGuard {
    /// How long a session known to be live is trusted without asking the database again.
    pub const RECHECK_AFTER: Duration = Duration::from_secs(30);
    const MAX_ENTRIES: usize = 100_000;

    pub fn new() -> Self {
        Self {
            live: Mutex::new(HashMap::new()),
            notices: OnceLock::new(),
        }
    }

    /// Announces revocations to the other instances through `notices` from now on (set once,
    /// at start-up; later calls are ignored).
    pub fn announce_through(&self, notices: Arc<dyn RevocationNotices>) {
        let _ = self.notices.set(notices);
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, (Instant, UserId)>> {
        self.live
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
        let cached = self.entries().get(&session).copied();
        if cached.is_some_and(|(checked, _)| checked.elapsed() < Self::RECHECK_AFTER) {
            return Ok(true);
        }
        let live = auth.session_is_active(session).await?;
        let mut entries = self.entries();
        if live {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.retain(|_, (checked, _)| checked.elapsed() < Self::RECHECK_AFTER);
            }
            entries.insert(session, (Instant::now(), user));
        } else {
            entries.remove(&session);
        }
        Ok(live)
    }

    /// Forgets what this process cached about `user`'s sessions (another instance ended some).
    pub fn forget_user(&self, user: UserId) {
        self.entries().retain(|_, (_, owner)| *owner != user);
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
