use std::sync::Arc;

use serde_json::json;
use vendrome_core::enums::{PostType, PostVisibility, ReactionKind};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::outbox::OutboxRepo;
use vendrome_core::page::Limit;
use vendrome_core::posts::engagement::{CommentBody, EngagementRepo};
use vendrome_core::posts::{NewPost, PostBody, PostPayload, PostRepo, PostUpdate, TopicSlug};
use vendrome_core::users::UserRepo;
use vendrome_core::Error;
use vendrome_store::Store;

use crate::users::new_user;

conformance!(
    stores_every_post_type_and_loads_them_in_order,
    hides_connections_posts_from_strangers,
    counts_stay_exact_under_concurrent_reactions,
    threads_comments_and_soft_deletes
);

pub async fn user(store: &Store, name: &str) -> UserId {
    store
        .create_user(new_user(&format!("{name}@example.com")))
        .await
        .unwrap()
        .id
}

pub fn payloads() -> Vec<PostPayload> {
    let raw = [
        (PostType::Text, None),
        (
            PostType::Product,
            Some(
                json!({"title": "Mug", "price_minor": 1500, "currency": "ZAR", "stock_quantity": 3, "sku": "M-1"}),
            ),
        ),
        (
            PostType::Service,
            Some(
                json!({"title": "Audit", "rate_minor": 90000, "currency": "ZAR", "rate_unit": "hourly", "duration_minutes": 60, "is_remote": false, "location": "Cape Town"}),
            ),
        ),
        (
            PostType::Crowdfunding,
            Some(
                json!({"title": "Solar", "goal_minor": 10000000, "currency": "USD", "instrument": "reward", "ends_at": "2027-01-01T00:00:00Z"}),
            ),
        ),
        (
            PostType::InvestmentOffer,
            Some(
                json!({"title": "Angel", "ticket_min_minor": 100, "ticket_max_minor": 500, "currency": "EUR", "stage": "seed"}),
            ),
        ),
        (
            PostType::InvestmentRequest,
            Some(
                json!({"title": "Raise", "amount_sought_minor": 5000000, "currency": "USD", "instrument": "equity", "stage": "pre_seed", "equity_offered_percent": 12.5}),
            ),
        ),
        (
            PostType::MentorshipRequest,
            Some(
                json!({"area": "Export", "format": "virtual", "duration_weeks": 8, "budget_minor": 20000, "currency": "GBP"}),
            ),
        ),
    ];
    raw.iter()
        .map(|(t, v)| PostPayload::parse(*t, v.as_ref()).unwrap())
        .collect()
}

pub fn new_post(author: UserId, payload: PostPayload, visibility: PostVisibility) -> NewPost {
    NewPost {
        author_id: author,
        body: PostBody::parse("Hello network").unwrap(),
        visibility,
        topics: vec![
            TopicSlug::parse("fintech").unwrap(),
            TopicSlug::parse("#Agri").unwrap(),
        ],
        payload,
        media: Default::default(),
    }
}

