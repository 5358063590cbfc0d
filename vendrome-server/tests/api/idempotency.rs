//! `Idempotency-Key` on POST endpoints, through the reusable middleware, over a real socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_server::envelope::ApiSuccess;
use vendrome_server::error::ApiError;
use vendrome_server::{idempotency, AppState};

use crate::support::{expect_error, json, spawn_with, Backend, Setup, TestApp};

/// A test endpoint that counts its runs: `POST /test/orders` creates an "order" (slowly when
/// asked to, failing with 500 when asked to).
async fn app(backend: Backend) -> Option<(TestApp, Arc<AtomicUsize>)> {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let mut setup = Setup::new(backend);
    setup.extra = Some(Box::new(move |state: AppState| {
        Router::new()
            .route(
                "/test/orders",
                post(move |Json(body): Json<Value>| {
                    let counter = counter.clone();
                    async move {
                        let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        if body["slow"] == true {
                            tokio::time::sleep(Duration::from_millis(1_500)).await;
                        }
                        if body["fail"] == true {
                            return Err(ApiError::internal());
                        }
                        Ok(ApiSuccess::created(
                            json!({ "order": run, "item": body["item"] }),
                        ))
                    }
                }),
            )
            .route_layer(from_fn_with_state(
                idempotency::Keys::new(state, Duration::from_secs(30)),
                idempotency::layer,
            ))
    }));
    Some((spawn_with(setup).await?, runs))
}

both_stores!(
    a_retry_replays_the_first_answer,
    a_key_reused_with_another_body_is_409,
    a_key_in_flight_is_409
);

async fn a_retry_replays_the_first_answer(backend: Backend) {
    let Some((app, runs)) = app(backend).await else {
        return;
    };
    let token = app.token(UserRole::Member).await;
    let send = || {
        app.post("/test/orders")
            .bearer_auth(&token)
            .header("idempotency-key", "order-1")
            .json(&json!({"item": "desk"}))
            .send()
    };

    let first = send().await.unwrap();
    assert_eq!(first.headers()["idempotent-replayed"], "false");
    let (status, body) = json(first).await;
    assert_eq!(status, 201);

    let second = send().await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let (status, replayed) = json(second).await;
    assert_eq!(
        (status, &replayed),
        (201, &body),
        "the stored status and body"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the work ran once");

    // Keys are per caller: another user's identical key is another request.
    let other = app
        .post("/test/orders")
        .bearer_auth(app.token(UserRole::Member).await)
        .header("idempotency-key", "order-1");
    let (status, _) = json(other.json(&json!({"item": "desk"})).send().await.unwrap()).await;
    assert_eq!(status, 201);
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // Without a key nothing is remembered.
    app.post("/test/orders")
        .bearer_auth(&token)
        .json(&json!({"item": "desk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

async fn a_key_reused_with_another_body_is_409(backend: Backend) {
    let Some((app, runs)) = app(backend).await else {
        return;
    };
    let token = app.token(UserRole::Member).await;
    let send = |item: &str| {
        app.post("/test/orders")
            .bearer_auth(&token)
            .header("idempotency-key", "k")
            .json(&json!({"item": item}))
            .send()
    };
    assert_eq!(send("desk").await.unwrap().status(), 201);
    expect_error(
        send("chair").await.unwrap(),
        409,
        "idempotency_key_mismatch",
    )
    .await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let bad_key = app
        .post("/test/orders")
        .bearer_auth(&token)
        .header("idempotency-key", "")
        .json(&json!({}));
    expect_error(
        bad_key.send().await.unwrap(),
        400,
        "invalid_idempotency_key",
    )
    .await;

    // A server error is not stored: the retry runs again.
    let failing = || {
        app.post("/test/orders")
            .bearer_auth(&token)
            .header("idempotency-key", "f")
            .json(&json!({"fail": true}))
            .send()
    };
    expect_error(failing().await.unwrap(), 500, "internal_error").await;
    expect_error(failing().await.unwrap(), 500, "internal_error").await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

async fn a_key_in_flight_is_409(backend: Backend) {
    let Some((app, runs)) = app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let token = app.token(UserRole::Member).await;
    let requests: Vec<_> = (0..6)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                let response = app
                    .post("/test/orders")
                    .bearer_auth(&token)
                    .header("idempotency-key", "slow-1")
                    .json(&json!({"item": "lamp", "slow": true}))
                    .send()
                    .await
                    .unwrap();
                json(response).await
            })
        })
        .collect();
    let mut created = 0;
    let mut in_progress = 0;
    for request in requests {
        let (status, body) = request.await.unwrap();
        match (status, body["error"]["code"].as_str()) {
            (201, _) => created += 1,
            (409, Some("idempotency_key_in_progress")) => in_progress += 1,
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
    assert_eq!((created, in_progress), (1, 5));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
