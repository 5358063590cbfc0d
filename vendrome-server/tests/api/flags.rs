//! `GET /v1/flags` and `PUT /v1/admin/flags/{name}`.

use serde_json::json;
use vendrome_core::audit::AuditRepo;
use vendrome_core::enums::UserRole;
use vendrome_core::page::Limit;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};
use crate::ws_client::Ws;

both_stores!(
    anonymous_callers_get_the_base_state,
    admins_change_flags_and_are_audited,
    members_may_not_change_flags,
    rollout_is_deterministic_per_user,
    cohorts_answer_for_the_caller,
    changes_need_a_reason_and_name_known_members,
    every_socket_hears_a_flag_change,
    metrics_count_requests_per_flag_state
);

async fn metrics_count_requests_per_flag_state(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let admin = app.token(UserRole::Admin).await;
    let (inside, inside_token) = app.user(UserRole::Member).await;
    let outside = app.token(UserRole::Member).await;
    let set = app
        .put("/v1/admin/flags/use_real_feed")
        .bearer_auth(&admin)
        .json(&json!({
            "enabled": true,
            "rollout_percent": 0,
            "cohorts": {"include_users": [inside]},
            "reason": "metrics canary",
        }));
    assert_eq!(set.send().await.unwrap().status(), 200);
    for token in [&inside_token, &outside] {
        let feed = app.get("/v1/feed").bearer_auth(token).send().await.unwrap();
        assert_eq!(feed.status(), 200);
    }
    app.get("/v1/posts").send().await.unwrap();
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = |route: &str, flag: &str, state: &str| {
        text.lines().any(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("flag=\"{flag}\""))
                && l.contains(&format!("flag_state=\"{state}\""))
        })
    };
    assert!(counted("/v1/feed", "use_real_feed", "on"), "{text}");
    assert!(counted("/v1/feed", "use_real_feed", "off"), "{text}");
    assert!(counted("/v1/posts", "none", "none"), "anonymous: {text}");
    assert!(
        !text.contains("flag=\"read_only\""),
        "only flags marked for metrics label requests"
    );
}

async fn every_socket_hears_a_flag_change(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.background = true;
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let admin = app.token(UserRole::Admin).await;
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let token = app.token(UserRole::Member).await;
        sockets.push(Ws::signed_in(&app, &token).await);
    }
    let set = app
        .put("/v1/admin/flags/use_real_messages")
        .bearer_auth(&admin)
        .json(&json!({"enabled": true, "rollout_percent": 20, "reason": "messages canary"}));
    assert_eq!(set.send().await.unwrap().status(), 200);
    for ws in &mut sockets {
        let frame = ws.expect("flags.changed").await;
        assert_eq!(
            (
                &frame["data"]["name"],
                &frame["data"]["enabled"],
                &frame["data"]["rollout_percent"]
            ),
            (&json!("use_real_messages"), &json!(true), &json!(20)),
            "{frame}"
        );
        assert!(frame["id"].is_string(), "{frame}");
    }
}

fn feed_of(body: &serde_json::Value) -> serde_json::Value {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "use_real_feed")
        .unwrap()
        .clone()
}

