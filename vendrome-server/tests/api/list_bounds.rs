//! Every list in a request body has a bound, enforced before any item is looked at: an
//! oversized list is a quick 422 naming the list, never per-item work.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, spawn_with, Backend, Setup, TestApp};

both_stores!(
    a_megabyte_of_topics_is_refused_quickly,
    every_body_list_is_bounded
);

/// `count` distinct valid topic slugs.
fn topics(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("t-{i}")).collect()
}

/// The fields a 422 names.
fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"]["fields"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default()
}

async fn a_megabyte_of_topics_is_refused_quickly(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let token = app.token(UserRole::Member).await;
    // 100,000 distinct topics: just under the 1 MiB body limit. Checking each against the
    // ones before it took seconds of an async worker.
    let body = serde_json::to_vec(&json!({ "body": "hello", "topics": topics(100_000) })).unwrap();
    assert!(
        body.len() > 900_000 && body.len() < 1024 * 1024,
        "{}",
        body.len()
    );
    let started = Instant::now();
    let response = app
        .post("/v1/posts")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let error = expect_error(response, 422, "validation_failed").await;
    assert_eq!(fields(&error), ["topics"], "{error}");
    assert_eq!(
        error["error"]["details"]["fields"]["topics"][0]["code"],
        "too_many"
    );
    // A generous bound: the whole exchange, parsing a megabyte of JSON included, on a loaded
    // machine (the quadratic check took 9.7 s).
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

async fn expect_too_many(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
    field: &str,
) {
    let request = match method {
        "POST" => app.post(path),
        "PATCH" => app.patch(path),
        _ => unreachable!(),
    };
    let response = request.bearer_auth(token).json(&body).send().await.unwrap();
    let error = expect_error(response, 422, "validation_failed").await;
    // Only the list is named: none of its (invalid) items was looked at.
    assert_eq!(fields(&error), [field], "{path}: {error}");
}

async fn every_body_list_is_bounded(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (me, token) = app.user(UserRole::Member).await;
    let (other, _) = app.user(UserRole::Member).await;
    let bad = |n: usize| vec![json!("not a slug"); n];
    let bad_media = |n: usize| vec![json!({ "url": "http://insecure", "kind": "image" }); n];
    expect_too_many(
        &app,
        &token,
        "POST",
        "/v1/posts",
        json!({ "body": "x", "topics": bad(11) }),
        "topics",
    )
    .await;
    expect_too_many(
        &app,
        &token,
        "POST",
        "/v1/posts",
        json!({ "body": "x", "media": bad_media(11) }),
        "media",
    )
    .await;
    let post = crate::support::succeed(
        app.post("/v1/posts")
            .bearer_auth(&token)
            .json(&json!({ "body": "x" })),
    )
    .await;
    let path = format!("/v1/posts/{}", post["data"]["id"].as_str().unwrap());
    expect_too_many(
        &app,
        &token,
        "PATCH",
        &path,
        json!({ "topics": bad(11) }),
        "topics",
    )
    .await;
    expect_too_many(
        &app,
        &token,
        "PATCH",
        &path,
        json!({ "media": bad_media(11) }),
        "media",
    )
    .await;
    let conversation = app.start_conversation(&token, other).await;
    let attachments = vec![
        json!({ "url": "http://insecure", "name": "", "size_bytes": 0, "mime_type": "x" });
        11
    ];
    expect_too_many(
        &app,
        &token,
        "POST",
        &format!("/v1/conversations/{conversation}/messages"),
        json!({ "body": "hi", "attachments": attachments }),
        "attachments",
    )
    .await;
    let members: Vec<String> = (0..100).map(|_| me.to_string()).collect();
    expect_too_many(
        &app,
        &token,
        "POST",
        "/v1/conversations/groups",
        json!({ "title": "g", "member_ids": members }),
        "member_ids",
    )
    .await;
    let skills = vec![json!(""); 31];
    expect_too_many(
        &app,
        &token,
        "PATCH",
        "/v1/me/profile",
        json!({ "skills": skills }),
        "skills",
    )
    .await;
    let looking = vec![json!("customers"); 8];
    expect_too_many(
        &app,
        &token,
        "PATCH",
        "/v1/me/profile",
        json!({ "looking_for": looking }),
        "looking_for",
    )
    .await;
}
