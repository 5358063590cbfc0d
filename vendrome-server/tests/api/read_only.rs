//! Read-only mode: the `read_only` flag (or `--read-only`) refuses writes with 503 `read_only`
//! and keeps reads, the token refresh and the flag switch working.

use serde_json::json;
use vendrome_core::enums::UserRole;
use vendrome_server::Config;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};

both_stores!(
    the_flag_refuses_writes_and_keeps_reads,
    a_switch_made_elsewhere_holds_within_a_second,
    started_read_only_refuses_writes
);

async fn the_flag_refuses_writes_and_keeps_reads(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, admin) = app.user(UserRole::Admin).await;
    let registered = app
        .register("reader@example.com", "a reader's passphrase")
        .await;
    let member = registered["access_token"].as_str().unwrap().to_owned();
    let refresh = registered["refresh_token"].as_str().unwrap().to_owned();
    let write = || {
        app.post("/v1/posts")
            .bearer_auth(&member)
            .json(&json!({"body": "a post"}))
    };
    let (status, _) = json(write().send().await.unwrap()).await;
    assert_eq!(status, 201);

    let switch = |enabled: bool| {
        app.put("/v1/admin/flags/read_only")
            .bearer_auth(&admin)
            .json(&json!({ "enabled": enabled, "reason": "maintenance" }))
    };
    let (status, body) = json(switch(true).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");

    let refused = write().send().await.unwrap();
    assert_eq!(
        refused.headers().get("retry-after").unwrap(),
        &vendrome_server::read_only::RETRY_AFTER_SECS.to_string()
    );
    expect_error(refused, 503, "read_only").await;
    for request in [
        app.patch("/v1/me")
            .bearer_auth(&member)
            .json(&json!({"display_name": "Renamed"})),
        app.delete("/v1/posts/0190a000-0000-7000-8000-000000000001")
            .bearer_auth(&member),
        app.post("/v1/auth/register").json(&json!({
            "email": "late@example.com", "password": "a late passphrase", "display_name": "Late"
        })),
    ] {
        expect_error(request.send().await.unwrap(), 503, "read_only").await;
    }

    // Reads, the token refresh and the flag switch keep working.
    let (status, feed) = json(
        app.get("/v1/feed")
            .bearer_auth(&member)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(feed["data"].as_array().unwrap().len(), 1);
    let (status, body) = json(
        app.post("/v1/auth/refresh")
            .json(&json!({ "refresh_token": refresh }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, flags) = json(app.get("/v1/flags").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(flags["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "read_only" && f["enabled"] == true));

    let (status, _) = json(switch(false).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, _) = json(write().send().await.unwrap()).await;
    assert_eq!(status, 201);
}

async fn started_read_only_refuses_writes(backend: Backend) {
    let setup = Setup {
        config: Config {
            read_only: true,
            ..Config::default()
        },
        ..Setup::new(backend)
    };
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    // Users made through the store: registration itself is a write.
    let (_, admin) = app.user(UserRole::Admin).await;
    let (status, _) = json(app.get("/v1/me").bearer_auth(&admin).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let post = || {
        app.post("/v1/posts")
            .bearer_auth(&admin)
            .json(&json!({"body": "a post"}))
    };
    expect_error(post().send().await.unwrap(), 503, "read_only").await;
    // The flag being off does not end a mode forced at start.
    let (status, _) = json(
        app.put("/v1/admin/flags/read_only")
            .bearer_auth(&admin)
            .json(&json!({"enabled": false, "reason": "maintenance over"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    expect_error(post().send().await.unwrap(), 503, "read_only").await;
}

/// A switch made elsewhere (another instance, `vendrome flags set`) reaches this instance when
/// what it read of the flag is a second old: a write just before it is taken, writes are refused
/// from then on, and switching back lets them through again.
async fn a_switch_made_elsewhere_holds_within_a_second(backend: Backend) {
    use std::time::{Duration, Instant};
    use vendrome_core::flags::{ChangeReason, FlagName, FlagRepo as _, FlagUpdate};

    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, member) = app.user(UserRole::Member).await;
    let write = || {
        app.post("/v1/posts")
            .bearer_auth(&member)
            .json(&json!({"body": "a post"}))
    };
    let switch = |enabled: bool| {
        let store = app.db.store.clone();
        async move {
            store
                .update_flag(
                    &FlagName::parse(vendrome_server::read_only::FLAG).unwrap(),
                    FlagUpdate {
                        enabled,
                        rollout_percent: None,
                        cohorts: None,
                        reason: ChangeReason::parse("maintenance elsewhere").unwrap(),
                    },
                    &vendrome_core::audit::AuditContext::cli(),
                )
                .await
                .unwrap();
        }
    };
    // Until the switch shows, writes go through; it must show within the flag's freshness.
    let statuses = |want: u16| {
        let write = &write;
        async move {
            let deadline =
                Instant::now() + vendrome_server::read_only::FRESH + Duration::from_secs(4);
            loop {
                let (status, _) = json(write().send().await.unwrap()).await;
                if status == want {
                    return;
                }
                assert!(Instant::now() < deadline, "still {status}, not {want}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    statuses(201).await;
    switch(true).await;
    statuses(503).await;
    expect_error(write().send().await.unwrap(), 503, "read_only").await;
    switch(false).await;
    statuses(201).await;
}
