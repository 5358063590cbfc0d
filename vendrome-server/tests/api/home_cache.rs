//! The home-feed cache over HTTP: what it serves follows the outbox (changes made elsewhere show
//! after a pass, changes made through the same instance at once), and its pages walk a feed
//! exactly as the database does, also past the entries it keeps.

use std::sync::Arc;

use serde_json::json;
use vendrome_core::audit::AuditContext;
use vendrome_core::enums::{PostVisibility, ReactionKind, UserRole};
use vendrome_core::graph::blocks::BlockRepo as _;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::posts::engagement::EngagementRepo as _;
use vendrome_core::posts::feed::{Feed, FeedService};
use vendrome_core::posts::home_cache::HomeCacheConfig;
use vendrome_core::posts::media::Media;
use vendrome_core::posts::{NewPost, PostBody, PostPayload, PostRepo as _};
use vendrome_core::users::{DisplayName, ProfileUpdate, UserRepo as _};

use crate::feeds::{follow, ids, page, publish, text};
use crate::support::{spawn_with, succeed, Backend, Setup};

both_stores!(
    changes_made_elsewhere_show_after_a_pass,
    pages_walk_the_feed_as_the_database_does,
    a_cache_of_no_members_is_left_out
);

async fn changes_made_elsewhere_show_after_a_pass(backend: Backend) {
    // No background tasks: the cache applies the outbox only when a test (or a change made
    // through this instance) asks it to.
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let store = &app.db.store;
    let (me_id, me) = app.user(UserRole::Member).await;
    let (followee_id, followee) = app.user(UserRole::Member).await;
    let (friend_id, friend) = app.user(UserRole::Member).await;
    follow(&app, &me, followee_id).await;
    app.connect(&me, friend_id, &friend).await;
    let first = text(&app, &followee, "First from the followee").await;
    let private = publish(
        &app,
        &friend,
        json!({"body": "For connections", "visibility": "connections"}),
    )
    .await;
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(ids(&items), [private.clone(), first.clone()]);

    // Another instance (here: the store itself) posts, reacts, bookmarks and renames.
    let third = store
        .create_post(NewPost {
            author_id: followee_id,
            body: PostBody::parse("Third, written elsewhere").unwrap(),
            visibility: PostVisibility::Public,
            topics: Vec::new(),
            payload: PostPayload::Text,
            media: Media::default(),
        })
        .await
        .unwrap();
    let first_id = first.parse().unwrap();
    let private_id = private.parse().unwrap();
    store
        .set_reaction(first_id, friend_id, ReactionKind::Like)
        .await
        .unwrap();
    store
        .set_reaction(first_id, me_id, ReactionKind::Celebrate)
        .await
        .unwrap();
    store.set_bookmark(private_id, me_id).await.unwrap();
    let rename = ProfileUpdate {
        display_name: Some(DisplayName::parse("Renamed Elsewhere").unwrap()),
        ..ProfileUpdate::default()
    };
    store
        .update_profile(followee_id, rename, &AuditContext::cli())
        .await
        .unwrap();

    // Until the cache applies the outbox it answers from memory, without the database.
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(ids(&items), [private.clone(), first.clone()]);
    assert_eq!(items[1]["post"]["counts"]["reactions"], 0);

    app.state.home_cache.pass().await.unwrap();
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(
        ids(&items),
        [third.to_string(), private.clone(), first.clone()]
    );
    let (third_item, private_item, first_item) = (&items[0], &items[1], &items[2]);
    assert_eq!(
        third_item["post"]["author"]["display_name"],
        "Renamed Elsewhere"
    );
    assert_eq!(
        first_item["post"]["author"]["display_name"],
        "Renamed Elsewhere"
    );
    assert_eq!(first_item["post"]["counts"]["reactions"], 2);
    assert_eq!(first_item["post"]["viewer"]["reaction"], "celebrate");
    assert_eq!(private_item["post"]["viewer"]["bookmarked"], true);
    assert_eq!(private_item["post"]["counts"]["bookmarks"], 1);

    // A block ends the connection (the connections-only post goes); a deletion removes a post.
    store.block(friend_id, me_id).await.unwrap();
    store.delete_post(third, followee_id).await.unwrap();
    app.state.home_cache.pass().await.unwrap();
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(ids(&items), std::slice::from_ref(&first));

    // A change made through this instance shows on the next read, without waiting for a pass.
    let fourth = text(&app, &followee, "Fourth, through the API").await;
    succeed(
        app.put(&format!("/v1/posts/{first}/reaction"))
            .bearer_auth(&me)
            .json(&json!({"kind": "insightful"})),
    )
    .await;
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(ids(&items), [fourth, first]);
    assert_eq!(items[1]["post"]["viewer"]["reaction"], "insightful");
}

