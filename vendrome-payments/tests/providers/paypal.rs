//! PayPal against a fake of its REST API, written from developer.paypal.com: OAuth
//! (`POST /v1/oauth2/token`, client credentials, basic auth), Orders v2
//! (`POST /v2/checkout/orders`, `GET …/{id}`, `POST …/{id}/capture`, each POST deduplicated on
//! `PayPal-Request-Id`), Payments v2 (`GET /v2/payments/captures/{id}` with
//! `supplementary_data.related_ids.order_id`, `POST …/{id}/refund`) and Transaction Search
//! (`GET /v1/reporting/transactions`: the captures and refunds whose time is within
//! `start_date`..`end_date`, as `transaction_details[].transaction_info` with
//! `transaction_event_code` T0006 or T1107, paged by `page`/`page_size` (at most 500) with
//! `total_items`/`total_pages`). Amounts are `{currency_code, value}` decimal strings; the fee is
//! PayPal's standard 2.9% + 0.30, negative.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{NextAction, PaymentProvider, RefundPayment};
use vendrome_payments::providers::paypal::PaypalNotifications;
use vendrome_payments::providers::paypal_api::Paypal;

use crate::support::{money, payment, serve, settings};

pub struct Fake {
    orders: Mutex<HashMap<String, Value>>,
    /// What each `PayPal-Request-Id` answered.
    requests: Mutex<HashMap<String, Value>>,
    captures: AtomicU32,
    refunds: AtomicU32,
    /// The refunds made, for Transaction Search.
    refunded: Mutex<Vec<Value>>,
    /// When captures and refunds happen.
    pub clock: Mutex<chrono::DateTime<chrono::Utc>>,
    /// Transaction Search's largest page (PayPal's is 500).
    pub max_page_size: AtomicU32,
}

impl Default for Fake {
    fn default() -> Self {
        Self {
            orders: Mutex::default(),
            requests: Mutex::default(),
            captures: AtomicU32::default(),
            refunds: AtomicU32::default(),
            refunded: Mutex::default(),
            clock: Mutex::new(
                chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
                    .unwrap()
                    .to_utc(),
            ),
            max_page_size: AtomicU32::new(500),
        }
    }
}

