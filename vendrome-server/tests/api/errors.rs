//! Every failure mode answers the error envelope with the right status and a stable code.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use vendrome_core::enums::UserRole;
use vendrome_server::auth::{Claims, KeyRing};
use vendrome_server::AppState;

use crate::support::{expect_error, spawn_app, spawn_with, Backend, Setup};

const FLAG: &str = "/v1/admin/flags/use_real_feed";

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let response = app
        .put(FLAG)
        .bearer_auth(app.token(UserRole::Admin).await)
        .header("content-type", "application/json")
        .body("{\"enabled\": tru")
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "malformed_json").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let response = app
        .put(FLAG)
        .bearer_auth(app.token(UserRole::Admin).await)
        .header("content-type", "text/plain")
        .body("enabled=true")
        .send()
        .await
        .unwrap();
    expect_error(response, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn failed_validation_is_422_with_field_details() {
    let app = spawn_app().await;
    let token = app.token(UserRole::Admin).await;
    let out_of_range = app
        .put(FLAG)
        .bearer_auth(&token)
        .json(&serde_json::json!({"enabled": true, "rollout_percent": 150, "reason": "r"}));
    let body = expect_error(out_of_range.send().await.unwrap(), 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"]["rollout_percent"][0]["code"], "out_of_range",
        "{body}"
    );

    let wrong_type = app
        .put(FLAG)
        .bearer_auth(&token)
        .json(&serde_json::json!({"enabled": "yes"}));
    let body = expect_error(wrong_type.send().await.unwrap(), 422, "validation_failed").await;
    assert!(
        body["error"]["details"]["fields"]["enabled"].is_array(),
        "{body}"
    );

    let unknown_field = app
        .put(FLAG)
        .bearer_auth(&token)
        .json(&serde_json::json!({"enabled": true, "colour": "red"}));
    expect_error(
        unknown_field.send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.body_limit = 64;
    let app = spawn_with(setup).await.unwrap();
    let response = app
        .put(FLAG)
        .bearer_auth(app.token(UserRole::Admin).await)
        .json(&serde_json::json!({"enabled": true, "padding": "x".repeat(200)}))
        .send()
        .await
        .unwrap();
    expect_error(response, 413, "payload_too_large").await;
}

pub fn test_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }),
        )
        .route(
            "/test/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("the database password is hunter2");
                }
                "unreachable"
            }),
        )
}

#[tokio::test]
async fn a_request_past_the_deadline_is_503_with_retry_after() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.request_timeout = Duration::from_millis(50);
    setup.extra = Some(Box::new(|_| test_routes()));
    let app = spawn_with(setup).await.unwrap();
    let response = app.get("/test/slow").send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    expect_error(response, 503, "request_timeout").await;
}

#[tokio::test]
async fn a_panic_is_500_and_reveals_nothing() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.extra = Some(Box::new(|_| test_routes()));
    let app = spawn_with(setup).await.unwrap();
    let body = expect_error(
        app.get("/test/panic").send().await.unwrap(),
        500,
        "internal_error",
    )
    .await;
    assert!(!body.to_string().contains("hunter2"), "{body}");
    // The server lives on.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn missing_invalid_expired_and_foreign_tokens_are_401_with_distinct_codes() {
    let app = spawn_app().await;
    let body = serde_json::json!({"enabled": true});
    expect_error(
        app.put(FLAG).json(&body).send().await.unwrap(),
        401,
        "token_missing",
    )
    .await;

    let garbage = app.put(FLAG).bearer_auth("not-a-token").json(&body);
    expect_error(garbage.send().await.unwrap(), 401, "token_invalid").await;

    let basic = app
        .put(FLAG)
        .header("authorization", "Basic YWRhOmFkYQ==")
        .json(&body);
    expect_error(basic.send().await.unwrap(), 401, "token_invalid").await;

    let foreign = KeyRing::parse(&KeyRing::generate_spec()).unwrap().issue(
        vendrome_core::ids::UserId::new(),
        UserRole::Admin,
        None,
    );
    let foreign = app.put(FLAG).bearer_auth(foreign.unwrap()).json(&body);
    expect_error(foreign.send().await.unwrap(), 401, "token_invalid").await;

    let now = chrono::Utc::now().timestamp();
    let expired = Claims {
        sub: vendrome_core::ids::UserId::new(),
        role: UserRole::Admin,
        sid: None,
        iat: now - 1000,
        exp: now - 100,
        iss: "vendrome".into(),
    };
    let expired = app
        .put(FLAG)
        .bearer_auth(app.state.keys.sign(&expired).unwrap())
        .json(&body);
    expect_error(expired.send().await.unwrap(), 401, "token_expired").await;

    // An optional-auth endpoint still refuses a bad token rather than ignoring it.
    expect_error(
        app.get("/v1/flags")
            .bearer_auth("bad")
            .send()
            .await
            .unwrap(),
        401,
        "token_invalid",
    )
    .await;
}
