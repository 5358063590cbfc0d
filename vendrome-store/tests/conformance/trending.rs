//! The `TrendingRepo` port on both stores: which engagements count (public, live posts, not the
//! author's own), their topics, and the stored lists; then the service end to end.

use std::sync::Arc;

use vendrome_core::enums::{PostVisibility, ReactionKind, ShareChannel};
use vendrome_core::posts::engagement::{CommentBody, EngagementRepo as _};
use vendrome_core::posts::{PostPayload, PostRepo as _};
use vendrome_core::trending::{
    EngagementKind, TrendKind, TrendingItem, TrendingRepo as _, TrendingService, Window,
};
use vendrome_store::Store;

use crate::posts::{new_post, user};

conformance!(only_engagement_with_public_live_posts_counts);

async fn only_engagement_with_public_live_posts_counts(store: Store) {
    let since = vendrome_core::time::now() - chrono::Duration::hours(1);
    let author = user(&store, "author").await;
    let public = store
        .create_post(new_post(author, PostPayload::Text, PostVisibility::Public))
        .await
        .unwrap();
    let private = store
        .create_post(new_post(
            author,
            PostPayload::Text,
            PostVisibility::Connections,
        ))
        .await
        .unwrap();
    let gone = store
        .create_post(new_post(author, PostPayload::Text, PostVisibility::Public))
        .await
        .unwrap();
    let mut fans = Vec::new();
    for n in 0..5 {
        let fan = user(&store, &format!("fan{n}")).await;
        store
            .set_reaction(public, fan, ReactionKind::Like)
            .await
            .unwrap();
        store
            .set_reaction(private, fan, ReactionKind::Like)
            .await
            .unwrap();
        store
            .set_reaction(gone, fan, ReactionKind::Like)
            .await
            .unwrap();
        fans.push(fan);
    }
    store
        .add_comment(public, fans[0], None, CommentBody::parse("Great").unwrap())
        .await
        .unwrap();
    store.set_repost(public, fans[1], None).await.unwrap();
    store
        .add_share(public, fans[2], ShareChannel::Link)
        .await
        .unwrap();
    // The author's own engagement does not count.
    store
        .set_reaction(public, author, ReactionKind::Celebrate)
        .await
        .unwrap();
    store.delete_post(gone, author).await.unwrap();

    let engagements = store.engagements_since(since).await.unwrap();
    assert_eq!(
        engagements.len(),
        8,
        "five reactions, a comment, a repost, a share"
    );
    assert!(engagements.iter().all(|e| e.post == public));
    let kinds = |kind| engagements.iter().filter(|e| e.kind == kind).count();
    assert_eq!(
        (
            kinds(EngagementKind::Reaction),
            kinds(EngagementKind::Comment),
            kinds(EngagementKind::Repost),
            kinds(EngagementKind::Share)
        ),
        (5, 1, 1, 1)
    );
    let mut topics = engagements[0].topics.clone();
    topics.sort();
    assert_eq!(topics, ["agri", "fintech"]);
    assert!(store
        .engagements_since(vendrome_core::time::now())
        .await
        .unwrap()
        .is_empty());

    // The service scores and stores every list; a page reads from an offset.
    let service = TrendingService::new(Arc::new(store.clone()));
    service.refresh(vendrome_core::time::now()).await.unwrap();
    let posts = service
        .list(Window::Hour, TrendKind::Posts, 0, 10)
        .await
        .unwrap();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].id, public.to_string());
    assert_eq!(posts[0].engagers, 5);
    // Five reactions, a comment, a repost and a share, all within seconds: about 17.
    assert!((posts[0].score - 17.0).abs() < 0.1, "{}", posts[0].score);
    // One post is not enough for a topic to trend.
    assert!(service
        .list(Window::Week, TrendKind::Topics, 0, 10)
        .await
        .unwrap()
        .is_empty());

    let items: Vec<TrendingItem> = (0..5)
        .map(|n| TrendingItem {
            id: format!("topic-{n}"),
            score: 10.0 - f64::from(n),
            engagers: 5,
            posts: 2,
        })
        .collect();
    let now = vendrome_core::time::now();
    store
        .store_trending(Window::Day, TrendKind::Topics, &items, now)
        .await
        .unwrap();
    let page = store
        .trending(Window::Day, TrendKind::Topics, 2, 2)
        .await
        .unwrap();
    assert_eq!(page, items[2..4].to_vec());
    // Storing again replaces the list.
    store
        .store_trending(Window::Day, TrendKind::Topics, &items[..1], now)
        .await
        .unwrap();
    assert_eq!(
        store
            .trending(Window::Day, TrendKind::Topics, 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
