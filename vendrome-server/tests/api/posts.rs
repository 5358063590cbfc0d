//! Posts and engagement over HTTP.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::outbox::OutboxRepo as _;

use crate::support::{expect_error, json, spawn_with, Backend, Setup, TestApp};

both_stores!(
    every_post_type_validates_its_payload,
    visibility_authorization_and_soft_delete,
    concurrent_reactions_keep_exact_counts,
    comments_bookmarks_and_events,
    media_attachments_are_validated_and_kept
);

async fn app(backend: Backend) -> Option<TestApp> {
    spawn_with(Setup::new(backend)).await
}

async fn create(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    json(
        app.post("/v1/posts")
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn every_post_type_validates_its_payload(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.token(UserRole::Member).await;
    let cases = [
        (
            "product",
            json!({"title": "Mug", "price_minor": 1500, "currency": "ZAR"}),
            json!({"title": "Mug", "price_minor": -5, "currency": "ZAR"}),
            "payload.price_minor",
        ),
        (
            "service",
            json!({"title": "Audit", "rate_minor": 100, "currency": "ZAR", "rate_unit": "daily"}),
            json!({"title": "Audit", "rate_minor": 100, "currency": "ZAR", "rate_unit": "yearly"}),
            "payload.rate_unit",
        ),
        (
            "crowdfunding",
            json!({"title": "Solar", "goal_minor": 1000, "currency": "USD", "instrument": "reward", "ends_at": "2027-01-01T00:00:00Z"}),
            json!({"title": "Solar", "goal_minor": 1000, "currency": "usd", "instrument": "reward", "ends_at": "2027-01-01T00:00:00Z"}),
            "payload.currency",
        ),
        (
            "investment_offer",
            json!({"title": "Angel", "ticket_min_minor": 1, "ticket_max_minor": 2, "currency": "EUR"}),
            json!({"title": "Angel", "ticket_min_minor": 5, "ticket_max_minor": 2, "currency": "EUR"}),
            "payload.ticket_max_minor",
        ),
        (
            "investment_request",
            json!({"title": "Raise", "amount_sought_minor": 10, "currency": "USD", "instrument": "safe", "stage": "seed", "equity_offered_percent": 7.25}),
            json!({"title": "Raise", "amount_sought_minor": 10, "currency": "USD", "instrument": "safe"}),
            "payload.stage",
        ),
        (
            "mentorship_request",
            json!({"area": "Export", "format": "hybrid"}),
            json!({"area": "Export", "format": "hybrid", "budget_minor": 100}),
            "payload.currency",
        ),
    ];
    for (kind, good, bad, field) in cases {
        let (status, body) = create(
            &app,
            &token,
            json!({"type": kind, "body": "Hi", "topics": ["#Fintech"], "payload": good}),
        )
        .await;
        assert_eq!(status, 201, "{kind}: {body}");
        assert_eq!(body["data"]["type"], kind);
        assert_eq!(body["data"]["payload"]["type"], kind);
        assert_eq!(body["data"]["topics"], json!(["fintech"]));
        let (status, body) = create(
            &app,
            &token,
            json!({"type": kind, "body": "Hi", "payload": bad}),
        )
        .await;
        assert_eq!(status, 422, "{kind}: {body}");
        assert!(
            body["error"]["details"]["fields"][field].is_array(),
            "{kind}: {body}"
        );
    }
    let (status, body) = create(&app, &token, json!({"body": "Plain text"})).await;
    assert_eq!(
        (status, &body["data"]["payload"]),
        (201, &json!({"type": "text"}))
    );
    let (status, _) = create(&app, &token, json!({"body": "x", "payload": {"a": 1}})).await;
    assert_eq!(status, 422);
    let (status, body) = create(&app, &token, json!({"body": "x", "topics": ["bad topic"]})).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["details"]["fields"]["topics[0]"].is_array(),
        "{body}"
    );
}

async fn visibility_authorization_and_soft_delete(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (author, author_token) = app.user(UserRole::Member).await;
    let (friend, friend_token) = app.user(UserRole::Member).await;
    let stranger_token = app.token(UserRole::Member).await;
    let moderator_token = app.token(UserRole::Moderator).await;
    let (_, body) = create(
        &app,
        &author_token,
        json!({"body": "For my network", "visibility": "connections"}),
    )
    .await;
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/posts/{id}");
    let now = vendrome_core::time::now();
    vendrome_store::with_db!(app.db.store.db(), pool => {
        sqlx::query("INSERT INTO connections (id, requester_id, addressee_id, status, created_at, updated_at) VALUES ($1, $2, $3, 'accepted', $4, $4)")
            .bind(uuid::Uuid::now_v7()).bind(author.as_uuid()).bind(friend.as_uuid()).bind(now)
            .execute(pool).await.map(drop).unwrap()
    });

    expect_error(app.get(&path).send().await.unwrap(), 404, "not_found").await;
    expect_error(
        app.get(&path)
            .bearer_auth(&stranger_token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let (status, _) = json(
        app.get(&path)
            .bearer_auth(&friend_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    expect_error(
        app.get("/v1/posts/not-a-uuid").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.get(&format!("/v1/posts/{}", uuid::Uuid::now_v7()))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // Others may not edit; the author and moderators may.
    let edit = json!({"body": "Edited", "topics": ["b2b"]});
    expect_error(
        app.patch(&path)
            .bearer_auth(&friend_token)
            .json(&edit)
            .send()
            .await
            .unwrap(),
        403,
        "not_author",
    )
    .await;
    expect_error(
        app.delete(&path)
            .bearer_auth(&friend_token)
            .send()
            .await
            .unwrap(),
        403,
        "not_author",
    )
    .await;
    let (status, body) = json(
        app.patch(&path)
            .bearer_auth(&author_token)
            .json(&edit)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["data"]["body"].as_str()),
        (200, Some("Edited")),
        "{body}"
    );
    assert_eq!(body["data"]["topics"], json!(["b2b"]));
    let (status, body) = json(
        app.patch(&path)
            .bearer_auth(&moderator_token)
            .json(&json!({"visibility": "public"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["data"]["visibility"].as_str()),
        (200, Some("public")),
        "{body}"
    );

    // Soft delete: 404 everywhere afterwards.
    let (status, _) = json(
        app.delete(&path)
            .bearer_auth(&author_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    expect_error(
        app.get(&path)
            .bearer_auth(&author_token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.delete(&path)
            .bearer_auth(&author_token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.put(&format!("{path}/reaction"))
            .bearer_auth(&friend_token)
            .json(&json!({"kind": "like"}))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

async fn concurrent_reactions_keep_exact_counts(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let author_token = app.token(UserRole::Member).await;
    let (_, body) = create(&app, &author_token, json!({"body": "React to me"})).await;
    let path = format!(
        "/v1/posts/{}/reaction",
        body["data"]["id"].as_str().unwrap()
    );
    let mut tokens = Vec::new();
    for _ in 0..50 {
        tokens.push(app.token(UserRole::Member).await);
    }
    let requests = tokens.iter().enumerate().map(|(i, token)| {
        let (app, path) = (&app, &path);
        async move {
            let r = app
                .put(path)
                .bearer_auth(token)
                .json(&json!({"kind": "like"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let r = app
                .put(path)
                .bearer_auth(token)
                .json(&json!({"kind": "insightful"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            if i % 5 == 0 {
                let r = app.delete(path).bearer_auth(token).send().await.unwrap();
                assert_eq!(r.status(), 200);
            }
        }
    });
    futures::future::join_all(requests).await;
    let (status, body) = json(
        app.put(&path)
            .bearer_auth(&tokens[1])
            .json(&json!({"kind": "curious"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["counts"]["reactions"], 40, "{body}");
    assert_eq!(body["data"]["viewer"]["reaction"], "curious");
    expect_error(
        app.put(&path)
            .bearer_auth(&tokens[1])
            .json(&json!({"kind": "love"}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
}

async fn comments_bookmarks_and_events(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (_, token) = app.user(UserRole::Member).await;
    let other = app.token(UserRole::Member).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, body) = create(&app, &token, json!({"body": format!("Post {i}")})).await;
        let id = body["data"]["id"].as_str().unwrap().to_owned();
        let (status, _) = json(
            app.put(&format!("/v1/posts/{id}/bookmark"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        ids.push(id);
    }
    // Bookmarks: newest first, two per page.
    let mut listed = Vec::new();
    let mut url = "/v1/me/bookmarks?limit=2".to_owned();
    loop {
        let (status, body) = json(app.get(&url).bearer_auth(&token).send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        for post in body["data"].as_array().unwrap() {
            assert_eq!(post["viewer"]["bookmarked"], true);
            listed.push(post["id"].as_str().unwrap().to_owned());
        }
        match body["meta"]["next_cursor"].as_str() {
            Some(cursor) => url = format!("/v1/me/bookmarks?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    expect_error(
        app.get("/v1/me/bookmarks?limit=0")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;

    // Comments thread one level deep; only the author edits.
    let post = &ids[0];
    let comments = format!("/v1/posts/{post}/comments");
    let (status, top) = json(
        app.post(&comments)
            .bearer_auth(&token)
            .json(&json!({"body": "First!"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{top}");
    let top_id = top["data"]["id"].as_str().unwrap();
    let (status, reply) = json(
        app.post(&comments)
            .bearer_auth(&other)
            .json(&json!({"body": "Reply", "parent_id": top_id}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let reply_id = reply["data"]["id"].as_str().unwrap();
    expect_error(
        app.post(&comments)
            .bearer_auth(&other)
            .json(&json!({"body": "Deep", "parent_id": reply_id}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let (_, list) = json(app.get(&comments).send().await.unwrap()).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (_, list) = json(
        app.get(&format!("{comments}?parent_id={top_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["data"][0]["id"].as_str(), Some(reply_id));
    expect_error(
        app.patch(&format!("/v1/comments/{top_id}"))
            .bearer_auth(&other)
            .json(&json!({"body": "Mine now"}))
            .send()
            .await
            .unwrap(),
        403,
        "not_author",
    )
    .await;
    let (status, _) = json(
        app.delete(&format!("/v1/comments/{reply_id}"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);

    // Reposts and shares.
    let (status, body) = json(
        app.put(&format!("/v1/posts/{post}/repost"))
            .bearer_auth(&other)
            .json(&json!({"quote": "Worth reading"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["data"]["viewer"]["reposted"]),
        (200, &json!(true)),
        "{body}"
    );
    let (status, _) = json(
        app.post(&format!("/v1/posts/{post}/shares"))
            .bearer_auth(&other)
            .json(&json!({"channel": "linkedin"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let (_, body) = json(app.get(&format!("/v1/posts/{post}")).send().await.unwrap()).await;
    assert_eq!(
        body["data"]["counts"],
        json!({"reactions": 0, "comments": 1, "reposts": 1, "shares": 1, "bookmarks": 1})
    );

    let events = app
        .db
        .store
        .claim("test", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    for expected in [
        "post.created",
        "comment.created",
        "comment.deleted",
        "repost.created",
        "share.created",
        "bookmark.set",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
}

async fn media_attachments_are_validated_and_kept(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.token(UserRole::Member).await;
    let photo = json!({ "url": "https://cdn.example.com/mug.jpg", "kind": "image", "width": 1200, "height": 900, "alt": "A blue mug" });
    let (status, body) = create(
        &app,
        &token,
        json!({ "type": "product", "body": "Mugs", "media": [photo],
                "payload": { "title": "Mug", "price_minor": 1500, "currency": "ZAR" } }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["media"], json!([photo]));
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let (_, fetched) = json(app.get(&format!("/v1/posts/{id}")).send().await.unwrap()).await;
    assert_eq!(fetched["data"]["media"], json!([photo]));

    let (status, body) = create(
        &app,
        &token,
        json!({ "body": "Bad", "media": [{ "url": "ftp://x", "kind": "image", "width": 0 }] }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let fields = &body["error"]["details"]["fields"];
    assert!(
        fields["media.0.url"].is_array() && fields["media.0.width"].is_array(),
        "{body}"
    );
    let (status, _) = create(
        &app,
        &token,
        json!({ "body": "Bad", "media": [{ "url": "https://x.example", "kind": "hologram" }] }),
    )
    .await;
    assert!(status == 400 || status == 422, "{status}");

    // An edit replaces the list; an edit without it keeps it.
    let video = json!({ "url": "https://cdn.example.com/demo.mp4", "kind": "video", "width": null, "height": null, "alt": null });
    let (status, body) = json(
        app.patch(&format!("/v1/posts/{id}"))
            .bearer_auth(&token)
            .json(&json!({ "media": [video] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["media"], json!([video]));
    let (_, body) = json(
        app.patch(&format!("/v1/posts/{id}"))
            .bearer_auth(&token)
            .json(&json!({ "body": "Mugs, new batch" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["data"]["media"], json!([video]));
}
