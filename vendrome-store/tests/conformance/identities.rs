use chrono::Duration;
use vendrome_core::audit::{AuditContext, AuditRepo};
use vendrome_core::enums::OauthProvider;
use vendrome_core::ids::UserId;
use vendrome_core::oauth::{state_hash, IdentityRepo, LoginAttempt, NewIdentity};
use vendrome_core::page::Limit;
use vendrome_core::time;
use vendrome_core::users::UserRepo;
use vendrome_core::Error;
use vendrome_store::Store;

use crate::users::new_user;

conformance!(
    links_finds_and_lists_identities,
    refuses_taken_subjects_and_second_links,
    unlinks_once_with_audit,
    attempts_are_taken_once_and_expire
);

fn identity(user: UserId, provider: OauthProvider, subject: &str) -> NewIdentity {
    NewIdentity {
        user_id: user,
        provider,
        subject: subject.into(),
        email: Some("ada@example.com".into()),
    }
}

fn audit(user: UserId) -> AuditContext {
    AuditContext {
        actor_id: Some(user),
        ..AuditContext::default()
    }
}

async fn links_finds_and_lists_identities(store: Store) {
    let user = store
        .create_user(new_user("ada@example.com"))
        .await
        .unwrap();
    let linked = store
        .link_identity(
            identity(user.id, OauthProvider::Linkedin, "li-1"),
            &audit(user.id),
        )
        .await
        .unwrap();
    store
        .link_identity(
            identity(user.id, OauthProvider::Google, "g-1"),
            &audit(user.id),
        )
        .await
        .unwrap();

    assert_eq!((linked.user_id, linked.subject.as_str()), (user.id, "li-1"));
    assert_eq!(linked.last_login_at, None);
    let found = store
        .identity(OauthProvider::Linkedin, "li-1")
        .await
        .unwrap();
    assert_eq!(found, Some(linked));
    assert_eq!(
        store.identity(OauthProvider::Google, "li-1").await.unwrap(),
        None,
        "subjects are per provider"
    );

    let providers: Vec<_> = store
        .identities_of(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.provider)
        .collect();
    assert_eq!(
        providers,
        [OauthProvider::Google, OauthProvider::Linkedin],
        "in provider order"
    );

    let at = time::now();
    store
        .touch_identity(OauthProvider::Google, "g-1", at)
        .await
        .unwrap();
    let touched = store
        .identity(OauthProvider::Google, "g-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_login_at, Some(at));

    let events = store
        .events_for_target("user", &user.id.to_string(), None, Limit::DEFAULT)
        .await
        .unwrap();
    let actions: Vec<_> = events.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.identity_linked", "user.identity_linked"]);
    assert_eq!(events.items[0].details["provider"], "linkedin");
}

async fn refuses_taken_subjects_and_second_links(store: Store) {
    let ada = store
        .create_user(new_user("ada@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user("bob@example.com"))
        .await
        .unwrap();
    store
        .link_identity(
            identity(ada.id, OauthProvider::Google, "g-1"),
            &audit(ada.id),
        )
        .await
        .unwrap();

    let taken = store
        .link_identity(
            identity(bob.id, OauthProvider::Google, "g-1"),
            &audit(bob.id),
        )
        .await;
    assert!(
        matches!(
            taken,
            Err(Error::Conflict {
                code: "identity_taken",
                ..
            })
        ),
        "{taken:?}"
    );

    let second = store
        .link_identity(
            identity(ada.id, OauthProvider::Google, "g-2"),
            &audit(ada.id),
        )
        .await;
    assert!(
        matches!(
            second,
            Err(Error::Conflict {
                code: "provider_already_linked",
                ..
            })
        ),
        "{second:?}"
    );

    let nobody = store
        .link_identity(
            identity(UserId::new(), OauthProvider::Facebook, "f-1"),
            &AuditContext::default(),
        )
        .await;
    assert!(matches!(nobody, Err(Error::NotFound { .. })), "{nobody:?}");
    assert_eq!(store.identities_of(bob.id).await.unwrap(), []);
}

async fn unlinks_once_with_audit(store: Store) {
    let user = store
        .create_user(new_user("ada@example.com"))
        .await
        .unwrap();
    store
        .link_identity(
            identity(user.id, OauthProvider::Facebook, "f-1"),
            &audit(user.id),
        )
        .await
        .unwrap();

    store
        .unlink_identity(user.id, OauthProvider::Facebook, &audit(user.id))
        .await
        .unwrap();
    assert_eq!(
        store
            .identity(OauthProvider::Facebook, "f-1")
            .await
            .unwrap(),
        None
    );
    let again = store
        .unlink_identity(user.id, OauthProvider::Facebook, &audit(user.id))
        .await;
    assert!(matches!(again, Err(Error::NotFound { .. })), "{again:?}");

    let events = store
        .events_for_target("user", &user.id.to_string(), None, Limit::DEFAULT)
        .await
        .unwrap();
    let actions: Vec<_> = events.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.identity_linked", "user.identity_unlinked"]);
    // The user is untouched.
    assert!(store.user_by_id(user.id).await.unwrap().is_some());
}

async fn attempts_are_taken_once_and_expire(store: Store) {
    let user = store
        .create_user(new_user("ada@example.com"))
        .await
        .unwrap();
    let now = time::now();
    let attempt = |state: &str, link: Option<UserId>, expires_in: Duration| LoginAttempt {
        state_hash: state_hash(state),
        provider: OauthProvider::Google,
        pkce_verifier: format!("verifier-{state}"),
        nonce: format!("nonce-{state}"),
        link_user_id: link,
        browser_hash: Some(state_hash(&format!("browser-{state}"))),
        redirect_to: Some(format!("https://app.example.com/done?s={state}")),
        created_at: now,
        expires_at: now + expires_in,
    };
    let live = attempt("live", Some(user.id), Duration::minutes(10));
    store.save_attempt(live.clone()).await.unwrap();
    store
        .save_attempt(attempt("stale", None, Duration::seconds(1)))
        .await
        .unwrap();

    assert_eq!(
        store.take_attempt(&state_hash("live"), now).await.unwrap(),
        Some(live)
    );
    assert_eq!(
        store.take_attempt(&state_hash("live"), now).await.unwrap(),
        None,
        "a state is usable once"
    );
    assert_eq!(
        store.take_attempt(&state_hash("never"), now).await.unwrap(),
        None
    );
    let later = now + Duration::seconds(2);
    assert_eq!(
        store
            .take_attempt(&state_hash("stale"), later)
            .await
            .unwrap(),
        None,
        "expired attempts are refused"
    );
    assert_eq!(
        store.take_attempt(&state_hash("stale"), now).await.unwrap(),
        None,
        "and gone"
    );

    // Concurrent callbacks with one state: exactly one wins.
    store
        .save_attempt(attempt("raced", None, Duration::minutes(10)))
        .await
        .unwrap();
    let hash = state_hash("raced");
    let (a, b) = tokio::join!(
        store.take_attempt(&hash, now),
        store.take_attempt(&hash, now)
    );
    assert_eq!(
        usize::from(a.unwrap().is_some()) + usize::from(b.unwrap().is_some()),
        1
    );
}
