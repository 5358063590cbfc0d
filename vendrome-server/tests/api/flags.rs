//! `GET /v1/flags` and `PUT /v1/admin/flags/{name}`.

use serde_json::json;
use vendrome_core::audit::AuditRepo;
use vendrome_core::enums::UserRole;
use vendrome_core::page::Limit;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};

both_stores!(
    anonymous_callers_get_the_base_state,
    admins_change_flags_and_are_audited,
    members_may_not_change_flags,
    rollout_is_deterministic_per_user
);

async fn anonymous_callers_get_the_base_state(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (status, body) = json(app.get("/v1/flags").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let flags = body["data"].as_array().unwrap();
    assert_eq!(flags.len(), 7);
    assert!(
        flags
            .iter()
            .all(|f| f["enabled"] == false && f["active"] == false),
        "{body}"
    );
}

async fn admins_change_flags_and_are_audited(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (admin, token) = app.user(UserRole::Admin).await;
    let response = app
        .put("/v1/admin/flags/use_real_auth")
        .bearer_auth(&token)
        .json(&json!({"enabled": true, "rollout_percent": 100}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["enabled"], true);
    assert_eq!(body["data"]["active"], true);

    let (_, listed) = json(app.get("/v1/flags").send().await.unwrap()).await;
    let auth = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "use_real_auth")
        .unwrap()
        .clone();
    assert_eq!(
        (auth["enabled"].as_bool(), auth["active"].as_bool()),
        (Some(true), Some(true))
    );

    let audit = app
        .db
        .store
        .events_for_target("flag", "use_real_auth", None, Limit::DEFAULT)
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].actor_id, Some(admin));
    assert_eq!(audit.items[0].ip.as_deref(), Some("127.0.0.1"));
    assert!(audit.items[0].request_id.is_some());

    let unknown = app
        .put("/v1/admin/flags/no_such_flag")
        .bearer_auth(&token)
        .json(&json!({"enabled": true}));
    expect_error(unknown.send().await.unwrap(), 404, "not_found").await;
    let invalid_name = app
        .put("/v1/admin/flags/Not%20A%20Name")
        .bearer_auth(&token)
        .json(&json!({"enabled": true}));
    expect_error(invalid_name.send().await.unwrap(), 404, "not_found").await;
}

async fn members_may_not_change_flags(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    for role in [UserRole::Member, UserRole::Moderator] {
        let response = app
            .put("/v1/admin/flags/use_real_auth")
            .bearer_auth(app.token(role).await)
            .json(&json!({"enabled": true}))
            .send()
            .await
            .unwrap();
        expect_error(response, 403, "admin_only").await;
    }
    let (_, listed) = json(app.get("/v1/flags").send().await.unwrap()).await;
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["enabled"] == false),
        "nothing changed"
    );
}

async fn rollout_is_deterministic_per_user(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let admin = app.token(UserRole::Admin).await;
    let set = app
        .put("/v1/admin/flags/use_real_feed")
        .bearer_auth(&admin)
        .json(&json!({"enabled": true, "rollout_percent": 50}));
    assert_eq!(set.send().await.unwrap().status(), 200);
    // JSON Schema counts 50.0 an integer; a fraction is refused.
    for (percent, status) in [(json!(50.0), 200), (json!(50.5), 422)] {
        let set = app
            .put("/v1/admin/flags/use_real_feed")
            .bearer_auth(&admin)
            .json(&json!({"enabled": true, "rollout_percent": percent}));
        assert_eq!(set.send().await.unwrap().status(), status, "{percent}");
    }

    let mut on = 0;
    for _ in 0..40 {
        let token = app.token(UserRole::Member).await;
        let active = |body: serde_json::Value| {
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == "use_real_feed")
                .unwrap()["active"]
                .clone()
        };
        let first = active(
            json(
                app.get("/v1/flags")
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
            .1,
        );
        let again = active(
            json(
                app.get("/v1/flags")
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
            .1,
        );
        assert_eq!(first, again, "the same user gets the same answer");
        on += usize::from(first == true);
    }
    assert!(
        (5..=35).contains(&on),
        "a 50 % rollout reached {on} of 40 users"
    );
}
