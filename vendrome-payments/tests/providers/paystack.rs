//! Paystack against a fake of its API, written from paystack.com/docs/api: Transactions
//! (`POST /transaction/initialize` answering `{status, message, data: {authorization_url,
//! access_code, reference}}`, refusing a reference twice with "Duplicate Transaction
//! Reference"; `GET /transaction/verify/{reference}`), Refunds (`POST /refund`, `GET /refund`
//! filtered by `transaction`) and Settlements (`GET /settlement`,
//! `GET /settlement/{id}/transactions`). Amounts in subunits; the secret key as a bearer token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{NextAction, PaymentProvider, RefundPayment};
use vendrome_payments::providers::paystack_api::Paystack;

use crate::support::{money, payment, serve, settings};

#[derive(Default)]
pub struct Fake {
    pub transactions: Mutex<HashMap<String, Value>>,
    refunds: Mutex<Vec<Value>>,
    pub initialized: Mutex<u32>,
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .is_some_and(|v| v == "Bearer sk_test_paystack")
}

fn refuse(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": false, "message": message})),
    )
        .into_response()
}

async fn initialize(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"status": false, "message": "Invalid key"})),
        )
            .into_response();
    }
    if !body["email"].as_str().is_some_and(|e| e.contains('@')) || !body["amount"].is_i64() {
        return refuse("Invalid email or amount");
    }
    let reference = body["reference"].as_str().unwrap().to_owned();
    let mut transactions = fake.transactions.lock().unwrap();
    if transactions.contains_key(&reference) {
        return refuse("Duplicate Transaction Reference");
    }
    *fake.initialized.lock().unwrap() += 1;
    let id = transactions.len() + 1;
    transactions.insert(
        reference.clone(),
        json!({"id": id, "reference": reference,
        "amount": body["amount"], "currency": body["currency"], "status": "abandoned"}),
    );
    Json(
        json!({"status": true, "message": "Authorization URL created", "data": {
        "authorization_url": format!("https://checkout.paystack.com/ac_{reference}"),
        "access_code": format!("ac_{reference}"), "reference": reference}}),
    )
    .into_response()
}

async fn verify(State(fake): State<Arc<Fake>>, Path(reference): Path<String>) -> Response {
    match fake.transactions.lock().unwrap().get(&reference) {
        Some(tx) => Json(json!({"status": true, "message": "Verification successful", "data": tx}))
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"status": false, "message": "Transaction reference not found"})),
        )
            .into_response(),
    }
}

async fn refund(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Response {
    let mut refunds = fake.refunds.lock().unwrap();
    let made = json!({"id": refunds.len() + 1, "transaction": body["transaction"], "amount": body["amount"],
        "merchant_note": body["merchant_note"], "status": "pending"});
    refunds.push(made.clone());
    Json(json!({"status": true, "message": "Refund has been queued for processing", "data": made}))
        .into_response()
}

async fn refunds(
    State(fake): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let listed: Vec<Value> = fake
        .refunds
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["transaction"].as_str() == q.get("transaction").map(String::as_str))
        .cloned()
        .collect();
    Json(json!({"status": true, "message": "Refunds retrieved", "data": listed})).into_response()
}

async fn settlements() -> Response {
    Json(json!({"status": true, "data": [{"id": 71, "settlement_date": "2026-12-06T12:00:00.000Z", "status": "success"}]})).into_response()
}

async fn settled(State(fake): State<Arc<Fake>>, Path(_id): Path<u32>) -> Response {
    let data: Vec<Value> = fake
        .transactions
        .lock()
        .unwrap()
        .values()
        .filter(|t| t["status"] == "success")
        .map(|t| {
            json!({"reference": t["reference"], "amount": t["amount"], "currency": t["currency"],
            "fees": 150, "paid_at": "2026-12-06T10:00:00.000Z"})
        })
        .collect();
    Json(json!({"status": true, "data": data})).into_response()
}

pub async fn fake() -> (Arc<Fake>, Paystack) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new()
        .route("/transaction/initialize", post(initialize))
        .route("/transaction/verify/{reference}", get(verify))
        .route("/refund", post(refund).get(refunds))
        .route("/settlement", get(settlements))
        .route("/settlement/{id}/transactions", get(settled))
        .with_state(fake.clone());
    let base = serve(router).await;
    let adapter = Paystack::new(&settings(
        ProviderId::Paystack,
        &base,
        &[("SECRET_KEY", "sk_test_paystack")],
    ));
    (fake, adapter)
}

#[tokio::test]
async fn the_reference_is_our_dedupe() {
    let (fake, paystack) = fake().await;
    let request = payment("k-1", 10_000, "NGN");
    let made = paystack.create(&request).await.unwrap();
    assert_eq!(made.reference, request.payment_id);
    assert!(
        matches!(made.next_action, NextAction::Redirect { ref url } if url.contains("checkout.paystack.com"))
    );
    let again = paystack.create(&request).await.unwrap();
    assert_eq!(
        again.reference, made.reference,
        "the duplicate reference is read back"
    );
    assert_eq!(again.status, PaymentStatus::RequiresAction);
    assert_eq!(*fake.initialized.lock().unwrap(), 1, "one transaction");

    fake.transactions
        .lock()
        .unwrap()
        .get_mut(&request.payment_id)
        .unwrap()["status"] = json!("success");
    let paid = paystack.status(&made.reference).await.unwrap();
    assert_eq!(
        (paid.status, paid.amount),
        (PaymentStatus::Succeeded, money(10_000, "NGN"))
    );

    let refund = RefundPayment {
        idempotency_key: "r-1".into(),
        refund_id: "refund-1".into(),
        charge_reference: made.reference.clone(),
        amount: money(2_500, "NGN"),
    };
    let first = paystack.refund(&refund).await.unwrap();
    let retried = paystack.refund(&refund).await.unwrap();
    assert_eq!(
        first.reference, retried.reference,
        "our refund id found, not refunded twice"
    );
    assert_eq!(fake.refunds.lock().unwrap().len(), 1);

    let day = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
        .unwrap()
        .to_utc();
    let settled = paystack
        .settled_transactions(day, day + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].reference, request.payment_id);
    assert_eq!(settled[0].amount, money(10_000, "NGN"));
    assert_eq!(settled[0].provider_fee, Some(money(150, "NGN")));
}