/// `minor` cents as PayPal writes an amount.
fn value(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// Cents of a PayPal decimal string.
fn cents(value: &str) -> i64 {
    let negative = value.starts_with('-');
    let (whole, part) = value.trim_start_matches('-').split_once('.').unwrap();
    let minor = whole.parse::<i64>().unwrap() * 100 + part.parse::<i64>().unwrap();
    if negative {
        -minor
    } else {
        minor
    }
}

impl Fake {
    /// The payer approved order `id` and PayPal captured `minor` cents of it at `at`, with no
    /// word to us (the capture's answer and its webhook lost).
    pub fn settle(&self, id: &str, minor: i64, at: chrono::DateTime<chrono::Utc>) {
        let mut orders = self.orders.lock().unwrap();
        let order = orders.get_mut(id).unwrap();
        let currency = order["purchase_units"][0]["amount"]["currency_code"].clone();
        order["status"] = json!("COMPLETED");
        order["purchase_units"][0]["payments"] = json!({"captures": [{"id": format!("CAP-{id}"),
            "status": "COMPLETED", "amount": {"currency_code": currency, "value": value(minor)},
            "create_time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}]});
    }
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("paypal-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn token(headers: HeaderMap) -> Response {
    // Basic base64("client:secret").
    if headers
        .get("authorization")
        .is_some_and(|v| v == "Basic Y2xpZW50OnNlY3JldA==")
    {
        Json(json!({"access_token": "A21AA", "token_type": "Bearer", "expires_in": 32400}))
            .into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response()
    }
}

fn replay(fake: &Fake, headers: &HeaderMap) -> Option<Response> {
    fake.requests
        .lock()
        .unwrap()
        .get(&request_id(headers))
        .map(|seen| Json(seen.clone()).into_response())
}

async fn create(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(seen) = replay(&fake, &headers) {
        return seen;
    }
    let mut orders = fake.orders.lock().unwrap();
    let id = format!("5O19{}", orders.len() + 1);
    let order = json!({"id": id, "status": "PAYER_ACTION_REQUIRED", "purchase_units": body["purchase_units"],
        "links": [{"rel": "payer-action", "href": format!("https://www.paypal.com/checkoutnow?token={id}")}]});
    orders.insert(id, order.clone());
    fake.requests
        .lock()
        .unwrap()
        .insert(request_id(&headers), order.clone());
    (StatusCode::CREATED, Json(order)).into_response()
}

async fn read(State(fake): State<Arc<Fake>>, Path(id): Path<String>) -> Response {
    Json(fake.orders.lock().unwrap()[&id].clone()).into_response()
}

async fn capture(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(seen) = replay(&fake, &headers) {
        return seen;
    }
    fake.captures.fetch_add(1, Ordering::SeqCst);
    let at = *fake.clock.lock().unwrap();
    let minor = {
        let orders = fake.orders.lock().unwrap();
        cents(
            orders[&id]["purchase_units"][0]["amount"]["value"]
                .as_str()
                .unwrap(),
        )
    };
    fake.settle(&id, minor, at);
    let done = fake.orders.lock().unwrap()[&id].clone();
    fake.requests
        .lock()
        .unwrap()
        .insert(request_id(&headers), done.clone());
    (StatusCode::CREATED, Json(done)).into_response()
}

async fn read_capture(Path(id): Path<String>) -> Response {
    let order = id.trim_start_matches("CAP-");
    Json(json!({"id": id, "status": "COMPLETED", "supplementary_data": {"related_ids": {"order_id": order}}})).into_response()
}

async fn refund(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(seen) = replay(&fake, &headers) {
        return seen;
    }
    let n = fake.refunds.fetch_add(1, Ordering::SeqCst);
    let at = fake
        .clock
        .lock()
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let made = json!({"id": format!("RF-{n}"), "status": "COMPLETED", "amount": body["amount"],
        "create_time": at,
        "links": [{"rel": "up", "href": format!("https://api.paypal.com/v2/payments/captures/{id}")}]});
    fake.refunded.lock().unwrap().push(made.clone());
    fake.requests
        .lock()
        .unwrap()
        .insert(request_id(&headers), made.clone());
    (StatusCode::CREATED, Json(made)).into_response()
}

/// A Transaction Search time: `2026-12-06T10:00:00+0000`.
fn search_time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

/// One `transaction_details` entry.
fn detail(id: &str, code: &str, amount: &Value, at: &str) -> Value {
    let currency = amount["currency_code"].clone();
    let minor = cents(amount["value"].as_str().unwrap());
    let fee = if minor > 0 {
        -(minor * 29 / 1000 + 30)
    } else {
        0
    };
    json!({"transaction_info": {"transaction_id": id, "transaction_event_code": code,
        "transaction_status": "S", "transaction_amount": amount,
        "fee_amount": {"currency_code": currency, "value": value(fee)},
        "transaction_initiation_date": search_time(at), "transaction_updated_date": search_time(at)}})
}

async fn transactions(
    State(fake): State<Arc<Fake>>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let time = |name: &str| chrono::DateTime::parse_from_rfc3339(&q[name]).unwrap();
    let (start, end) = (time("start_date"), time("end_date"));
    if end - start > chrono::Duration::days(31) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"name": "INVALID_REQUEST", "details": [{"issue": "DATE_RANGE_EXCEEDED"}]})),
        )
            .into_response();
    }
    let mut all: Vec<(String, Value)> = Vec::new();
    for order in fake.orders.lock().unwrap().values() {
        for capture in order["purchase_units"][0]["payments"]["captures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["status"] == "COMPLETED")
        {
            let at = capture["create_time"].as_str().unwrap().to_owned();
            let id = capture["id"].as_str().unwrap();
            all.push((at.clone(), detail(id, "T0006", &capture["amount"], &at)));
        }
    }
    for refund in fake.refunded.lock().unwrap().iter() {
        let at = refund["create_time"].as_str().unwrap().to_owned();
        let mut amount = refund["amount"].clone();
        amount["value"] = json!(value(-cents(amount["value"].as_str().unwrap())));
        all.push((
            at.clone(),
            detail(refund["id"].as_str().unwrap(), "T1107", &amount, &at),
        ));
    }
    all.retain(|(at, _)| {
        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
        start <= at && at <= end
    });
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let page: usize = q["page"].parse().unwrap();
    let size = q["page_size"]
        .parse::<usize>()
        .unwrap()
        .min(fake.max_page_size.load(Ordering::SeqCst) as usize);
    let pages = all.len().div_ceil(size).max(1);
    let details: Vec<Value> = all
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|(_, d)| d.clone())
        .collect();
    Json(
        json!({"transaction_details": details, "page": page, "total_items": all.len(),
        "total_pages": pages}),
    )
    .into_response()
}

pub async fn fake() -> (Arc<Fake>, Paypal) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new()
        .route("/v1/oauth2/token", post(token))
        .route("/v2/checkout/orders", post(create))
        .route("/v2/checkout/orders/{id}", get(read))
        .route("/v2/checkout/orders/{id}/capture", post(capture))
        .route("/v2/payments/captures/{id}", get(read_capture))
        .route("/v2/payments/captures/{id}/refund", post(refund))
        .route("/v1/reporting/transactions", get(transactions))
        .with_state(fake.clone());
    let base = serve(router).await;
    let settings = settings(
        ProviderId::Paypal,
        &base,
        &[
            ("WEBHOOK_ID", "WH-1"),
            ("CLIENT_ID", "client"),
            ("CLIENT_SECRET", "secret"),
        ],
    );
    let notifications = PaypalNotifications::new(&settings);
    (fake, Paypal::new(&settings, notifications))
}

