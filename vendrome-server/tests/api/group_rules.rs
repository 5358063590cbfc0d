//! Groups respect blocks and messaging settings like direct conversations do, and their roles
//! hold: only the owner removes admins, and the owner hands the group over before leaving.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::UserId;

use crate::support::{expect_error, expect_status, spawn_with, Backend, Setup, TestApp};

both_stores!(
    group_adds_respect_blocks_and_settings,
    admins_and_owners_keep_their_places
);

async fn create_group(app: &TestApp, token: &str, members: &[UserId]) -> reqwest::Response {
    app.post("/v1/conversations/groups")
        .bearer_auth(token)
        .json(&json!({ "title": "Expo crew", "member_ids": members }))
        .send()
        .await
        .unwrap()
}

async fn add(app: &TestApp, token: &str, group: &str, member: UserId) -> reqwest::Response {
    app.put(&format!("/v1/conversations/{group}/members/{member}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn group_adds_respect_blocks_and_settings(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (a_id, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    let (c_id, c) = app.user(UserRole::Member).await;
    let (other_id, _) = app.user(UserRole::Member).await;
    // b blocks a: a may neither put b in a new group nor add b to one, and b may not add a.
    expect_status(
        app.put(&format!("/v1/users/{a_id}/block")).bearer_auth(&b),
        200,
    )
    .await;
    expect_error(
        create_group(&app, &a, &[b_id, other_id]).await,
        403,
        "blocked",
    )
    .await;
    let created = expect_status(
        app.post("/v1/conversations/groups")
            .bearer_auth(&a)
            .json(&json!({ "title": "Expo crew", "member_ids": [other_id] })),
        201,
    )
    .await;
    let group = created["data"]["id"].as_str().unwrap().to_owned();
    expect_error(add(&app, &a, &group, b_id).await, 403, "blocked").await;
    let b_group: Value = expect_status(
        app.post("/v1/conversations/groups")
            .bearer_auth(&b)
            .json(&json!({ "title": "Mine", "member_ids": [other_id] })),
        201,
    )
    .await;
    let b_group = b_group["data"]["id"].as_str().unwrap().to_owned();
    expect_error(add(&app, &b, &b_group, a_id).await, 403, "blocked").await;

    // c takes conversations from connections only: a, a stranger, may not add c until connected.
    expect_status(
        app.put("/v1/me/settings/messaging")
            .bearer_auth(&c)
            .json(&json!({ "direct_messages": "connections" })),
        200,
    )
    .await;
    expect_error(add(&app, &a, &group, c_id).await, 403, "connections_only").await;
    expect_error(
        create_group(&app, &a, &[c_id]).await,
        403,
        "connections_only",
    )
    .await;
    app.connect(&a, c_id, &c).await;
    expect_status(
        app.put(&format!("/v1/conversations/{group}/members/{c_id}"))
            .bearer_auth(&a),
        200,
    )
    .await;
    let members = expect_status(
        app.get(&format!("/v1/conversations/{group}"))
            .bearer_auth(&a),
        200,
    )
    .await;
    let ids: Vec<&str> = members["data"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&c_id.to_string().as_str()));
    assert!(!ids.contains(&b_id.to_string().as_str()));
}

async fn set_role(
    app: &TestApp,
    token: &str,
    group: &str,
    member: UserId,
    role: &str,
) -> reqwest::Response {
    app.put(&format!("/v1/conversations/{group}/members/{member}/role"))
        .bearer_auth(token)
        .json(&json!({ "role": role }))
        .send()
        .await
        .unwrap()
}

async fn remove(app: &TestApp, token: &str, group: &str, member: UserId) -> reqwest::Response {
    app.delete(&format!("/v1/conversations/{group}/members/{member}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn admins_and_owners_keep_their_places(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (owner_id, owner) = app.user(UserRole::Member).await;
    let (x_id, x) = app.user(UserRole::Member).await;
    let (y_id, y) = app.user(UserRole::Member).await;
    let (z_id, _) = app.user(UserRole::Member).await;
    let created = expect_status(
        app.post("/v1/conversations/groups")
            .bearer_auth(&owner)
            .json(&json!({ "title": "Crew", "member_ids": [x_id, y_id, z_id] })),
        201,
    )
    .await;
    let group = created["data"]["id"].as_str().unwrap().to_owned();
    for admin in [x_id, y_id] {
        assert_eq!(
            set_role(&app, &owner, &group, admin, "admin")
                .await
                .status(),
            200
        );
    }
    // An admin removes members, but not another admin: only the owner does.
    expect_error(remove(&app, &x, &group, y_id).await, 403, "not_owner").await;
    assert_eq!(remove(&app, &x, &group, z_id).await.status(), 200);
    // Nobody but the owner hands the group over.
    expect_error(
        set_role(&app, &x, &group, y_id, "owner").await,
        403,
        "not_owner",
    )
    .await;
    // The owner cannot leave the group without an owner.
    expect_error(
        remove(&app, &owner, &group, owner_id).await,
        409,
        "owner_must_transfer",
    )
    .await;
    assert_eq!(
        set_role(&app, &owner, &group, x_id, "owner").await.status(),
        200
    );
    let details = expect_status(
        app.get(&format!("/v1/conversations/{group}"))
            .bearer_auth(&y),
        200,
    )
    .await;
    let roles: Vec<(String, String)> = details["data"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles[0],
        (x_id.to_string(), "owner".to_owned()),
        "{roles:?}"
    );
    assert!(roles.contains(&(owner_id.to_string(), "admin".to_owned())));
    assert_eq!(roles.iter().filter(|(_, r)| r == "owner").count(), 1);
    // The former owner, an admin now, may leave; the new owner removes an admin.
    expect_error(
        set_role(&app, &owner, &group, x_id, "member").await,
        403,
        "owner",
    )
    .await;
    assert_eq!(remove(&app, &x, &group, y_id).await.status(), 200);
    assert_eq!(remove(&app, &owner, &group, owner_id).await.status(), 200);
}
