//! Registration, sign-in, rotating refresh tokens, sessions and the caller's account.

use std::time::Duration;

use serde_json::json;
use vendrome_core::audit::AuditRepo;
use vendrome_core::page::Limit;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};

const PASSWORD: &str = "correct horse battery staple";

both_stores!(
    register_then_login,
    registration_is_validated,
    wrong_password_and_unknown_email_look_the_same,
    refresh_rotates_and_reuse_after_grace_revokes_the_family,
    concurrent_refreshes_within_grace_get_the_same_successor,
    logout_and_logout_all_end_sessions_at_once,
    sessions_are_listed_and_ended_one_by_one,
    refresh_token_can_travel_in_a_cookie,
    expired_sessions_cannot_refresh,
    profile_changes,
    password_change_ends_other_sessions
);

async fn register_then_login(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let data = app.register("Ada@Example.com", PASSWORD).await;
    assert_eq!(data["user"]["email"], "ada@example.com");
    assert_eq!(data["user"]["role"], "member");
    assert_eq!(data["token_type"], "Bearer");
    assert_eq!(data["expires_in"], 900);
    assert!(
        data["refresh_token"].as_str().unwrap().len() >= 43,
        "256 random bits"
    );

    let (status, me) = json(
        app.get("/v1/me")
            .bearer_auth(data["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &me["data"]["email"]),
        (200, &json!("ada@example.com"))
    );

    let (status, login) = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(status, 200, "{login}");
    assert_ne!(
        login["data"]["session_id"], data["session_id"],
        "a new session"
    );
    assert!(login["data"]["device_key"].is_string());

    let again = app
        .post("/v1/auth/register")
        .json(&json!({"email": "ADA@example.com", "password": PASSWORD, "display_name": "Ada"}));
    expect_error(again.send().await.unwrap(), 409, "email_taken").await;
}

async fn registration_is_validated(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let response = app
        .post("/v1/auth/register")
        .json(&json!({"email": "not-an-email", "password": "password1", "display_name": " "}))
        .send()
        .await
        .unwrap();
    let body = expect_error(response, 422, "validation_failed").await;
    let fields = &body["error"]["details"]["fields"];
    assert_eq!(fields["email"][0]["code"], "invalid_format", "{body}");
    assert_eq!(fields["password"][0]["code"], "too_common", "{body}");
    assert_eq!(fields["display_name"][0]["code"], "required", "{body}");

    let short = app
        .post("/v1/auth/register")
        .json(&json!({"email": "a@example.com", "password": "short", "display_name": "A"}));
    let body = expect_error(short.send().await.unwrap(), 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"]["password"][0]["code"],
        "too_short"
    );
    let long_ok = "a sixty-four character passphrase is allowed here, and more!!!!!";
    assert_eq!(long_ok.len(), 64);
    app.register("long@example.com", long_ok).await;
}

async fn wrong_password_and_unknown_email_look_the_same(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    app.register("ada@example.com", PASSWORD).await;
    let (wrong_status, wrong) = app.login("ada@example.com", "not the password").await;
    let (unknown_status, unknown) = app.login("nobody@example.com", "not the password").await;
    assert_eq!((wrong_status, unknown_status), (401, 401));
    assert_eq!(
        wrong["error"], unknown["error"],
        "the same code, message and details"
    );
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
}

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
    setup.policy.reuse_grace = Duration::from_millis(300);
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
    tokio::time::sleep(Duration::from_millis(400)).await;
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

async fn profile_changes(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let ada = app.register("ada@example.com", PASSWORD).await;
    let access = ada["access_token"].as_str().unwrap();
    let patch =
        |body: serde_json::Value| app.patch("/v1/me").bearer_auth(access).json(&body).send();

    let (status, me) = json(patch(json!({"display_name": "Ada L.", "handle": "Ada_L", "headline": "Analyst", "avatar_url": "https://cdn.example.com/ada.png"})).await.unwrap()).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["handle"], "ada_l");
    assert_eq!(me["data"]["headline"], "Analyst");
    let (_, me) = json(patch(json!({"headline": null})).await.unwrap()).await;
    assert!(me["data"]["headline"].is_null());
    assert_eq!(me["data"]["display_name"], "Ada L.", "absent fields stay");

    let bad = expect_error(
        patch(json!({"avatar_url": "javascript:alert(1)", "handle": "x"}))
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert!(
        bad["error"]["details"]["fields"]["avatar_url"].is_array()
            && bad["error"]["details"]["fields"]["handle"].is_array()
    );

    let bob = app.register("bob@example.com", PASSWORD).await;
    let taken = app
        .patch("/v1/me")
        .bearer_auth(bob["access_token"].as_str().unwrap())
        .json(&json!({"handle": "ada_l"}));
    expect_error(taken.send().await.unwrap(), 409, "handle_taken").await;

    expect_error(
        patch(json!({"email": "ada@new.example.com"}))
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    expect_error(
        patch(json!({"email": "ada@new.example.com", "current_password": "wrong"}))
            .await
            .unwrap(),
        403,
        "current_password_incorrect",
    )
    .await;
    expect_error(
        patch(json!({"email": "bob@example.com", "current_password": PASSWORD}))
            .await
            .unwrap(),
        409,
        "email_taken",
    )
    .await;
    let (status, me) = json(
        patch(json!({"email": "ada@new.example.com", "current_password": PASSWORD}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &me["data"]["email"], &me["data"]["email_verified"]),
        (200, &json!("ada@new.example.com"), &json!(false))
    );
    assert_eq!(app.login("ada@new.example.com", PASSWORD).await.0, 200);
}

async fn password_change_ends_other_sessions(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let first = app.register("ada@example.com", PASSWORD).await;
    let (_, second) = app.login("ada@example.com", PASSWORD).await;
    let access = first["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        app.post("/v1/me/password")
            .bearer_auth(access)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    expect_error(
        change("wrong", "a brand new passphrase").await.unwrap(),
        403,
        "current_password_incorrect",
    )
    .await;
    expect_error(
        change(PASSWORD, "password").await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let (status, _) = json(change(PASSWORD, "a brand new passphrase").await.unwrap()).await;
    assert_eq!(status, 200);

    assert_eq!(
        app.get("/v1/me")
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "this session lives on"
    );
    let other = second["data"]["access_token"].as_str().unwrap();
    expect_error(
        app.get("/v1/me").bearer_auth(other).send().await.unwrap(),
        401,
        "session_revoked",
    )
    .await;
    assert_eq!(app.login("ada@example.com", PASSWORD).await.0, 401);
    assert_eq!(
        app.login("ada@example.com", "a brand new passphrase")
            .await
            .0,
        200
    );

    let user = first["user"]["id"].as_str().unwrap();
    let audit = app
        .db
        .store
        .events_for_target("user", user, None, Limit::DEFAULT)
        .await
        .unwrap();
    assert!(audit
        .items
        .iter()
        .any(|e| e.action == "user.password_changed"));
}
