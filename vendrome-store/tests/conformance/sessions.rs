use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use vendrome_core::auth::{ClientInfo, NewSessionToken, SessionRepo};
use vendrome_core::ids::{RefreshTokenId, SessionId, UserId};
use vendrome_core::time;
use vendrome_core::users::UserRepo;
use vendrome_store::Store;

conformance!(no_session_survives_a_logout_all_racing_rotation);

fn token(user: UserId, session: SessionId) -> NewSessionToken {
    let now = time::now();
    NewSessionToken {
        id: RefreshTokenId::new(),
        session_id: session,
        user_id: user,
        token_hash: uuid::Uuid::new_v4().simple().to_string(),
        client: ClientInfo::default(),
        started_at: now,
        now,
        expires_at: now + chrono::Duration::days(1),
        idle_expires_at: now + chrono::Duration::days(1),
    }
}

/// A refresh loop rotates a session's tokens as fast as it can while a logout-all runs: whatever
/// the interleaving, once the logout-all has returned no token of the user is live, and the
/// rotation cannot go on from a token the logout-all missed.
async fn no_session_survives_a_logout_all_racing_rotation(store: Store) {
    let user = store
        .create_user(crate::users::new_user("racer@example.com"))
        .await
        .unwrap()
        .id;
    for round in 0..30 {
        let session = SessionId::new();
        let first = token(user, session);
        store.create_session(first.clone()).await.unwrap();
        let revoked = Arc::new(AtomicBool::new(false));
        let (started, rotating) = tokio::sync::oneshot::channel::<()>();
        let rotator = tokio::spawn({
            let store = store.clone();
            let revoked = revoked.clone();
            async move {
                let mut started = Some(started);
                let mut current = first.id;
                let mut after_revocation = 0;
                // Bounded: a rotation that outlived the revocation would go on for ever.
                while after_revocation < 20 {
                    if revoked.load(Ordering::SeqCst) {
                        after_revocation += 1;
                    }
                    let next = token(user, session);
                    if !store.rotate(current, next.clone()).await.unwrap() {
                        break;
                    }
                    current = next.id;
                    if let Some(started) = started.take() {
                        let _ = started.send(());
                    }
                }
            }
        });
        rotating.await.unwrap();
        store
            .revoke_user_sessions(user, None, "logout_all", None)
            .await
            .unwrap();
        revoked.store(true, Ordering::SeqCst);
        rotator.await.unwrap();
        let live = store.active_sessions(user, time::now()).await.unwrap();
        assert!(live.is_empty(), "round {round}: {live:?} survived");
    }
}
