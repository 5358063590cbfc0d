//! Conversations and messages over HTTP, and `Idempotency-Key` on the real creating endpoints.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, Backend, Setup, TestApp};

both_stores!(
    a_conversation_end_to_end,
    retried_creates_are_stored_once,
    groups_over_http
);

async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    expect_status(app.get("/v1/conversations").bearer_auth(token), 200).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn a_conversation_end_to_end(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (a_id, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    let (_, stranger) = app.user(UserRole::Member).await;

    let id = app.start_conversation(&a, b_id).await;
    let again = expect_status(
        app.post("/v1/conversations")
            .bearer_auth(&b)
            .json(&json!({ "user_id": a_id })),
        200,
    )
    .await;
    assert_eq!(again["data"], json!({ "id": id, "created": false }));

    let path = format!("/v1/conversations/{id}/messages");
    let mut last = String::new();
    for text in ["Hello", "Are you at the expo?", "Stand 14"] {
        let sent = expect_status(
            app.post(&path)
                .bearer_auth(&a)
                .json(&json!({ "body": text })),
            201,
        )
        .await;
        last = sent["data"]["id"].as_str().unwrap().to_owned();
    }
    // A resend with the same client id is the same message.
    let first = expect_status(
        app.post(&path)
            .bearer_auth(&b)
            .json(&json!({ "body": "On my way", "client_message_id": "b-1" })),
        201,
    )
    .await;
    let second = expect_status(
        app.post(&path)
            .bearer_auth(&b)
            .json(&json!({ "body": "On my way", "client_message_id": "b-1" })),
        201,
    )
    .await;
    assert_eq!(first["data"]["id"], second["data"]["id"]);

    let b_inbox = inbox(&app, &b).await;
    assert_eq!(b_inbox.len(), 1);
    assert_eq!(b_inbox[0]["unread"], 3, "{b_inbox:?}");
    assert_eq!(b_inbox[0]["participant_ids"], json!([a_id]));
    assert_eq!(b_inbox[0]["last_message"]["body"], "On my way");
    assert_eq!(inbox(&app, &a).await[0]["unread"], 1);

    let read = expect_status(
        app.post(&format!("/v1/conversations/{id}/read"))
            .bearer_auth(&b)
            .json(&json!({ "message_id": last })),
        200,
    )
    .await;
    assert_eq!(read["data"]["moved"], true);
    assert_eq!(inbox(&app, &b).await[0]["unread"], 0);

    let history = expect_status(app.get(&format!("{path}?limit=2")).bearer_auth(&a), 200).await;
    assert_eq!(history["data"].as_array().unwrap().len(), 2);
    assert_eq!(history["data"][0]["body"], "On my way");
    assert!(history["meta"]["next_cursor"].is_string());

    // Forwards from the oldest message: oldest first.
    let oldest = history["data"][1]["id"].as_str().unwrap().to_owned();
    let all = expect_status(app.get(&format!("{path}?limit=10")).bearer_auth(&a), 200).await;
    let first_id = all["data"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let forward = expect_status(
        app.get(&format!("{path}?after={first_id}")).bearer_auth(&a),
        200,
    )
    .await;
    assert_eq!(forward["data"][0]["body"], "Are you at the expo?");
    assert_eq!(forward["data"].as_array().unwrap().len(), 3);
    for query in [
        format!("before={oldest}&after={oldest}"),
        "after=nope".to_owned(),
    ] {
        let bad = app
            .get(&format!("{path}?{query}"))
            .bearer_auth(&a)
            .send()
            .await
            .unwrap();
        expect_error(bad, 422, "validation_failed").await;
    }

    // Outsiders see nothing; bad input gets the envelope.
    let peek = app.get(&path).bearer_auth(&stranger).send().await.unwrap();
    expect_error(peek, 404, "not_found").await;
    let intrude = app
        .post(&path)
        .bearer_auth(&stranger)
        .json(&json!({ "body": "Hi" }))
        .send()
        .await
        .unwrap();
    expect_error(intrude, 404, "not_found").await;
    let empty = app
        .post(&path)
        .bearer_auth(&a)
        .json(&json!({ "body": "  " }))
        .send()
        .await
        .unwrap();
    expect_error(empty, 422, "validation_failed").await;
    let myself = app
        .post("/v1/conversations")
        .bearer_auth(&a)
        .json(&json!({ "user_id": a_id }))
        .send()
        .await
        .unwrap();
    expect_error(myself, 422, "validation_failed").await;
    let nobody = app.get("/v1/conversations").send().await.unwrap();
    expect_error(nobody, 401, "token_missing").await;
    let garbage = app
        .get("/v1/conversations/xyz/messages")
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    expect_error(garbage, 404, "not_found").await;

    // Senders edit and delete their own messages; nobody else's.
    let edited = expect_status(
        app.patch(&format!("/v1/messages/{last}"))
            .bearer_auth(&a)
            .json(&json!({ "body": "Stand 41" })),
        200,
    )
    .await;
    assert_eq!(edited["data"]["body"], "Stand 41");
    assert!(edited["data"]["edited_at"].is_string());
    let theirs = app
        .patch(&format!("/v1/messages/{last}"))
        .bearer_auth(&b)
        .json(&json!({ "body": "x" }))
        .send()
        .await
        .unwrap();
    expect_error(theirs, 403, "not_sender").await;
    expect_status(
        app.delete(&format!("/v1/messages/{last}")).bearer_auth(&a),
        200,
    )
    .await;
    let gone = app
        .delete(&format!("/v1/messages/{last}"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    expect_error(gone, 404, "not_found").await;

    // A block stops both sides.
    expect_status(
        app.put(&format!("/v1/users/{a_id}/block")).bearer_auth(&b),
        200,
    )
    .await;
    let blocked = app
        .post(&path)
        .bearer_auth(&a)
        .json(&json!({ "body": "Hello?" }))
        .send()
        .await
        .unwrap();
    expect_error(blocked, 403, "blocked").await;
}

async fn retried_creates_are_stored_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let token = app.token(UserRole::Member).await;
    let post = || {
        app.post("/v1/posts")
            .bearer_auth(&token)
            .header("Idempotency-Key", "post-retry-1")
            .json(&json!({ "body": "Launching today" }))
    };
    let first = post().send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = post().send().await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(first["data"]["id"], retry["data"]["id"]);
    let me = expect_status(app.get("/v1/me").bearer_auth(&token), 200).await;
    let mine = expect_status(
        app.get(&format!(
            "/v1/users/{}/posts",
            me["data"]["id"].as_str().unwrap()
        )),
        200,
    )
    .await;
    assert_eq!(
        mine["data"].as_array().unwrap().len(),
        1,
        "the retry stored nothing"
    );
}

async fn groups_over_http(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, owner) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    let (c_id, _) = app.user(UserRole::Member).await;
    let created = expect_status(
        app.post("/v1/conversations/groups")
            .bearer_auth(&owner)
            .json(&json!({ "title": "Expo crew", "member_ids": [b_id] })),
        201,
    )
    .await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let untitled = app
        .post("/v1/conversations/groups")
        .bearer_auth(&owner)
        .json(&json!({ "title": " ", "member_ids": [b_id] }))
        .send()
        .await
        .unwrap();
    expect_error(untitled, 422, "validation_failed").await;

    let members = format!("/v1/conversations/{id}/members/{c_id}");
    let by_member = app.put(&members).bearer_auth(&b).send().await.unwrap();
    expect_error(by_member, 403, "not_admin").await;
    let added = expect_status(app.put(&members).bearer_auth(&owner), 200).await;
    assert_eq!(added["data"]["member"], true);
    let inbox = expect_status(app.get("/v1/conversations").bearer_auth(&b), 200).await;
    assert_eq!(
        inbox["data"][0]["participant_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    expect_status(
        app.delete(&format!("/v1/conversations/{id}/members/{b_id}"))
            .bearer_auth(&b),
        200,
    )
    .await;
    let inbox = expect_status(app.get("/v1/conversations").bearer_auth(&b), 200).await;
    assert_eq!(inbox["data"], json!([]), "left the group");
}
