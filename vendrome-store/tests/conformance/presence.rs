//! The `PresenceRepo` port on both adapters: every test runs on `MemoryPresence` and on
//! `ValkeyPresence` at `VENDROME_TEST_REDIS_URL` (skipped loudly when unreachable, unless
//! `CI=true`). Members and conversations are fresh ids, so runs never meet.

use std::sync::Arc;
use std::time::Duration;

use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::realtime::{PresenceRepo, PresenceStatus};

macro_rules! presence_repos {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$name(std::sync::Arc::new(vendrome_store::ephemeral::MemoryPresence::new())).await;
                }

                #[cfg(feature = "valkey")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn valkey() {
                    let Some(repo) = super::valkey().await else { return };
                    super::$name(std::sync::Arc::new(repo)).await;
                }
            }
        )*
    };
}

presence_repos!(
    a_member_is_as_present_as_their_best_socket,
    sockets_that_stop_beating_expire,
    typing_starts_once_and_expires,
);

#[cfg(feature = "valkey")]
async fn valkey() -> Option<vendrome_store::ephemeral::ValkeyPresence> {
    let url = vendrome_store::testing::redis_url();
    match vendrome_store::ephemeral::ValkeyPresence::connect(&url).await {
        Ok(repo) => Some(repo),
        Err(error) => vendrome_store::testing::unreachable(
            "Valkey/Redis",
            &url,
            "VENDROME_TEST_REDIS_URL",
            format!("{error:#}"),
        ),
    }
}

const LONG: Duration = Duration::from_secs(60);

async fn a_member_is_as_present_as_their_best_socket(repo: Arc<dyn PresenceRepo>) {
    use PresenceStatus::*;
    let (member, other) = (UserId::new(), UserId::new());
    let change = repo.heartbeat(member, "desk", Online, LONG).await.unwrap();
    assert_eq!((change.before, change.after), (Offline, Online));
    let change = repo.heartbeat(member, "phone", Away, LONG).await.unwrap();
    assert_eq!(change.changed(), None, "still online through the desk");
    let change = repo.heartbeat(member, "desk", Away, LONG).await.unwrap();
    assert_eq!(change.changed(), Some(Away));
    assert_eq!(
        repo.statuses(&[member, other]).await.unwrap(),
        vec![Away, Offline]
    );
    assert_eq!(repo.leave(member, "desk").await.unwrap().changed(), None);
    let change = repo.leave(member, "phone").await.unwrap();
    assert_eq!((change.before, change.after), (Away, Offline));
    assert_eq!(repo.leave(member, "phone").await.unwrap().changed(), None);
}

async fn sockets_that_stop_beating_expire(repo: Arc<dyn PresenceRepo>) {
    use PresenceStatus::*;
    let member = UserId::new();
    repo.heartbeat(member, "short", Online, Duration::from_millis(1_000))
        .await
        .unwrap();
    repo.heartbeat(member, "long", Away, LONG).await.unwrap();
    assert_eq!(repo.statuses(&[member]).await.unwrap(), vec![Online]);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(
        repo.statuses(&[member]).await.unwrap(),
        vec![Away],
        "the silent socket no longer counts"
    );
    // A heartbeat after expiry is a return: the change is announced.
    let change = repo
        .heartbeat(member, "short", Online, Duration::from_millis(1_000))
        .await
        .unwrap();
    assert_eq!((change.before, change.after), (Away, Online));
}

async fn typing_starts_once_and_expires(repo: Arc<dyn PresenceRepo>) {
    let (conversation, member) = (ConversationId::new(), UserId::new());
    let ttl = Duration::from_millis(1_000);
    assert!(repo.start_typing(conversation, member, ttl).await.unwrap());
    assert!(
        !repo.start_typing(conversation, member, ttl).await.unwrap(),
        "a refresh is not a new start"
    );
    assert!(repo.is_typing(conversation, member).await.unwrap());
    assert!(!repo.is_typing(ConversationId::new(), member).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(!repo.is_typing(conversation, member).await.unwrap());
    assert!(
        repo.start_typing(conversation, member, ttl).await.unwrap(),
        "typing again after expiry is a new start"
    );
    assert!(repo.stop_typing(conversation, member).await.unwrap());
    assert!(!repo.stop_typing(conversation, member).await.unwrap());
    assert!(!repo.is_typing(conversation, member).await.unwrap());
}

/// Two instances on one Valkey see one member's sockets together.
#[cfg(feature = "valkey")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_presence() {
    let Some(first) = valkey().await else { return };
    let Some(second) = valkey().await else { return };
    let member = UserId::new();
    first
        .heartbeat(member, "a:1", PresenceStatus::Online, LONG)
        .await
        .unwrap();
    let change = second
        .heartbeat(member, "b:1", PresenceStatus::Away, LONG)
        .await
        .unwrap();
    assert_eq!(change.changed(), None);
    assert_eq!(
        second.leave(member, "b:1").await.unwrap().after,
        PresenceStatus::Online
    );
    assert_eq!(
        first.leave(member, "a:1").await.unwrap().after,
        PresenceStatus::Offline
    );
}
