//! The feed port: keyset order across timestamp precisions; what the home-feed cache reads (a
//! member's circle, their own state on posts, posts whatever their visibility). (A page's statement count is
//! checked by `tests/statements.rs`, alone in its process.)

use vendrome_core::enums::PostVisibility;
use vendrome_core::ids::PostId;
use vendrome_core::posts::feed::{Feed, FeedRepo as _};
use vendrome_core::posts::PostRepo as _;
use vendrome_store::{Db, Store};

use crate::posts::{new_post, payloads, user};

conformance!(
    orders_entries_across_timestamp_precisions,
    circles_states_and_unchecked_posts
);

async fn orders_entries_across_timestamp_precisions(store: Store) {
    let author = user(&store, "precise").await;
    // Times that print with no fraction, milliseconds and microseconds: their stored text
    // forms differ in length, their order must not.
    let times = [
        "2026-03-01T10:00:00.000001Z",
        "2026-03-01T10:00:00.5Z",
        "2026-03-01T10:00:00Z",
        "2026-03-01T10:00:00.499999Z",
        "2026-03-01T09:59:59.999999Z",
    ];
    let mut expected = Vec::new();
    for at in times {
        let id = store
            .create_post(new_post(
                author,
                payloads()[0].clone(),
                PostVisibility::Public,
            ))
            .await
            .unwrap();
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        let sql = "UPDATE posts SET created_at = $1 WHERE id = $2";
        match store.db() {
            Db::Postgres(pool) => drop(
                sqlx::query(sql)
                    .bind(at)
                    .bind(id.as_uuid())
                    .execute(pool)
                    .await
                    .unwrap(),
            ),
            Db::Sqlite(pool) => drop(
                sqlx::query(sql)
                    .bind(at)
                    .bind(id.as_uuid())
                    .execute(pool)
                    .await
                    .unwrap(),
            ),
        }
        expected.push((at, id));
    }
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<PostId> = expected.into_iter().map(|(_, id)| id).collect();

    let entries = store
        .feed_entries(&Feed::Author(author), None, None, 10)
        .await
        .unwrap();
    let ids: Vec<PostId> = entries[0].iter().map(|e| e.key.post).collect();
    assert_eq!(ids, expected);

    // One entry a page: each cursor continues exactly after its entry.
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let entries = store
            .feed_entries(&Feed::Author(author), None, before, 1)
            .await
            .unwrap();
        let Some(entry) = entries[0].first() else {
            break;
        };
        walked.push(entry.key.post);
        before = Some(entry.key);
    }
    assert_eq!(walked, expected);
}

async fn circles_states_and_unchecked_posts(store: Store) {
    use std::collections::HashSet;
    use std::sync::Arc;
    use vendrome_core::enums::ReactionKind;
    use vendrome_core::graph::blocks::BlockRepo as _;
    use vendrome_core::graph::{GraphRepo as _, GraphService};
    use vendrome_core::posts::engagement::EngagementRepo as _;
    use vendrome_core::posts::{TopicSlug, ViewerState};

    let me = user(&store, "circle-me").await;
    let followee = user(&store, "circle-followee").await;
    let friend = user(&store, "circle-friend").await;
    let blocker = user(&store, "circle-blocker").await;
    let blocked = user(&store, "circle-blocked").await;
    let stranger = user(&store, "circle-stranger").await;
    let shared = Arc::new(store.clone());
    crate::graph::connect(&GraphService::new(shared.clone(), shared), me, friend).await;
    store.follow(me, followee).await.unwrap();
    store.block(blocker, me).await.unwrap();
    store.block(me, blocked).await.unwrap();
    let private = store
        .create_post(new_post(
            friend,
            payloads()[0].clone(),
            PostVisibility::Connections,
        ))
        .await
        .unwrap();
    let slug = TopicSlug::parse("fintech").unwrap();
    let topic = store.topic_by_slug(&slug).await.unwrap().unwrap();
    store.follow_topic(me, &topic).await.unwrap();

    let circle = store.circle(me).await.unwrap();
    assert_eq!(circle.following, HashSet::from([followee]));
    assert_eq!(circle.connections, HashSet::from([friend]));
    assert_eq!(circle.blocked, HashSet::from([blocker, blocked]));
    assert_eq!(circle.topics, HashSet::from(["fintech".to_owned()]));
    assert_eq!(store.circle(stranger).await.unwrap(), Default::default());

    // Unchecked: a connections-only post for anyone, with no viewer state.
    assert!(store
        .posts_by_ids(&[private], Some(stranger))
        .await
        .unwrap()
        .is_empty());
    let unchecked = store
        .posts_by_ids_unchecked(&[private], None)
        .await
        .unwrap();
    assert_eq!(unchecked.len(), 1);
    assert_eq!(unchecked[0].viewer, ViewerState::default());

    store
        .set_reaction(private, me, ReactionKind::Insightful)
        .await
        .unwrap();
    store.set_bookmark(private, me).await.unwrap();
    let states = store
        .viewer_states(me, &[private, PostId::new()])
        .await
        .unwrap();
    assert_eq!(
        states,
        [(
            private,
            ViewerState {
                reaction: Some(ReactionKind::Insightful),
                bookmarked: true,
                reposted: false,
            }
        )]
    );
    let theirs = store.viewer_states(friend, &[private]).await.unwrap();
    assert_eq!(theirs, [(private, ViewerState::default())]);
}