async fn stores_every_post_type_and_loads_them_in_order(store: Store) {
    let author = user(&store, "author").await;
    let mut ids = Vec::new();
    for payload in payloads() {
        ids.push(
            store
                .create_post(new_post(author, payload, PostVisibility::Public))
                .await
                .unwrap(),
        );
    }
    ids.reverse();
    let posts = store.posts_by_ids(&ids, None).await.unwrap();
    assert_eq!(posts.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    let mut expected = payloads();
    expected.reverse();
    for (post, payload) in posts.iter().zip(expected) {
        assert_eq!(post.payload, payload);
        assert_eq!(post.topics, ["agri", "fintech"]);
        assert_eq!(post.author.id, author);
    }

    // Editing the payload replaces its row; unknown ids are left out.
    let product = ids[5];
    let mut changed = payloads().remove(1);
    if let PostPayload::Product(p) = &mut changed {
        p.price_minor = 999;
    }
    store
        .update_post(
            product,
            PostUpdate {
                payload: Some(changed.clone()),
                topics: Some(vec![]),
                ..Default::default()
            },
            author,
        )
        .await
        .unwrap();
    let post = store
        .posts_by_ids(&[PostId::new(), product], None)
        .await
        .unwrap();
    assert_eq!(post.len(), 1);
    assert_eq!(post[0].payload, changed);
    assert!(post[0].topics.is_empty());
    assert!(post[0].edited_at.is_some());
}

async fn hides_connections_posts_from_strangers(store: Store) {
    let author = user(&store, "author").await;
    let friend = user(&store, "friend").await;
    let stranger = user(&store, "stranger").await;
    let id = store
        .create_post(new_post(
            author,
            PostPayload::Text,
            PostVisibility::Connections,
        ))
        .await
        .unwrap();
    let now = vendrome_core::time::now();
    vendrome_store::with_db!(store.db(), pool => {
        sqlx::query("INSERT INTO connections (id, requester_id, addressee_id, status, created_at, updated_at) VALUES ($1, $2, $3, 'accepted', $4, $4)")
            .bind(uuid::Uuid::now_v7()).bind(friend.as_uuid()).bind(author.as_uuid()).bind(now)
            .execute(pool).await.map(drop).unwrap()
    });
    assert!(store.posts_by_ids(&[id], None).await.unwrap().is_empty());
    assert!(store
        .posts_by_ids(&[id], Some(stranger))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.posts_by_ids(&[id], Some(friend)).await.unwrap().len(),
        1
    );
    assert_eq!(
        store.posts_by_ids(&[id], Some(author)).await.unwrap().len(),
        1
    );

    store.delete_post(id, author).await.unwrap();
    assert!(store
        .posts_by_ids(&[id], Some(author))
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.delete_post(id, author).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.set_reaction(id, friend, ReactionKind::Like).await,
        Err(Error::NotFound { .. })
    ));
}

async fn counts_stay_exact_under_concurrent_reactions(store: Store) {
    let author = user(&store, "author").await;
    let id = store
        .create_post(new_post(author, PostPayload::Text, PostVisibility::Public))
        .await
        .unwrap();
    let mut users = Vec::new();
    for i in 0..50 {
        users.push(user(&store, &format!("fan{i}")).await);
    }
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for (i, u) in users.iter().copied().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.set_reaction(id, u, ReactionKind::Like).await.unwrap();
            store
                .set_reaction(id, u, ReactionKind::Celebrate)
                .await
                .unwrap();
            if i % 2 == 0 {
                store.remove_reaction(id, u).await.unwrap();
                store.remove_reaction(id, u).await.unwrap();
            }
            store.set_bookmark(id, u).await.unwrap();
            store.set_bookmark(id, u).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let post = store
        .posts_by_ids(&[id], Some(users[1]))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(post.counts.reactions, 25);
    assert_eq!(post.counts.bookmarks, 50);
    assert_eq!(post.viewer.reaction, Some(ReactionKind::Celebrate));
    assert!(post.viewer.bookmarked);

    // Every reaction page together lists each reacting member once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .reactions(id, cursor.as_ref(), Limit::parse(7).unwrap())
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|r| r.user.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);

    let events = store
        .claim("test", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let count = |t: &str| events.iter().filter(|e| e.event_type() == t).count();
    assert_eq!(count("reaction.set"), 100);
    assert_eq!(count("reaction.removed"), 25);
    assert_eq!(count("post.created"), 1);
}

async fn threads_comments_and_soft_deletes(store: Store) {
    let author = user(&store, "author").await;
    let id = store
        .create_post(new_post(author, PostPayload::Text, PostVisibility::Public))
        .await
        .unwrap();
    let body = |s: &str| CommentBody::parse(s).unwrap();
    let top = store
        .add_comment(id, author, None, body("first"))
        .await
        .unwrap();
    let reply = store
        .add_comment(id, author, Some(top.id), body("reply"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_comment(id, author, Some(reply.id), body("too deep"))
            .await,
        Err(Error::Invalid(_))
    ));
    let limit = Limit::parse(10).unwrap();
    let tops = store.comments(id, None, None, limit).await.unwrap();
    assert_eq!(
        tops.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [top.id]
    );
    let replies = store.comments(id, Some(top.id), None, limit).await.unwrap();
    assert_eq!(replies.items[0].parent_id, Some(top.id));

    store.delete_comment(reply.id, author).await.unwrap();
    assert!(matches!(
        store.delete_comment(reply.id, author).await,
        Err(Error::NotFound { .. })
    ));
    let post = store
        .posts_by_ids(&[id], None)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(post.counts.comments, 1);
}
