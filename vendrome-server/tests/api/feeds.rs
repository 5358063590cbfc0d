//! Feeds over HTTP: the home feed's sources and visibility, member and topic feeds, the typed
//! listings' filters, and cursors that hold while new posts arrive.

use std::collections::HashSet;

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, json, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    home_feed_gathers_every_source_once,
    connections_only_posts_stay_with_connections,
    cursors_hold_while_posts_arrive,
    an_empty_cursor_is_the_first_page,
    member_and_topic_feeds,
    listings_filter_by_type
);

/// Publishes a post and returns its id.
pub(crate) async fn publish(app: &TestApp, token: &str, body: Value) -> String {
    let (status, body) = json(
        app.post("/v1/posts")
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn text(app: &TestApp, token: &str, body: &str) -> String {
    publish(app, token, json!({ "body": body })).await
}

/// One page: the items and the next cursor.
pub(crate) async fn page(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (Vec<Value>, Option<String>) {
    let mut request = app.get(path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let (status, body) = json(request.send().await.unwrap()).await;
    assert_eq!(status, 200, "{path}: {body}");
    let items = body["data"].as_array().unwrap().clone();
    let next = body["meta"]["next_cursor"].as_str().map(str::to_owned);
    (items, next)
}

pub(crate) fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["post"]["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn follow(app: &TestApp, token: &str, whom: impl std::fmt::Display) {
    succeed(
        app.put(&format!("/v1/users/{whom}/follow"))
            .bearer_auth(token),
    )
    .await;
}

async fn home_feed_gathers_every_source_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, me) = app.user(UserRole::Member).await;
    let (followee_id, followee) = app.user(UserRole::Member).await;
    let (friend_id, friend) = app.user(UserRole::Member).await;
    let (_, stranger) = app.user(UserRole::Member).await;

    follow(&app, &me, followee_id).await;
    app.connect(&me, friend_id, &friend).await;

    let mine = text(&app, &me, "My own news").await;
    let followed = text(&app, &followee, "From someone I follow").await;
    let from_friend = text(&app, &friend, "From a connection").await;
    let on_topic = publish(
        &app,
        &stranger,
        json!({ "body": "Panels are cheap", "topics": ["solar"] }),
    )
    .await;
    succeed(app.put("/v1/topics/solar/follow").bearer_auth(&me)).await;
    let unrelated = text(&app, &stranger, "Nobody I know").await;
    // A stranger's post reposted by someone I follow comes in as a repost, once.
    let reposted = text(&app, &stranger, "Worth a repost").await;
    succeed(
        app.put(&format!("/v1/posts/{reposted}/repost"))
            .bearer_auth(&followee)
            .json(&json!({ "quote": "Read this" })),
    )
    .await;
    // A post that reaches me twice (its author is a connection, and a followee reposted it)
    // appears once, at its newest entry: the repost.
    succeed(
        app.put(&format!("/v1/posts/{from_friend}/repost"))
            .bearer_auth(&followee)
            .json(&json!({})),
    )
    .await;

    let (items, next) = page(&app, Some(&me), "/v1/feed").await;
    assert_eq!(next, None);
    assert_eq!(
        ids(&items),
        [&from_friend, &reposted, &on_topic, &followed, &mine].map(String::clone)
    );
    assert!(!ids(&items).contains(&unrelated));
    assert_eq!(items[0]["repost"]["by"]["id"], followee_id.to_string());
    assert_eq!(items[0]["repost"]["quote"], Value::Null);
    assert_eq!(items[1]["repost"]["quote"], "Read this");
    assert_eq!(items[2]["repost"], Value::Null);
    assert_eq!(items[2]["post"]["topics"], json!(["solar"]));

    // Small pages: each post at most once per page, nothing lost over the whole walk.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/feed?limit=2&cursor={c}"),
            None => "/v1/feed?limit=2".to_owned(),
        };
        let (items, next) = page(&app, Some(&me), &path).await;
        let on_page = ids(&items);
        assert!(on_page.len() <= 2);
        assert_eq!(on_page.iter().collect::<HashSet<_>>().len(), on_page.len());
        walked.extend(on_page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // Across pages a post may come back at an older entry (here the connection's post, first
    // seen as a repost); in first-seen order the walk is the one-page feed.
    let mut seen = HashSet::new();
    walked.retain(|id| seen.insert(id.clone()));
    assert_eq!(walked, ids(&page(&app, Some(&me), "/v1/feed").await.0));

    // Deleted posts leave the feed.
    succeed(
        app.delete(&format!("/v1/posts/{followed}"))
            .bearer_auth(&followee),
    )
    .await;
    let (items, _) = page(&app, Some(&me), "/v1/feed").await;
    assert!(!ids(&items).contains(&followed));

    expect_error(
        app.get("/v1/feed").send().await.unwrap(),
        401,
        "token_missing",
    )
    .await;
    let bad = app
        .get("/v1/feed?cursor=not-a-cursor")
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    let body = expect_error(bad, 422, "validation_failed").await;
    assert!(
        body["error"]["details"]["fields"]["cursor"].is_array(),
        "{body}"
    );
    let bad = app
        .get("/v1/feed?limit=0")
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    expect_error(bad, 422, "validation_failed").await;
}

async fn connections_only_posts_stay_with_connections(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (author_id, author) = app.user(UserRole::Member).await;
    let (friend_id, friend) = app.user(UserRole::Member).await;
    let (_, follower) = app.user(UserRole::Member).await;
    app.connect(&author, friend_id, &friend).await;
    follow(&app, &follower, author_id).await;
    follow(&app, &follower, friend_id).await;

    let private = publish(
        &app,
        &author,
        json!({ "body": "For my connections", "visibility": "connections", "topics": ["inner"] }),
    )
    .await;
    let public = text(&app, &author, "For everyone").await;
    // The friend may see it and reposts it; the follower follows the friend but is no
    // connection of the author, so not even the repost reaches them.
    succeed(
        app.put(&format!("/v1/posts/{private}/repost"))
            .bearer_auth(&friend)
            .json(&json!({})),
    )
    .await;

    let (items, _) = page(&app, Some(&friend), "/v1/feed").await;
    assert!(ids(&items).contains(&private));
    let (items, _) = page(&app, Some(&follower), "/v1/feed").await;
    assert_eq!(ids(&items), vec![public.clone()]);
    for path in [
        format!("/v1/users/{author_id}/posts"),
        "/v1/topics/inner/posts".to_owned(),
        "/v1/posts".to_owned(),
    ] {
        let (items, _) = page(&app, Some(&follower), &path).await;
        assert!(!ids(&items).contains(&private), "{path}");
        let (items, _) = page(&app, None, &path).await;
        assert!(!ids(&items).contains(&private), "{path} (anonymous)");
        let (items, _) = page(&app, Some(&friend), &path).await;
        assert!(ids(&items).contains(&private), "{path} (connection)");
    }
}

async fn cursors_hold_while_posts_arrive(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (author_id, author) = app.user(UserRole::Member).await;
    let (_, reader) = app.user(UserRole::Member).await;
    follow(&app, &reader, author_id).await;
    let mut old = Vec::new();
    for i in 0..25 {
        old.push(text(&app, &author, &format!("Post {i}")).await);
    }
    old.reverse();

    for path in ["/v1/feed", &format!("/v1/users/{author_id}/posts")] {
        let (first, next) = page(&app, Some(&reader), &format!("{path}?limit=10")).await;
        // New posts arrive between pages: the walk neither repeats nor skips an old post.
        text(&app, &author, "Breaking news").await;
        let mut walked = ids(&first);
        let mut cursor = next;
        while let Some(c) = cursor {
            let (items, next) =
                page(&app, Some(&reader), &format!("{path}?limit=10&cursor={c}")).await;
            walked.extend(ids(&items));
            cursor = next;
        }
        assert_eq!(walked, old, "{path}");
        // The newest post is first on a fresh walk.
        let (items, _) = page(&app, Some(&reader), &format!("{path}?limit=1")).await;
        assert_eq!(items[0]["post"]["body"], "Breaking news");
        old.insert(0, ids(&items)[0].clone());
    }
}

/// `?cursor=` (and `before=`/`after=` on history) is the first page, as an absent one is: form
/// encoders send unset fields empty.
async fn an_empty_cursor_is_the_first_page(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (author_id, author) = app.user(UserRole::Member).await;
    let (other_id, _) = app.user(UserRole::Member).await;
    text(&app, &author, "First").await;
    text(&app, &author, "Second").await;
    for path in [
        "/v1/feed",
        &format!("/v1/users/{author_id}/posts"),
        "/v1/posts",
    ] {
        let (plain, _) = page(&app, Some(&author), &format!("{path}?limit=1")).await;
        let (empty, next) = page(&app, Some(&author), &format!("{path}?limit=1&cursor=")).await;
        assert_eq!(ids(&empty), ids(&plain), "{path}");
        assert!(next.is_some(), "{path}");
    }
    let (status, body) = json(
        app.post("/v1/conversations")
            .bearer_auth(&author)
            .json(&json!({ "user_id": other_id }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status == 201 || status == 200, "{body}");
    let conversation = body["data"]["id"].as_str().unwrap();
    let (status, body) = json(
        app.get(&format!(
            "/v1/conversations/{conversation}/messages?cursor=&before=&after="
        ))
        .bearer_auth(&author)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(
        app.get("/v1/conversations?cursor=")
            .bearer_auth(&author)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn member_and_topic_feeds(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (author_id, author) = app.user(UserRole::Member).await;
    let (_, other) = app.user(UserRole::Member).await;
    let a = publish(
        &app,
        &author,
        json!({ "body": "One", "topics": ["agritech"] }),
    )
    .await;
    let b = publish(
        &app,
        &other,
        json!({ "body": "Two", "topics": ["agritech", "fintech"] }),
    )
    .await;
    let c = text(&app, &author, "Three").await;

    let (items, _) = page(&app, None, &format!("/v1/users/{author_id}/posts")).await;
    assert_eq!(ids(&items), [c.clone(), a.clone()]);
    let (items, _) = page(&app, None, "/v1/topics/agritech/posts").await;
    assert_eq!(ids(&items), [b.clone(), a.clone()]);
    let (items, _) = page(&app, Some(&other), "/v1/topics/fintech/posts").await;
    assert_eq!(ids(&items), vec![b.clone()]);
    assert_eq!(items[0]["post"]["viewer"]["reaction"], Value::Null);

    // A post whose topics change moves between topic feeds.
    succeed(
        app.patch(&format!("/v1/posts/{a}"))
            .bearer_auth(&author)
            .json(&json!({ "topics": ["fintech"] })),
    )
    .await;
    let (items, _) = page(&app, None, "/v1/topics/fintech/posts").await;
    assert_eq!(ids(&items), [b.clone(), a.clone()]);
    let (items, _) = page(&app, None, "/v1/topics/agritech/posts").await;
    assert_eq!(ids(&items), vec![b.clone()]);

    let unknown = app
        .get("/v1/topics/no-such-topic/posts")
        .send()
        .await
        .unwrap();
    expect_error(unknown, 404, "not_found").await;
    let unknown = app
        .get(&format!("/v1/users/{}/posts", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    expect_error(unknown, 404, "not_found").await;
    let garbage = app.get("/v1/users/xyz/posts").send().await.unwrap();
    expect_error(garbage, 404, "not_found").await;
}

async fn listings_filter_by_type(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let token = app.token(UserRole::Member).await;
    let product = |title: &str, price: i64, currency: &str, category: &str| {
        json!({ "type": "product", "body": title, "payload":
            { "title": title, "price_minor": price, "currency": currency, "category": category } })
    };
    let mug = publish(&app, &token, product("Mug", 1500, "ZAR", "kitchen")).await;
    let lamp = publish(&app, &token, product("Lamp", 45000, "ZAR", "home")).await;
    let euro = publish(&app, &token, product("Chair", 9000, "EUR", "home")).await;
    let remote = publish(
        &app,
        &token,
        json!({ "type": "service", "body": "Audits", "payload":
            { "title": "Audit", "rate_minor": 90000, "currency": "ZAR", "rate_unit": "hourly", "is_remote": true } }),
    )
    .await;
    let offer = publish(
        &app,
        &token,
        json!({ "type": "investment_offer", "body": "Angel", "payload":
            { "title": "Angel", "ticket_min_minor": 100, "ticket_max_minor": 500, "currency": "EUR", "stage": "seed" } }),
    )
    .await;
    text(&app, &token, "Just words").await;

    let cases: [(&str, Vec<&String>); 8] = [
        ("type=product", vec![&euro, &lamp, &mug]),
        ("type=product&currency=ZAR", vec![&lamp, &mug]),
        (
            "type=product&min_amount=2000&max_amount=50000",
            vec![&euro, &lamp],
        ),
        ("type=product&category=home&currency=EUR", vec![&euro]),
        ("type=service&remote=true", vec![&remote]),
        ("type=service&remote=false", vec![]),
        // Offers match when their ticket range overlaps the bounds.
        (
            "type=investment_offer&min_amount=400&stage=seed",
            vec![&offer],
        ),
        ("type=investment_offer&max_amount=99", vec![]),
    ];
    for (query, expected) in cases {
        let (items, _) = page(&app, None, &format!("/v1/posts?{query}")).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(&items), expected, "{query}");
    }
    let (items, _) = page(&app, None, "/v1/posts?limit=100").await;
    assert_eq!(items.len(), 6);
    assert_eq!(items[1]["post"]["payload"]["type"], "investment_offer");

    for (query, field) in [
        ("type=product&stage=seed", "stage"),
        ("remote=true", "remote"),
        ("type=text&currency=EUR", "currency"),
        ("type=product&min_amount=10&max_amount=5", "min_amount"),
        ("type=product&currency=eur", "currency"),
    ] {
        let response = app.get(&format!("/v1/posts?{query}")).send().await.unwrap();
        let body = expect_error(response, 422, "validation_failed").await;
        assert!(
            body["error"]["details"]["fields"][field].is_array(),
            "{query}: {body}"
        );
    }
    let response = app.get("/v1/posts?type=spaceship").send().await.unwrap();
    let status = response.status().as_u16();
    assert!(status == 400 || status == 422, "{status}");
    let unique: HashSet<String> = ids(&page(&app, None, "/v1/posts").await.0)
        .into_iter()
        .collect();
    assert_eq!(unique.len(), 6);
}
