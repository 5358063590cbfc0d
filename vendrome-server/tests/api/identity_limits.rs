//! Rate limits on sign-in: 429 with Retry-After, and slowing guessers without locking owners out.

use std::time::Duration;

use serde_json::json;
use vendrome_core::rate_limit::Rule;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};

const PASSWORD: &str = "correct horse battery staple";

fn rule(name: &'static str, limit: u32) -> Rule {
    Rule {
        name,
        limit,
        window: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn too_many_attempts_from_one_address_get_429_with_retry_after() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.policy.limits.login_per_ip = rule("login_ip", 3);
    setup.policy.limits.register_per_ip = rule("register_ip", 2);
    setup.policy.limits.refresh_per_ip = rule("refresh_ip", 2);
    let app = spawn_with(setup).await.unwrap();

    app.register("ada@example.com", PASSWORD).await;
    app.register("bob@example.com", PASSWORD).await;
    let third = app
        .post("/v1/auth/register")
        .json(&json!({"email": "c@example.com", "password": PASSWORD, "display_name": "C"}));
    let response = third.send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body = expect_error(response, 429, "rate_limited").await;
    assert_eq!(body["error"]["details"]["retry_after_seconds"], retry_after);

    for _ in 0..3 {
        app.login("ada@example.com", "wrong password").await;
    }
    let (status, body) = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );

    for _ in 0..2 {
        app.post("/v1/auth/refresh")
            .json(&json!({"refresh_token": "x"}))
            .send()
            .await
            .unwrap();
    }
    let refused = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh_token": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(refused, 429, "rate_limited").await;
}

both_stores!(
    guessing_is_slowed_without_locking_the_owner_out,
    password_checks_of_signed_in_callers_share_the_budget,
    concurrent_guesses_never_pass_the_budget,
);

async fn guessing_is_slowed_without_locking_the_owner_out(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.policy.limits.account_failures = rule("login_account_failures", 3);
    setup.policy.limits.device_failures = rule("login_device_failures", 2);
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    app.register("ada@example.com", PASSWORD).await;
    // The owner signed in on their laptop before, which handed it a device key.
    let (_, laptop) = app.login("ada@example.com", PASSWORD).await;
    let device_key = laptop["data"]["device_key"].as_str().unwrap().to_owned();

    // An attacker burns the account's budget for unknown clients…
    for _ in 0..3 {
        assert_eq!(app.login("ada@example.com", "guess").await.0, 401);
    }
    let (status, _) = app.login("ada@example.com", "guess").await;
    assert_eq!(status, 429, "no more guesses this hour");
    let (status, _) = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(
        status, 429,
        "unknown clients wait, even with the right password"
    );

    // …but the owner's device still signs in.
    let login = |password: &str, key: &str| {
        app.post("/v1/auth/login")
            .json(&json!({"email": "ada@example.com", "password": password, "device_key": key}))
            .send()
    };
    let (status, body) = json(login(PASSWORD, &device_key).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["device_key"],
        device_key.as_str(),
        "the device keeps its key"
    );

    // A forged or foreign device key is an unknown client.
    let (status, _) = json(login(PASSWORD, "forged.0000").await.unwrap()).await;
    assert_eq!(status, 429);

    // A known device has a budget of its own.
    for _ in 0..2 {
        assert_eq!(
            json(login("guess", &device_key).await.unwrap()).await.0,
            401
        );
    }
    assert_eq!(
        json(login(PASSWORD, &device_key).await.unwrap()).await.0,
        429
    );

    // Unknown emails are limited the same way, so the limit tells nothing about existence.
    for _ in 0..3 {
        assert_eq!(app.login("nobody@example.com", "guess").await.0, 401);
    }
    assert_eq!(app.login("nobody@example.com", "guess").await.0, 429);
}

/// Two instances with their rate limits in one Valkey share the budget: a guesser gains nothing
/// by spreading attempts over instances.
#[tokio::test]
async fn instances_sharing_valkey_share_the_budget() {
    let url = std::env::var("VENDROME_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let limiter = match vendrome_store::ephemeral::ValkeyRateLimiter::connect(&url).await {
        Ok(limiter) => std::sync::Arc::new(limiter),
        Err(error) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and Valkey at {url} is unreachable: {error}")
        }
        Err(error) => {
            eprintln!("\n*** SKIPPED a Valkey test: {url} is unreachable ({error}) ***\n");
            return;
        }
    };
    // A rule name of this run only, so that earlier runs' counters do not count.
    let name: &'static str =
        Box::leak(format!("login_ip_{}", uuid::Uuid::new_v4().simple()).into_boxed_str());
    let instance = || {
        let mut setup = Setup::new(Backend::Sqlite);
        setup.policy.limits.login_per_ip = Rule {
            name,
            limit: 3,
            window: Duration::from_secs(60),
        };
        setup.limiter = Some(limiter.clone());
        spawn_with(setup)
    };
    let (a, b) = (instance().await.unwrap(), instance().await.unwrap());
    assert_eq!(a.login("ada@example.com", "guess").await.0, 401);
    assert_eq!(b.login("ada@example.com", "guess").await.0, 401);
    assert_eq!(a.login("ada@example.com", "guess").await.0, 401);
    let (status, body) = b.login("ada@example.com", "guess").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
}

/// A stolen access token is not a way around the account's failure budget: the current password
/// asked by a password change or an email change counts against it (charged first, refunded
/// when right).
async fn password_checks_of_signed_in_callers_share_the_budget(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.policy.limits.account_failures = rule("login_account_failures", 3);
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let ada = app.register("ada@example.com", PASSWORD).await;
    let token = ada["access_token"].as_str().unwrap().to_owned();
    let change = |current: &str| {
        app.post("/v1/me/password")
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": "an entirely new secret"}))
            .send()
    };
    let change_email = |current: &str| {
        app.patch("/v1/me")
            .bearer_auth(&token)
            .json(&json!({"email": "ada.new@example.com", "current_password": current}))
            .send()
    };

    expect_error(
        change("guess 1").await.unwrap(),
        403,
        "current_password_incorrect",
    )
    .await;
    expect_error(
        change_email("guess 2").await.unwrap(),
        403,
        "current_password_incorrect",
    )
    .await;
    // The right password is charged and refunded: the budget still has one guess.
    let (status, body) = json(
        app.patch("/v1/me")
            .bearer_auth(&token)
            .json(&json!({"email": "ada@example.com", "current_password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    expect_error(
        change("guess 3").await.unwrap(),
        403,
        "current_password_incorrect",
    )
    .await;

    // Spent: the next checks are refused before any verification, even the right password, and
    // sign-in from unknown clients waits too.
    expect_error(change("guess 4").await.unwrap(), 429, "rate_limited").await;
    expect_error(change(PASSWORD).await.unwrap(), 429, "rate_limited").await;
    expect_error(change_email(PASSWORD).await.unwrap(), 429, "rate_limited").await;
    assert_eq!(app.login("ada@example.com", PASSWORD).await.0, 429);
}

/// Guesses sent at once each take their share of the budget before their password is checked,
/// so no more of them are verified than the budget allows.
async fn concurrent_guesses_never_pass_the_budget(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.policy.limits.account_failures = rule("login_account_failures", 3);
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    app.register("ada@example.com", PASSWORD).await;
    let guesses = (0..12).map(|i| {
        app.post("/v1/auth/login")
            .json(&json!({"email": "ada@example.com", "password": format!("guess {i}")}))
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let verified = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((verified, refused), (3, 9), "{statuses:?}");
}
