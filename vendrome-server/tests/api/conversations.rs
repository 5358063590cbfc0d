//! Attachments on messages, the messaging setting and group details over HTTP.

use serde_json::json;
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, Backend, Setup};

both_stores!(attachments_settings_and_group_roles);

async fn attachments_settings_and_group_roles(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    let (c_id, c) = app.user(UserRole::Member).await;
    let path = format!(
        "/v1/conversations/{}/messages",
        app.start_conversation(&a, b_id).await
    );

    // Attachments: every broken field named; a file alone is a message.
    let bad = app.post(&path).bearer_auth(&a).json(&json!({
        "attachments": [{ "url": "ftp://x", "mime_type": "pdf", "size_bytes": 0 }],
    }));
    let error = expect_error(bad.send().await.unwrap(), 422, "validation_failed").await;
    let fields = error["error"]["details"]["fields"].as_object().unwrap();
    for field in [
        "attachments.0.url",
        "attachments.0.mime_type",
        "attachments.0.size_bytes",
    ] {
        assert!(fields.contains_key(field), "{field} in {fields:?}");
    }
    let empty = app
        .post(&path)
        .bearer_auth(&a)
        .json(&json!({ "body": "  " }));
    expect_error(empty.send().await.unwrap(), 422, "validation_failed").await;
    let deck = json!({
        "url": "https://files.example.com/deck.pdf",
        "mime_type": "application/pdf",
        "size_bytes": 1_048_576,
        "name": "deck.pdf",
    });
    let sent = expect_status(
        app.post(&path)
            .bearer_auth(&a)
            .json(&json!({ "attachments": [deck] })),
        201,
    )
    .await;
    assert_eq!(sent["data"]["body"], "");
    assert_eq!(sent["data"]["attachments"], json!([deck]));
    let history = expect_status(app.get(&path).bearer_auth(&b), 200).await;
    assert_eq!(history["data"][0]["attachments"], json!([deck]));
    let inbox = expect_status(app.get("/v1/conversations").bearer_auth(&b), 200).await;
    assert_eq!(inbox["data"][0]["kind"], "direct");
    assert_eq!(
        inbox["data"][0]["last_message"]["attachments"],
        json!([deck])
    );

    // Only connections may start a conversation with c, once c says so.
    let settings = expect_status(app.get("/v1/me/settings/messaging").bearer_auth(&c), 200).await;
    assert_eq!(settings["data"], json!({ "direct_messages": "anyone" }));
    expect_status(
        app.put("/v1/me/settings/messaging")
            .bearer_auth(&c)
            .json(&json!({ "direct_messages": "connections" })),
        200,
    )
    .await;
    let refused = app
        .post("/v1/conversations")
        .bearer_auth(&a)
        .json(&json!({ "user_id": c_id }));
    expect_error(refused.send().await.unwrap(), 403, "connections_only").await;
    let unknown = app
        .put("/v1/me/settings/messaging")
        .bearer_auth(&c)
        .json(&json!({ "direct_messages": "nobody" }));
    assert_eq!(unknown.send().await.unwrap().status().as_u16(), 422);
    // Nor may a stranger put c in a group.
    let grouped = app
        .post("/v1/conversations/groups")
        .bearer_auth(&a)
        .json(&json!({ "title": "Expo crew", "member_ids": [b_id, c_id] }));
    expect_error(grouped.send().await.unwrap(), 403, "connections_only").await;
    expect_status(
        app.put("/v1/me/settings/messaging")
            .bearer_auth(&c)
            .json(&json!({ "direct_messages": "anyone" })),
        200,
    )
    .await;

    // Groups: details with roles, renaming and naming admins.
    let group = expect_status(
        app.post("/v1/conversations/groups")
            .bearer_auth(&a)
            .json(&json!({ "title": "Expo crew", "member_ids": [b_id, c_id] })),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rename = app
        .patch(&format!("/v1/conversations/{group}"))
        .bearer_auth(&b)
        .json(&json!({ "title": "Mine" }));
    expect_error(rename.send().await.unwrap(), 403, "not_admin").await;
    expect_status(
        app.put(&format!("/v1/conversations/{group}/members/{b_id}/role"))
            .bearer_auth(&a)
            .json(&json!({ "role": "admin" })),
        200,
    )
    .await;
    let renamed = expect_status(
        app.patch(&format!("/v1/conversations/{group}"))
            .bearer_auth(&b)
            .json(&json!({ "title": "Expo crew 2027" })),
        200,
    )
    .await;
    assert_eq!(renamed["data"]["title"], "Expo crew 2027");
    let details = expect_status(
        app.get(&format!("/v1/conversations/{group}"))
            .bearer_auth(&c),
        200,
    )
    .await;
    let roles: Vec<&str> = details["data"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "admin", "member"]);
    let demote = app
        .put(&format!("/v1/conversations/{group}/members/{c_id}/role"))
        .bearer_auth(&c)
        .json(&json!({ "role": "admin" }));
    expect_error(demote.send().await.unwrap(), 403, "not_admin").await;
    let outsider = app.token(UserRole::Member).await;
    let hidden = app
        .get(&format!("/v1/conversations/{group}"))
        .bearer_auth(&outsider);
    expect_error(hidden.send().await.unwrap(), 404, "not_found").await;
}
