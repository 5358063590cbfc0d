//! Paystack against a fake of its API, written from paystack.com/docs/api: Transactions
//! (`POST /transaction/initialize` answering `{status, message, data: {authorization_url,
//! access_code, reference}}`, refusing a reference twice with "Duplicate Transaction
//! Reference"; `GET /transaction/verify/{reference}`), Refunds (`POST /refund`, `GET /refund`
//! filtered by `transaction`) and Settlements (`GET /settlement?from&to`: one settlement per
//! day on which transactions succeeded, `settlement_date` that day; then
//! `GET /settlement/{id}/transactions`, the transactions it paid out). Lists are paged by
//! `page` from 1 and `perPage` (default 50) with `meta: {total, perPage, page, pageCount}`.
//! Amounts in subunits; the secret key as a bearer token.

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

impl Fake {
    /// The payer paid `reference` (`minor` subunits) at `at`, with no word to us (the webhook
    /// lost).
    pub fn settle(&self, reference: &str, minor: i64, at: chrono::DateTime<chrono::Utc>) {
        let mut transactions = self.transactions.lock().unwrap();
        let tx = transactions.get_mut(reference).unwrap();
        tx["status"] = json!("success");
        tx["amount"] = json!(minor);
        tx["paid_at"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

/// The day a successful transaction was paid out: its settlement's id is that day's number.
fn payout_day(tx: &Value) -> chrono::NaiveDate {
    chrono::DateTime::parse_from_rfc3339(tx["paid_at"].as_str().unwrap())
        .unwrap()
        .date_naive()
}

fn settlement_id(day: chrono::NaiveDate) -> i64 {
    (day - chrono::NaiveDate::default()).num_days()
}

/// `items` paged as Paystack pages a list.
fn paged(items: Vec<Value>, q: &HashMap<String, String>) -> Response {
    let per_page: usize = q.get("perPage").map_or(50, |p| p.parse().unwrap());
    let page: usize = q.get("page").map_or(1, |p| p.parse().unwrap());
    let total = items.len();
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Json(
        json!({"status": true, "message": "Retrieved", "data": data, "meta": {"total": total,
        "skipped": (page - 1) * per_page, "perPage": per_page, "page": page,
        "pageCount": total.div_ceil(per_page).max(1)}}),
    )
    .into_response()
}

fn day_of(raw: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&raw[..10], "%Y-%m-%d").unwrap()
}

async fn settlements(
    State(fake): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (from, to) = (day_of(&q["from"]), day_of(&q["to"]));
    let mut days: Vec<chrono::NaiveDate> = fake
        .transactions
        .lock()
        .unwrap()
        .values()
        .filter(|t| t["status"] == "success")
        .map(payout_day)
        .filter(|day| from <= *day && *day <= to)
        .collect();
    days.sort();
    days.dedup();
    let listed = days
        .into_iter()
        .map(|day| {
            json!({"id": settlement_id(day), "status": "success",
            "settlement_date": format!("{day}T00:00:00.000Z")})
        })
        .collect();
    paged(listed, &q)
}

async fn settled(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut data: Vec<Value> = fake
        .transactions
        .lock()
        .unwrap()
        .values()
        .filter(|t| t["status"] == "success" && settlement_id(payout_day(t)) == id)
        .map(|t| {
            let fees = t["amount"].as_i64().unwrap() * 15 / 1000;
            json!({"id": t["id"], "reference": t["reference"], "amount": t["amount"],
            "currency": t["currency"], "fees": fees, "status": "success", "paid_at": t["paid_at"]})
        })
        .collect();
    data.sort_by_key(|t| t["id"].as_u64());
    paged(data, &q)
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

    let day = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
        .unwrap()
        .to_utc();
    fake.settle(
        &request.payment_id,
        10_000,
        day + chrono::Duration::hours(10),
    );
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

    let settled = paystack
        .settled_transactions(day, day + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].reference, request.payment_id);
    assert_eq!(settled[0].amount, money(10_000, "NGN"));
    assert_eq!(settled[0].provider_fee, Some(money(150, "NGN")));
}

#[tokio::test]
async fn settlement_transactions_are_read_page_by_page() {
    let (fake, paystack) = fake().await;
    let day = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
        .unwrap()
        .to_utc();
    for i in 0..250 {
        let reference = format!("pay-{i:03}");
        fake.transactions.lock().unwrap().insert(
            reference.clone(),
            json!({"id": i + 1, "reference": reference, "amount": 1_000 + i,
            "currency": "NGN", "status": "abandoned"}),
        );
        // Two days apart, two settlements.
        let at = day + chrono::Duration::hours(if i < 200 { 9 } else { 57 });
        fake.settle(&reference, 1_000 + i, at);
    }
    let settled = paystack
        .settled_transactions(day, day + chrono::Duration::days(2))
        .await
        .unwrap();
    assert_eq!(settled.len(), 250, "every page of both settlements");
    let references: std::collections::HashSet<_> =
        settled.iter().map(|t| t.reference.as_str()).collect();
    assert_eq!(references.len(), 250);
    let first_day = paystack
        .settled_transactions(day, day + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(first_day.len(), 200, "the window's settlements only");
}
