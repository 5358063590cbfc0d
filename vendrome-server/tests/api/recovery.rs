//! Address verification and password reset by mailed single-use links.

use std::time::Duration;

use serde_json::json;
use vendrome_core::rate_limit::Rule;

use crate::support::{expect_error, expect_status, json, spawn_with, succeed, Backend, Setup};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase";

both_stores!(
    an_address_is_verified_once_by_its_link,
    a_link_to_an_old_address_verifies_nothing,
    a_password_reset_ends_every_session,
    mail_requests_are_rate_limited,
);

async fn an_address_is_verified_once_by_its_link(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let ada = app.register("ada@example.com", PASSWORD).await;
    assert_eq!(ada["user"]["email_verified"], false);
    let token = ada["access_token"].as_str().unwrap();

    let requested = expect_status(
        app.post("/v1/auth/email/verify-request").bearer_auth(token),
        202,
    )
    .await;
    assert_eq!(requested["data"]["sent"], true);
    let mail = app.mail.sent().pop().unwrap();
    assert_eq!(mail.to, "ada@example.com");
    let link = mail.link.unwrap();
    assert!(
        link.starts_with("https://app.example.com/verify-email?token="),
        "{link}"
    );
    let secret = app.mailed_token("ada@example.com").await;

    let verified = succeed(
        app.post("/v1/auth/email/verify")
            .json(&json!({ "token": secret })),
    )
    .await;
    assert_eq!(verified["data"]["email_verified"], true, "{verified}");
    let (_, me) = json(app.get("/v1/me").bearer_auth(token).send().await.unwrap()).await;
    assert_eq!(me["data"]["email_verified"], true);

    // Single use; and nothing is sent for an address verified already.
    let again = expect_error(
        app.post("/v1/auth/email/verify")
            .json(&json!({ "token": secret }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        again["error"]["details"]["fields"]["token"][0]["code"],
        "token_invalid"
    );
    let requested = expect_status(
        app.post("/v1/auth/email/verify-request").bearer_auth(token),
        202,
    )
    .await;
    assert_eq!(requested["data"]["sent"], false);
    assert_eq!(app.mail.sent().len(), 1);

    expect_error(
        app.post("/v1/auth/email/verify")
            .json(&json!({ "token": "forged" }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    expect_error(
        app.post("/v1/auth/email/verify-request")
            .send()
            .await
            .unwrap(),
        401,
        "token_missing",
    )
    .await;
}

async fn a_link_to_an_old_address_verifies_nothing(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let ada = app.register("ada@example.com", PASSWORD).await;
    let token = ada["access_token"].as_str().unwrap();
    expect_status(
        app.post("/v1/auth/email/verify-request").bearer_auth(token),
        202,
    )
    .await;
    let secret = app.mailed_token("ada@example.com").await;
    succeed(
        app.patch("/v1/me")
            .bearer_auth(token)
            .json(&json!({"email": "ada@elsewhere.example", "current_password": PASSWORD})),
    )
    .await;

    expect_error(
        app.post("/v1/auth/email/verify")
            .json(&json!({ "token": secret }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let (_, me) = json(app.get("/v1/me").bearer_auth(token).send().await.unwrap()).await;
    assert_eq!(me["data"]["email_verified"], false);
}

async fn a_password_reset_ends_every_session(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let ada = app.register("ada@example.com", PASSWORD).await;
    let access = ada["access_token"].as_str().unwrap();
    let refresh = ada["refresh_token"].as_str().unwrap();
    let (_, other_device) = app.login("ada@example.com", PASSWORD).await;
    let other_access = other_device["data"]["access_token"].as_str().unwrap();

    // The same answer for an address without an account.
    let request = |email: &str| {
        app.post("/v1/auth/password-reset/request")
            .json(&json!({ "email": email }))
    };
    let unknown = expect_status(request("nobody@example.com"), 202).await;
    let known = expect_status(request("ada@example.com"), 202).await;
    assert_eq!(unknown["data"], known["data"]);
    let secret = app.mailed_token("ada@example.com").await;
    assert!(
        app.mail.sent().iter().all(|m| m.to != "nobody@example.com"),
        "no mail to an address without an account"
    );
    assert!(
        app.mail.sent().iter().all(|m| !m.text.contains(PASSWORD)),
        "no password in mail"
    );

    // The policy applies to the new password, before the token is spent.
    expect_error(
        app.post("/v1/auth/password-reset")
            .json(&json!({ "token": secret, "new_password": "password" }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let (status, reset) = json(
        app.post("/v1/auth/password-reset")
            .json(&json!({ "token": secret, "new_password": NEW_PASSWORD }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{reset}");
    assert!(
        reset["data"]["ended_sessions"].as_u64().unwrap() >= 2,
        "{reset}"
    );

    for token in [access, other_access] {
        expect_error(
            app.get("/v1/me").bearer_auth(token).send().await.unwrap(),
            401,
            "session_revoked",
        )
        .await;
    }
    expect_error(
        app.post("/v1/auth/refresh")
            .json(&json!({ "refresh_token": refresh }))
            .send()
            .await
            .unwrap(),
        401,
        "session_revoked",
    )
    .await;
    assert_eq!(app.login("ada@example.com", PASSWORD).await.0, 401);
    let (status, login) = app.login("ada@example.com", NEW_PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(
        login["data"]["user"]["email_verified"], true,
        "the link proved the address"
    );

    // Single use.
    expect_error(
        app.post("/v1/auth/password-reset")
            .json(&json!({ "token": secret, "new_password": "yet another passphrase" }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
}

async fn mail_requests_are_rate_limited(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.policy.limits.mail_per_ip = Rule {
        name: "account_mail_ip",
        limit: 2,
        window: Duration::from_secs(60),
    };
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let ada = app.register("ada@example.com", PASSWORD).await;
    let token = ada["access_token"].as_str().unwrap();
    expect_status(
        app.post("/v1/auth/email/verify-request").bearer_auth(token),
        202,
    )
    .await;
    expect_status(
        app.post("/v1/auth/password-reset/request")
            .json(&json!({ "email": "ada@example.com" })),
        202,
    )
    .await;
    expect_error(
        app.post("/v1/auth/password-reset/request")
            .json(&json!({ "email": "ada@example.com" }))
            .send()
            .await
            .unwrap(),
        429,
        "rate_limited",
    )
    .await;
    expect_error(
        app.post("/v1/auth/email/verify-request")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
        429,
        "rate_limited",
    )
    .await;
}