#[tokio::test]
async fn orders_are_made_once_captured_once_and_refunded() {
    let (fake, paypal) = fake().await;
    let request = payment("vendrome-payment-9", 1_005, "USD");
    let made = paypal.create(&request).await.unwrap();
    assert_eq!(made.status, PaymentStatus::RequiresAction);
    assert!(
        matches!(made.next_action, NextAction::Redirect { ref url } if url.ends_with(&made.reference))
    );
    let again = paypal.create(&request).await.unwrap();
    assert_eq!(again.reference, made.reference, "PayPal-Request-Id");
    assert_eq!(fake.orders.lock().unwrap().len(), 1);
    let unit = fake.orders.lock().unwrap()[&made.reference]["purchase_units"][0].clone();
    assert_eq!(
        unit["amount"],
        json!({"currency_code": "USD", "value": "10.05"}),
        "a decimal string"
    );
    assert_eq!(unit["custom_id"], request.payment_id.as_str());

    // The payer approves; polling captures, once however often it polls.
    fake.orders
        .lock()
        .unwrap()
        .get_mut(&made.reference)
        .unwrap()["status"] = json!("APPROVED");
    let first = paypal.status(&made.reference).await.unwrap();
    assert_eq!(first.status, PaymentStatus::Succeeded);
    assert_eq!(first.amount, money(1_005, "USD"));
    fake.orders
        .lock()
        .unwrap()
        .get_mut(&made.reference)
        .unwrap()["status"] = json!("APPROVED");
    paypal.status(&made.reference).await.unwrap();
    assert_eq!(
        fake.captures.load(Ordering::SeqCst),
        1,
        "the capture's request id is the order's"
    );

    let refund = RefundPayment {
        idempotency_key: "refund-key".into(),
        refund_id: "r1".into(),
        charge_reference: made.reference.clone(),
        amount: money(250, "USD"),
    };
    let refunded = paypal.refund(&refund).await.unwrap();
    assert_eq!(refunded.status, PaymentStatus::Succeeded);
    assert_eq!(
        paypal.refund(&refund).await.unwrap().reference,
        refunded.reference
    );
    assert_eq!(fake.refunds.load(Ordering::SeqCst), 1);

    let day = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
        .unwrap()
        .to_utc();
    fake.max_page_size.store(1, Ordering::SeqCst);
    let settled = paypal
        .settled_transactions(day, day + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(settled.len(), 2, "both pages");
    assert_eq!(
        settled[0].reference, "5O191",
        "a capture is keyed on its order"
    );
    assert_eq!(settled[0].amount, money(1_005, "USD"));
    assert_eq!(settled[0].provider_fee, Some(money(59, "USD")));
    assert_eq!(
        (settled[1].reference.as_str(), settled[1].amount),
        ("RF-0", money(-250, "USD"))
    );
}
