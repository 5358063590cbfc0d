//! Yoco against a fake of its checkout API, written from developer.yoco.com "Accept payments"
//! (`POST /api/checkouts` with an optional `Idempotency-Key`, answering `{id, redirectUrl,
//! status, amount, currency, metadata}`; `GET /api/checkouts/{id}`) and "Accept refunds"
//! (`POST /api/checkouts/{id}/refund`, answered 202 `{id, refundId, message, status}`); the
//! secret key as a bearer token; errors as `{errorType, errorCode, displayMessage}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{
    NextAction, PaymentProvider, ProviderError, RefundPayment,
};
use vendrome_payments::providers::yoco::Yoco;

use crate::support::{money, payment, serve, settings, Outage};

#[derive(Default)]
pub struct Fake {
    pub checkouts: Mutex<HashMap<String, Value>>,
    by_key: Mutex<HashMap<String, Value>>,
    /// Answers 503 before doing anything.
    pub outage: Outage,
    /// Makes the checkout, then answers 503 (the answer is lost).
    pub lose_answers: Outage,
    pub creates: std::sync::atomic::AtomicU32,
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer sk_test_yoco")
}

async fn create(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    fake.creates
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if let Some(down) = fake.outage.check() {
        return down;
    }
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errorType": "unauthorized"})),
        )
            .into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(seen) = key
        .as_ref()
        .and_then(|k| fake.by_key.lock().unwrap().get(k).cloned())
    {
        if let Some(lost) = fake.lose_answers.check() {
            return lost;
        }
        return Json(seen).into_response();
    }
    if body["currency"] != "ZAR" || !body["amount"].is_i64() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorType": "invalid_request",
            "errorCode": "invalid_amount", "displayMessage": "amount in cents, ZAR only"})),
        )
            .into_response();
    }
    let mut checkouts = fake.checkouts.lock().unwrap();
    let id = format!("ch_{}", checkouts.len() + 1);
    let checkout = json!({"id": id, "redirectUrl": format!("https://c.yoco.com/checkout/{id}"),
        "status": "created", "amount": body["amount"], "currency": "ZAR", "metadata": body["metadata"]});
    checkouts.insert(id, checkout.clone());
    if let Some(key) = key {
        fake.by_key.lock().unwrap().insert(key, checkout.clone());
    }
    if let Some(lost) = fake.lose_answers.check() {
        return lost;
    }
    Json(checkout).into_response()
}

async fn read(State(fake): State<Arc<Fake>>, Path(id): Path<String>) -> Response {
    match fake.checkouts.lock().unwrap().get(&id) {
        Some(checkout) => Json(checkout.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"errorType": "not_found"})),
        )
            .into_response(),
    }
}

async fn refund(State(fake): State<Arc<Fake>>, Path(id): Path<String>) -> Response {
    match fake.checkouts.lock().unwrap().get(&id) {
        Some(c) if c["status"] == "completed" => (
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "refundId": format!("rf_{id}"), "message": "Refund in progress", "status": "pending"})),
        )
            .into_response(),
        _ => (StatusCode::CONFLICT, Json(json!({"errorType": "not_refundable"}))).into_response(),
    }
}

pub async fn fake() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new()
        .route("/api/checkouts", post(create))
        .route("/api/checkouts/{id}", get(read))
        .route("/api/checkouts/{id}/refund", post(refund))
        .with_state(fake.clone());
    let base = serve(router).await;
    (fake, base)
}

pub fn yoco(base: &str) -> Yoco {
    Yoco::new(&settings(
        ProviderId::Yoco,
        base,
        &[
            ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ("SECRET_KEY", "sk_test_yoco"),
        ],
    ))
}

#[tokio::test]
async fn checkouts_are_made_once_per_key_and_read_back() {
    let (fake, base) = fake().await;
    let yoco = yoco(&base);
    assert_eq!(yoco.methods().len(), 1);
    let request = payment("vendrome-payment-1", 4_550, "ZAR");
    let made = yoco.create(&request).await.unwrap();
    assert_eq!(made.status, PaymentStatus::RequiresAction);
    assert_eq!(made.amount, money(4_550, "ZAR"));
    let NextAction::Redirect { url } = &made.next_action else {
        panic!("{made:?}")
    };
    assert!(url.ends_with(&made.reference));
    let again = yoco.create(&request).await.unwrap();
    assert_eq!(again.reference, made.reference, "Yoco's Idempotency-Key");
    assert_eq!(fake.checkouts.lock().unwrap().len(), 1);
    let stored = fake.checkouts.lock().unwrap()[&made.reference].clone();
    assert_eq!(stored["amount"], 4_550, "cents");
    assert_eq!(stored["metadata"]["paymentId"], request.payment_id.as_str());

    fake.checkouts
        .lock()
        .unwrap()
        .get_mut(&made.reference)
        .unwrap()["status"] = json!("completed");
    let status = yoco.status(&made.reference).await.unwrap();
    assert_eq!(status.status, PaymentStatus::Succeeded);
    assert_eq!(status.next_action, NextAction::None);

    let refund = yoco
        .refund(&RefundPayment {
            idempotency_key: "refund-1".into(),
            refund_id: "r1".into(),
            charge_reference: made.reference.clone(),
            amount: money(1_000, "ZAR"),
        })
        .await
        .unwrap();
    assert_eq!(
        refund.status,
        PaymentStatus::Processing,
        "the webhook tells the end"
    );
    assert_eq!(refund.reference, format!("rf_{}", made.reference));
}

#[tokio::test]
async fn errors_read_as_the_orchestrator_needs() {
    let (fake, base) = fake().await;
    let yoco = yoco(&base);
    let dollars = yoco
        .create(&payment("k-usd", 100, "USD"))
        .await
        .unwrap_err();
    assert!(
        matches!(dollars, ProviderError::Rejected(ref f) if f.code == "unsupported_currency"),
        "{dollars:?}"
    );
    fake.outage.fail_next(1);
    let down = yoco
        .create(&payment("k-down", 100, "ZAR"))
        .await
        .unwrap_err();
    assert!(matches!(down, ProviderError::Unavailable(_)), "{down:?}");
    let missing = yoco.status("ch_nope").await.unwrap_err();
    assert!(matches!(missing, ProviderError::Rejected(_)), "{missing:?}");
    let unreachable = yoco_at("http://127.0.0.1:9")
        .create(&payment("k", 100, "ZAR"))
        .await
        .unwrap_err();
    assert!(
        matches!(unreachable, ProviderError::Unavailable(_)),
        "{unreachable:?}"
    );
    assert!(
        matches!(
            yoco.settled_transactions(chrono::Utc::now(), chrono::Utc::now())
                .await,
            Err(ProviderError::Unsupported)
        ),
        "no settlement listing"
    );
}

fn yoco_at(base: &str) -> Yoco {
    yoco(base)
}

#[tokio::test]
async fn without_its_secret_key_it_only_listens() {
    let listener = Yoco::new(&settings(
        ProviderId::Yoco,
        "http://127.0.0.1:9",
        &[("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
    ));
    assert!(listener.methods().is_empty());
    let refused = listener
        .create(&payment("k", 100, "ZAR"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ProviderError::Rejected(ref f) if f.code == "provider_listen_only"),
        "{refused:?}"
    );
}
