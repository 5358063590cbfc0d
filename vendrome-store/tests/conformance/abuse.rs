//! Limits that must hold however clients push: a group's member cap under concurrent adds, a
//! client message id within its conversation only, one share per member, channel and post.

use std::sync::Arc;

use vendrome_core::enums::{PostVisibility, ShareChannel};
use vendrome_core::messaging::groups::GroupTitle;
use vendrome_core::messaging::{
    ClientMessageId, MessageBody, MessagingRepo as _, MessagingService,
};
use vendrome_core::posts::engagement::EngagementRepo as _;
use vendrome_core::posts::{PostPayload, PostRepo as _};
use vendrome_core::Error;
use vendrome_store::{Db, Store};

use crate::graph::{caller, user};

conformance!(
    the_member_cap_holds_under_concurrent_adds,
    a_client_message_id_is_scoped_to_its_conversation,
    a_share_counts_once_per_member_channel_and_post
);

async fn count(store: &Store, sql: &str) -> i64 {
    match store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

async fn the_member_cap_holds_under_concurrent_adds(store: Store) {
    const LIMIT: usize = 5;
    let shared = Arc::new(store.clone());
    let service =
        MessagingService::new(shared.clone(), shared.clone(), shared).with_group_limit(LIMIT);
    let owner = user(&store).await;
    let first = user(&store).await;
    let group = service
        .create_group(
            &caller(owner),
            GroupTitle::parse("Stand crew").unwrap(),
            vec![first],
        )
        .await
        .unwrap();
    let mut candidates = Vec::new();
    for _ in 0..16 {
        candidates.push(user(&store).await);
    }
    // Every add checks the count at once: without one step for the count and the insert, more
    // than the free places pass the check.
    let adds = futures::future::join_all(candidates.into_iter().map(|member| {
        let service = service.clone();
        tokio::spawn(async move { service.add_member(&caller(owner), group, member).await })
    }))
    .await;
    let outcomes: Vec<_> = adds.into_iter().map(|r| r.unwrap()).collect();
    let added = outcomes.iter().filter(|r| r.is_ok()).count();
    assert_eq!(added, LIMIT - 2, "{outcomes:?}");
    assert!(outcomes.iter().all(|r| match r {
        Ok(()) => true,
        Err(Error::Conflict { code, .. }) => *code == "group_full",
        Err(_) => false,
    }));
    assert_eq!(store.participants(group).await.unwrap().len(), LIMIT);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'conversation.member_added'"
        )
        .await,
        (LIMIT - 2) as i64
    );
}

async fn a_client_message_id_is_scoped_to_its_conversation(store: Store) {
    let (a, b, c) = (user(&store).await, user(&store).await, user(&store).await);
    let (with_b, _) = store.direct_conversation(a, b).await.unwrap();
    let (with_c, _) = store.direct_conversation(a, c).await.unwrap();
    let client = ClientMessageId::parse("tab-1:1").unwrap();
    let body = |text: &str| MessageBody::parse(text).unwrap();
    let to_b = store
        .send_message(with_b, a, body("for b").into(), Some(client.clone()))
        .await
        .unwrap();
    // The same id in another conversation is another message, never the first one answered back.
    let to_c = store
        .send_message(with_c, a, body("for c").into(), Some(client.clone()))
        .await
        .unwrap();
    assert_ne!(to_b.id, to_c.id);
    assert_eq!(to_c.conversation_id, with_c);
    assert_eq!(to_c.body, "for c");
    // A resend in the same conversation is still the stored message.
    let again = store
        .send_message(with_c, a, body("for c").into(), Some(client))
        .await
        .unwrap();
    assert_eq!(again.id, to_c.id);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 2);
}

async fn a_share_counts_once_per_member_channel_and_post(store: Store) {
    let author = user(&store).await;
    let fan = user(&store).await;
    let post = store
        .create_post(crate::posts::new_post(
            author,
            PostPayload::Text,
            PostVisibility::Public,
        ))
        .await
        .unwrap();
    let first = store
        .add_share(post, fan, ShareChannel::Link)
        .await
        .unwrap();
    let repeats = futures::future::join_all((0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.add_share(post, fan, ShareChannel::Link).await })
    }))
    .await;
    for repeat in repeats {
        assert_eq!(
            repeat.unwrap().unwrap(),
            first,
            "a repeat answers the first share"
        );
    }
    let shares = |store: Store| async move {
        store.posts_by_ids_unchecked(&[post], None).await.unwrap()[0]
            .counts
            .shares
    };
    assert_eq!(shares(store.clone()).await, 1);
    store
        .add_share(post, fan, ShareChannel::Whatsapp)
        .await
        .unwrap();
    store
        .add_share(post, author, ShareChannel::Link)
        .await
        .unwrap();
    assert_eq!(shares(store.clone()).await, 3);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM post_shares").await, 3);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'share.created'"
        )
        .await,
        3
    );
}