async fn pages_walk_the_feed_as_the_database_does(backend: Backend) {
    // The cache keeps 12 entries per member: a walk crosses from the cache to the database.
    let setup = Setup {
        home_cache: HomeCacheConfig {
            timeline: 12,
            ..HomeCacheConfig::default()
        },
        ..Setup::new(backend)
    };
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let (me_id, me) = app.user(UserRole::Member).await;
    let (a_id, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    follow(&app, &me, a_id).await;
    follow(&app, &me, b_id).await;
    let mut a_posts = Vec::new();
    for n in 0..15 {
        text(&app, &b, &format!("B's post {n}")).await;
        a_posts.push(text(&app, &a, &format!("A's post {n}")).await);
        if n % 4 == 0 {
            // B reposts one of A's posts: it shows once, at the repost.
            succeed(
                app.put(&format!("/v1/posts/{}/repost", a_posts[n / 2]))
                    .bearer_auth(&b)
                    .json(&json!({})),
            )
            .await;
        }
    }

    let mut cached = Vec::new();
    let mut path = "/v1/feed?limit=5".to_owned();
    loop {
        let (items, next) = page(&app, Some(&me), &path).await;
        cached.extend(ids(&items));
        match next {
            Some(cursor) => path = format!("/v1/feed?limit=5&cursor={cursor}"),
            None => break,
        }
    }

    let store = Arc::new(app.db.store.clone());
    let uncached = FeedService::new(store.clone(), store);
    let caller = vendrome_core::access::Caller {
        user_id: me_id,
        role: UserRole::Member,
    };
    let mut direct = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = uncached
            .page(
                Some(&caller),
                &Feed::Home(me_id),
                cursor.as_ref(),
                Limit::parse(5).unwrap(),
            )
            .await
            .unwrap();
        direct.extend(page.items.iter().map(|i| i.post.id.to_string()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // Every post once (a reposted post at its repost only), in the same order as the
    // database's walk.
    let distinct: std::collections::HashSet<&String> = cached.iter().collect();
    assert_eq!(distinct.len(), 30, "{cached:?}");
    assert_eq!(cached.len(), 30, "{cached:?}");
    assert_eq!(cached, direct);
    let (members, posts) = app.state.home_cache.size();
    // The first read kept its page of five and came from the cache; the next two pages came
    // from the database and extended the kept entries to 12, the rest lay past them.
    assert_eq!(members, 1);
    assert_eq!(posts, 5);
    let stats = app.state.home_cache.stats();
    assert_eq!(
        (
            stats.pages,
            stats.deep_pages,
            stats.timelines_read,
            stats.posts_read
        ),
        (1, 5, 1, 5)
    );
    // A second walk has its first 12 entries from the cache: two pages of five, and the third
    // needs more than the kept entries.
    let mut again = Vec::new();
    let mut path = "/v1/feed?limit=5".to_owned();
    loop {
        let (items, next) = page(&app, Some(&me), &path).await;
        again.extend(ids(&items));
        match next {
            Some(cursor) => path = format!("/v1/feed?limit=5&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(again, direct);
    let stats = app.state.home_cache.stats();
    assert_eq!(
        (stats.pages, stats.deep_pages, stats.timelines_read),
        (3, 9, 1)
    );
}

async fn a_cache_of_no_members_is_left_out(backend: Backend) {
    let setup = Setup {
        home_cache: HomeCacheConfig {
            members: 0,
            ..HomeCacheConfig::default()
        },
        ..Setup::new(backend)
    };
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let (me_id, me) = app.user(UserRole::Member).await;
    let first = text(&app, &me, "Mine").await;
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(ids(&items), std::slice::from_ref(&first));
    // A change made elsewhere shows at once: every read goes to the database.
    app.db
        .store
        .set_reaction(first.parse().unwrap(), me_id, ReactionKind::Like)
        .await
        .unwrap();
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(items[0]["post"]["viewer"]["reaction"], "like");
    assert_eq!(app.state.home_cache.size(), (0, 0));
}
