//! Sessions: rotating refresh tokens, reuse detection, sign-out, listing, cookies, expiry.

use std::time::Duration;

use serde_json::json;
use vendrome_core::audit::AuditRepo;
use vendrome_core::page::Limit;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};

const PASSWORD: &str = "correct horse battery staple";

both_stores!(
    refresh_rotates_and_reuse_after_grace_revokes_the_family,
    concurrent_refreshes_within_grace_get_the_same_successor,
    logout_and_logout_all_end_sessions_at_once,
    sessions_are_listed_and_ended_one_by_one,
    refresh_token_can_travel_in_a_cookie,
    expired_sessions_cannot_refresh,
);

async fn refresh(app: &crate::support::TestApp, token: &str) -> (u16, serde_json::Value) {
    json(
        app.post("/v1/auth/refresh")
            .json(&json!({ "refresh_token": token }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn refresh_rotates_and_reuse_after_grace_revokes_the_family(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.policy.reuse_grace = Duration::from_millis(1_000);
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let first = app.register("ada@example.com", PASSWORD).await;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, second) = refresh(&app, &r0).await;
    assert_eq!(status, 200, "{second}");
    let r1 = second["data"]["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r0, "every refresh rotates");
    assert_eq!(
        second["data"]["session_id"], first["session_id"],
        "the same session"
    );

    // Within the grace window the rotated token gets the same successor.
    let (status, again) = refresh(&app, &r0).await;
    assert_eq!(
        (status, again["data"]["refresh_token"].as_str()),
        (200, Some(r1.as_str()))
    );

    // After it, presenting the rotated token again ends the whole family.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, reuse) = refresh(&app, &r0).await;
    assert_eq!(
        (status, reuse["error"]["code"].as_str()),
        (401, Some("session_revoked")),
        "{reuse}"
    );
    let (status, successor) = refresh(&app, &r1).await;
    assert_eq!(
        (status, successor["error"]["code"].as_str()),
        (401, Some("session_revoked")),
        "the successor died too"
    );
    let access = second["data"]["access_token"].as_str().unwrap();
    expect_error(
        app.get("/v1/me").bearer_auth(access).send().await.unwrap(),
        401,
        "session_revoked",
    )
    .await;

    let audit = app
        .db
        .store
        .events_for_target(
            "session",
            first["session_id"].as_str().unwrap(),
            None,
            Limit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(audit.items[0].details["reason"], "refresh_token_reused");

    let (status, garbage) = refresh(&app, "not-a-token").await;
    assert_eq!(
        (status, garbage["error"]["code"].as_str()),
        (401, Some("refresh_token_invalid"))
    );
}

async fn concurrent_refreshes_within_grace_get_the_same_successor(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let first = app.register("ada@example.com", PASSWORD).await;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    let app = std::sync::Arc::new(app);
    let tabs: Vec<_> = (0..5)
        .map(|_| {
            let (app, r0) = (app.clone(), r0.clone());
            tokio::spawn(async move { refresh(&app, &r0).await })
        })
        .collect();
    let mut successors = Vec::new();
    for tab in tabs {
        let (status, body) = tab.await.unwrap();
        assert_eq!(status, 200, "{body}");
        successors.push(body["data"]["refresh_token"].as_str().unwrap().to_owned());
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "every tab got the same successor");
    let (status, _) = refresh(&app, &successors[0]).await;
    assert_eq!(status, 200, "and it works");
}

async fn logout_and_logout_all_end_sessions_at_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let first = app.register("ada@example.com", PASSWORD).await;
    let (_, second) = app.login("ada@example.com", PASSWORD).await;
    let (_, third) = app.login("ada@example.com", PASSWORD).await;
    let token = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap().to_owned();

    let a1 = token(&first, "access_token");
    let (status, _) = json(
        app.post("/v1/auth/logout")
            .bearer_auth(&a1)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    expect_error(
        app.get("/v1/me").bearer_auth(&a1).send().await.unwrap(),
        401,
        "session_revoked",
    )
    .await;
    let (status, _) = refresh(&app, &token(&first, "refresh_token")).await;
    assert_eq!(status, 401);

    let a2 = token(&second["data"], "access_token");
    assert_eq!(
        app.get("/v1/me")
            .bearer_auth(&a2)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "other sessions live on"
    );
    let (status, ended) = json(
        app.post("/v1/auth/logout-all")
            .bearer_auth(&a2)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, ended["data"]["ended_sessions"].as_u64()),
        (200, Some(2))
    );
    for session in [&second["data"], &third["data"]] {
        expect_error(
            app.get("/v1/me")
                .bearer_auth(token(session, "access_token"))
                .send()
                .await
                .unwrap(),
            401,
            "session_revoked",
        )
        .await;
    }
}

async fn sessions_are_listed_and_ended_one_by_one(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let first = app.register("ada@example.com", PASSWORD).await;
    let (_, second) = app.login("ada@example.com", PASSWORD).await;
    let access = first["access_token"].as_str().unwrap();
    let response = app
        .get("/v1/auth/sessions")
        .bearer_auth(access)
        .header("user-agent", "tests/1.0")
        .send()
        .await
        .unwrap();
    let (status, list) = json(response).await;
    assert_eq!(status, 200);
    let sessions = list["data"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], first["session_id"]);
    assert_eq!(current[0]["ip"], "127.0.0.1");

    let other = second["data"]["session_id"].as_str().unwrap();
    let (status, _) = json(
        app.delete(&format!("/v1/auth/sessions/{other}"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let second_access = second["data"]["access_token"].as_str().unwrap();
    expect_error(
        app.get("/v1/me")
            .bearer_auth(second_access)
            .send()
            .await
            .unwrap(),
        401,
        "session_revoked",
    )
    .await;
    expect_error(
        app.delete(&format!("/v1/auth/sessions/{other}"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.delete("/v1/auth/sessions/not-an-id")
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // Someone else's session is not found, not ended.
    let mallory = app.register("mallory@example.com", PASSWORD).await;
    let mine = first["session_id"].as_str().unwrap();
    let attempt = app
        .delete(&format!("/v1/auth/sessions/{mine}"))
        .bearer_auth(mallory["access_token"].as_str().unwrap());
    expect_error(attempt.send().await.unwrap(), 404, "not_found").await;
    assert_eq!(
        app.get("/v1/me")
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn refresh_token_can_travel_in_a_cookie(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    app.register("ada@example.com", PASSWORD).await;
    let response = app
        .post("/v1/auth/login")
        .header("x-refresh-token-transport", "cookie")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "vendrome_refresh=",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/v1/auth",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let (_, body) = json(response).await;
    assert!(
        body["data"]["refresh_token"].is_null(),
        "not in the body: {body}"
    );

    let pair = cookie.split(';').next().unwrap().to_owned();
    let refreshed = app
        .post("/v1/auth/refresh")
        .header("x-refresh-token-transport", "cookie")
        .header("cookie", &pair)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let next = refreshed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(next.split(';').next().unwrap(), pair, "rotated");
}

async fn expired_sessions_cannot_refresh(backend: Backend) {
    // Unused for longer than the inactivity timeout…
    let mut idle = Setup::new(backend);
    idle.policy.idle_timeout = Duration::from_millis(500);
    // …or older than the absolute lifetime, however busy.
    let mut old = Setup::new(backend);
    old.policy.absolute_lifetime = Duration::from_millis(900);
    for setup in [idle, old] {
        let Some(app) = spawn_with(setup).await else {
            return;
        };
        let first = app.register("ada@example.com", PASSWORD).await;
        let mut token = first["refresh_token"].as_str().unwrap().to_owned();
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (status, body) = refresh(&app, &token).await;
            if status != 200 {
                assert_eq!(
                    (status, body["error"]["code"].as_str()),
                    (401, Some("session_expired")),
                    "{body}"
                );
                break;
            }
            token = body["data"]["refresh_token"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (status, body) = refresh(&app, &token).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("session_expired")),
            "{body}"
        );
    }
}
