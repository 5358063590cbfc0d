//! A disabled member's posts, comments and reactions disappear from every read path, as their
//! profile does: post reads, feeds, listings, comments, reaction lists and search.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::UserId;

use crate::support::{expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(a_disabled_members_content_disappears_everywhere);

/// The ids in a page of posts, feed items or search results.
fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let post = if item["post"].is_object() {
                &item["post"]
            } else {
                item
            };
            post["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn authors(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["author"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every read path, as `reader` sees it: (post ids of reads and feeds, comment authors,
/// reacting members).
async fn reads(
    app: &TestApp,
    reader: &str,
    author: UserId,
    post: &str,
    other_post: &str,
) -> (Vec<Vec<String>>, Vec<String>, Vec<String>) {
    app.sync_search().await;
    let single = app
        .get(&format!("/v1/posts/{post}"))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    let single = if single.status() == 200 {
        vec![post.to_owned()]
    } else {
        assert_eq!(single.status(), 404);
        Vec::new()
    };
    let mut seen = vec![single];
    for path in [
        "/v1/feed".to_owned(),
        format!("/v1/users/{author}/posts"),
        "/v1/topics/solar-kits/posts".to_owned(),
        "/v1/posts?type=text".to_owned(),
        "/v1/search?q=heliotrope".to_owned(),
    ] {
        seen.push(ids(&succeed(app.get(&path).bearer_auth(reader)).await));
    }
    let comments = succeed(
        app.get(&format!("/v1/posts/{other_post}/comments"))
            .bearer_auth(reader),
    )
    .await;
    let reactions = succeed(
        app.get(&format!("/v1/posts/{other_post}/reactions"))
            .bearer_auth(reader),
    )
    .await;
    let reacting = reactions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["user"]["id"]
                .as_str()
                .or(r["author"]["id"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    (seen, authors(&comments), reacting)
}

async fn a_disabled_members_content_disappears_everywhere(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (author_id, author) = app.user(UserRole::Member).await;
    let (_, reader) = app.user(UserRole::Member).await;
    let (_, admin) = app.user(UserRole::Admin).await;
    let (_, other) = app.user(UserRole::Member).await;
    expect_status(
        app.put(&format!("/v1/users/{author_id}/follow"))
            .bearer_auth(&reader),
        200,
    )
    .await;
    let created = succeed(
        app.post("/v1/posts")
            .bearer_auth(&author)
            .json(&json!({ "body": "Heliotrope solar kits for sale", "topics": ["solar-kits"] })),
    )
    .await;
    let post = created["data"]["id"].as_str().unwrap().to_owned();
    let other_post = succeed(
        app.post("/v1/posts")
            .bearer_auth(&other)
            .json(&json!({ "body": "Anyone near Kisumu?" })),
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    succeed(
        app.post(&format!("/v1/posts/{other_post}/comments"))
            .bearer_auth(&author)
            .json(&json!({ "body": "Me!" })),
    )
    .await;
    succeed(
        app.put(&format!("/v1/posts/{other_post}/reaction"))
            .bearer_auth(&author)
            .json(&json!({ "kind": "like" })),
    )
    .await;

    // Before: everywhere.
    let (seen, commenters, reacting) = reads(&app, &reader, author_id, &post, &other_post).await;
    for (path, ids) in seen.iter().enumerate() {
        assert!(ids.contains(&post), "read path {path}: {ids:?}");
    }
    assert_eq!(commenters, [author_id.to_string()]);
    assert_eq!(reacting, [author_id.to_string()]);

    expect_status(
        app.put(&format!("/v1/admin/users/{author_id}/disabled"))
            .bearer_auth(&admin)
            .json(&json!({ "disabled": true })),
        200,
    )
    .await;

    // After: nowhere.
    let (seen, commenters, reacting) = reads(&app, &reader, author_id, &post, &other_post).await;
    for (path, ids) in seen.iter().enumerate() {
        assert!(!ids.contains(&post), "read path {path}: {ids:?}");
    }
    assert!(commenters.is_empty(), "{commenters:?}");
    assert!(reacting.is_empty(), "{reacting:?}");
}