async fn cohorts_answer_for_the_caller(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let admin = app.token(UserRole::Admin).await;
    let (named, named_token) = app.user(UserRole::Member).await;
    let moderator = app.token(UserRole::Moderator).await;
    let member = app.token(UserRole::Member).await;
    // 0 %: only the named member, whatever the segments; moderators only for the percentage.
    let set = app
        .put("/v1/admin/flags/use_real_feed")
        .bearer_auth(&admin)
        .json(&json!({
            "enabled": true,
            "rollout_percent": 0,
            "cohorts": {"include_users": [named], "roles": ["moderator"]},
            "reason": "canary: one member",
        }));
    let (status, body) = json(set.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["active"], false, "the admin is not in it");
    assert_eq!(
        body["data"]["cohorts"],
        json!({"included_users": 1, "roles": ["moderator"], "levels": [], "countries": []})
    );

    for (token, active) in [(&named_token, true), (&moderator, false), (&member, false)] {
        let response = app
            .get("/v1/flags")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (_, body) = json(response).await;
        assert_eq!(feed_of(&body)["active"], active, "{body}");
        assert_eq!(
            feed_of(&body)["cohorts"]["included_users"],
            1,
            "named members are counted, never listed"
        );
    }
    // Anonymous callers get the base state, as before cohorts.
    let (_, anonymous) = json(app.get("/v1/flags").send().await.unwrap()).await;
    assert_eq!(feed_of(&anonymous)["active"], true);

    // At 100 %, the role segment admits the moderator and keeps the plain member out.
    let widen = app
        .put("/v1/admin/flags/use_real_feed")
        .bearer_auth(&admin)
        .json(&json!({"enabled": true, "rollout_percent": 100, "reason": "all moderators"}));
    assert_eq!(widen.send().await.unwrap().status(), 200);
    for (token, active) in [(&named_token, true), (&moderator, true), (&member, false)] {
        let response = app
            .get("/v1/flags")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(feed_of(&json(response).await.1)["active"], active);
    }
}

async fn changes_need_a_reason_and_name_known_members(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (admin, token) = app.user(UserRole::Admin).await;
    let put = |body: serde_json::Value| {
        app.put("/v1/admin/flags/use_real_feed")
            .bearer_auth(&token)
            .json(&body)
    };
    for (body, field) in [
        // A missing field is named by the body's reader.
        (json!({"enabled": true}), "body"),
        (json!({"enabled": true, "reason": "  "}), "reason"),
        (
            json!({"enabled": true, "reason": "x".repeat(501)}),
            "reason",
        ),
        (
            json!({"enabled": true, "reason": "r", "cohorts": {"countries": ["Kenya"]}}),
            "cohorts.countries",
        ),
        (
            json!({"enabled": true, "reason": "r", "cohorts": {"include_users": [vendrome_core::ids::UserId::new()]}}),
            "cohorts.include_users",
        ),
    ] {
        let refused = expect_error(
            put(body.clone()).send().await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert!(
            refused["error"]["details"]["fields"][field].is_array(),
            "{body} -> {refused}"
        );
    }
    let (_, listed) = json(app.get("/v1/flags").send().await.unwrap()).await;
    assert_eq!(feed_of(&listed)["enabled"], false, "nothing changed");

    let (status, _) = json(
        put(json!({"enabled": true, "rollout_percent": 5, "reason": "first canary step"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let audit = app
        .db
        .store
        .events_for_target("flag", "use_real_feed", None, Limit::DEFAULT)
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    let event = &audit.items[0];
    assert_eq!(event.actor_id, Some(admin));
    assert_eq!(event.details["reason"], "first canary step");
    assert_eq!(event.details["before"]["enabled"], false);
    assert_eq!(event.details["after"]["enabled"], true);
    assert_eq!(event.details["after"]["rollout_percent"], 5);
}

async fn anonymous_callers_get_the_base_state(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (status, body) = json(app.get("/v1/flags").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let flags = body["data"].as_array().unwrap();
    assert_eq!(flags.len(), 8);
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
        .json(&json!({"enabled": true, "rollout_percent": 100, "reason": "cut-over"}))
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
        .json(&json!({"enabled": true, "reason": "r"}));
    expect_error(unknown.send().await.unwrap(), 404, "not_found").await;
    let invalid_name = app
        .put("/v1/admin/flags/Not%20A%20Name")
        .bearer_auth(&token)
        .json(&json!({"enabled": true, "reason": "r"}));
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
            .json(&json!({"enabled": true, "reason": "r"}))
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
        .json(&json!({"enabled": true, "rollout_percent": 50, "reason": "half"}));
    assert_eq!(set.send().await.unwrap().status(), 200);
    // JSON Schema counts 50.0 an integer; a fraction is refused.
    for (percent, status) in [(json!(50.0), 200), (json!(50.5), 422)] {
        let set = app
            .put("/v1/admin/flags/use_real_feed")
            .bearer_auth(&admin)
            .json(&json!({"enabled": true, "rollout_percent": percent, "reason": "half"}));
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
