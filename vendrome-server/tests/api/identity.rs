//! Registration, sign-in and the caller's account.

use serde_json::json;
use vendrome_core::audit::AuditRepo;
use vendrome_core::page::Limit;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};

const PASSWORD: &str = "correct horse battery staple";

both_stores!(
    register_then_login,
    registration_is_validated,
    wrong_password_and_unknown_email_look_the_same,
    profile_changes,
    password_change_ends_other_sessions,
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
