//! Airwallex against a fake of its API, written from airwallex.com/docs/api: Authentication
//! (`POST /api/v1/authentication/login`, `x-client-id` + `x-api-key` → `{token, expires_at}`),
//! Payment Acceptance PaymentIntents (`POST /api/v1/pa/payment_intents/create` with
//! `request_id`, `amount` a decimal number, `merchant_order_id`; `GET …/{id}`;
//! `POST …/{id}/capture`), Refunds (`POST /api/v1/pa/refunds/create`) and Financial
//! Transactions (`GET /api/v1/financial_transactions`: those created within
//! `from_created_at`..`to_created_at`, both inclusive, paged by `page_num` from 0 and
//! `page_size` (at most 1000), `{items, has_more}`; an item's `amount` and `fee` are numbers in
//! major units, `source_id`/`source_type` what moved the money, `status` PENDING or SETTLED). A
//! repeated `request_id` answers the object it made.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{
    NextAction, PaymentProvider, ProviderError, RefundPayment,
};
use vendrome_payments::providers::airwallex::Airwallex;

use crate::support::{money, payment, serve, settings, Outage};

#[derive(Default)]
pub struct Fake {
    intents: Mutex<HashMap<String, Value>>,
    by_request: Mutex<HashMap<String, Value>>,
    /// The raw bodies received, to check how amounts were written.
    bodies: Mutex<Vec<String>>,
    logins: AtomicU32,
    transactions: Mutex<Vec<Value>>,
    outage: Outage,
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok_1")
}

async fn login(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    let ok = headers.get("x-client-id").is_some_and(|v| v == "client_1")
        && headers.get("x-api-key").is_some_and(|v| v == "key_1");
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "credentials_invalid"})),
        )
            .into_response();
    }
    fake.logins.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::CREATED,
        Json(json!({"token": "tok_1", "expires_at": "2099-01-01T00:00:00+0000"})),
    )
        .into_response()
}

/// Reads a body and answers the object already made for its `request_id`, if any.
fn begin(fake: &Fake, headers: &HeaderMap, raw: &Bytes) -> Result<Value, Box<Response>> {
    if let Some(down) = fake.outage.check() {
        return Err(Box::new(down));
    }
    if !authorised(headers) {
        let refused = (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "unauthorized"})),
        );
        return Err(Box::new(refused.into_response()));
    }
    let text = String::from_utf8(raw.to_vec()).unwrap();
    fake.bodies.lock().unwrap().push(text.clone());
    let body: Value = serde_json::from_str(&text).unwrap();
    let request_id = body["request_id"].as_str().unwrap_or_default().to_owned();
    if let Some(seen) = fake.by_request.lock().unwrap().get(&request_id) {
        return Err(Box::new(Json(seen.clone()).into_response()));
    }
    Ok(body)
}

fn remember(fake: &Fake, body: &Value, made: &Value) {
    let request_id = body["request_id"].as_str().unwrap_or_default().to_owned();
    fake.by_request
        .lock()
        .unwrap()
        .insert(request_id, made.clone());
}

async fn create(State(fake): State<Arc<Fake>>, headers: HeaderMap, raw: Bytes) -> Response {
    let body = match begin(&fake, &headers, &raw) {
        Ok(body) => body,
        Err(answer) => return *answer,
    };
    let mut intents = fake.intents.lock().unwrap();
    let id = format!("int_{}", intents.len() + 1);
    let intent = json!({"id": id, "request_id": body["request_id"], "amount": body["amount"],
        "currency": body["currency"], "merchant_order_id": body["merchant_order_id"],
        "status": "REQUIRES_PAYMENT_METHOD", "client_secret": format!("secret_{id}")});
    intents.insert(id, intent.clone());
    remember(&fake, &body, &intent);
    (StatusCode::CREATED, Json(intent)).into_response()
}

async fn read(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "unauthorized"})),
        )
            .into_response();
    }
    match fake.intents.lock().unwrap().get(&id) {
        Some(intent) => Json(intent.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "resource_not_found", "message": "no such intent"})),
        )
            .into_response(),
    }
}

async fn capture(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let body = match begin(&fake, &headers, &raw) {
        Ok(body) => body,
        Err(answer) => return *answer,
    };
    let mut intents = fake.intents.lock().unwrap();
    let intent = intents.get_mut(&id).unwrap();
    intent["status"] = json!("SUCCEEDED");
    intent["captured_amount"] = body["amount"].clone();
    let made = intent.clone();
    remember(&fake, &body, &made);
    Json(made).into_response()
}

async fn refund(State(fake): State<Arc<Fake>>, headers: HeaderMap, raw: Bytes) -> Response {
    let body = match begin(&fake, &headers, &raw) {
        Ok(body) => body,
        Err(answer) => return *answer,
    };
    let made = json!({"id": format!("rfd_{}", body["payment_intent_id"].as_str().unwrap()),
        "payment_intent_id": body["payment_intent_id"], "amount": body["amount"], "status": "RECEIVED"});
    remember(&fake, &body, &made);
    (StatusCode::CREATED, Json(made)).into_response()
}

async fn transactions(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "unauthorized"})),
        )
            .into_response();
    }
    let time = |name: &str| chrono::DateTime::parse_from_rfc3339(&q[name]).unwrap();
    let (from, to) = (time("from_created_at"), time("to_created_at"));
    let all: Vec<Value> = fake
        .transactions
        .lock()
        .unwrap()
        .iter()
        .filter(|t| {
            let at =
                chrono::DateTime::parse_from_rfc3339(t["created_at"].as_str().unwrap()).unwrap();
            from <= at && at <= to
        })
        .cloned()
        .collect();
    let page: usize = q["page_num"].parse().unwrap();
    let size: usize = q["page_size"].parse::<usize>().unwrap().min(1000);
    let items: Vec<Value> = all.iter().skip(page * size).take(size).cloned().collect();
    Json(json!({"items": items, "has_more": all.len() > (page + 1) * size})).into_response()
}

impl Fake {
    /// The payer paid intent `id` and Airwallex settled `minor` cents of it at `at`, with no word
    /// to us (the webhook lost).
    pub fn settle(&self, id: &str, minor: i64, at: chrono::DateTime<chrono::Utc>) {
        let currency = {
            let mut intents = self.intents.lock().unwrap();
            let intent = intents.get_mut(id).unwrap();
            intent["status"] = json!("SUCCEEDED");
            intent["currency"].clone()
        };
        let major = |m: i64| m as f64 / 100.0;
        let fee = minor * 3 / 100;
        let mut transactions = self.transactions.lock().unwrap();
        let n = transactions.len();
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        transactions.push(
            json!({"id": format!("ft_{n}"), "batch_id": "bat_1", "source_id": id,
            "source_type": "PAYMENT_INTENT", "amount": major(minor), "fee": major(fee),
            "net": major(minor - fee), "currency": currency, "status": "SETTLED",
            "created_at": at, "settled_at": at}),
        );
    }
}

pub async fn fake() -> (Arc<Fake>, Airwallex) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new()
        .route("/api/v1/authentication/login", post(login))
        .route("/api/v1/pa/payment_intents/create", post(create))
        .route("/api/v1/pa/payment_intents/{id}", get(read))
        .route("/api/v1/pa/payment_intents/{id}/capture", post(capture))
        .route("/api/v1/pa/refunds/create", post(refund))
        .route("/api/v1/financial_transactions", get(transactions))
        .with_state(fake.clone());
    let base = serve(router).await;
    let adapter = Airwallex::new(&settings(
        ProviderId::Airwallex,
        &base,
        &[
            ("WEBHOOK_SECRET", "s"),
            ("CLIENT_ID", "client_1"),
            ("API_KEY", "key_1"),
        ],
    ));
    (fake, adapter)
}

#[tokio::test]
async fn intents_are_made_once_per_request_id_with_exact_amounts() {
    let (fake, airwallex) = fake().await;
    let request = payment("vendrome-payment-7", 1_005, "USD");
    let made = airwallex.create(&request).await.unwrap();
    assert_eq!(made.status, PaymentStatus::RequiresAction);
    assert_eq!(
        made.next_action,
        NextAction::ClientSecret {
            client_secret: format!("secret_{}", made.reference)
        }
    );
    let again = airwallex.create(&request).await.unwrap();
    assert_eq!(again.reference, made.reference, "request_id in the body");
    assert_eq!(fake.intents.lock().unwrap().len(), 1);
    assert_eq!(fake.logins.load(Ordering::SeqCst), 1, "the token is kept");
    let sent = fake.bodies.lock().unwrap()[0].clone();
    assert!(
        sent.contains(r#""amount":10.05"#),
        "a decimal number, exactly: {sent}"
    );
    assert!(sent.contains(&format!(r#""merchant_order_id":"{}""#, request.payment_id)));

    let read = airwallex.status(&made.reference).await.unwrap();
    assert_eq!(read.amount, money(1_005, "USD"));
    let captured = airwallex
        .capture(&made.reference, money(1_005, "USD"), "cap-1")
        .await
        .unwrap();
    assert_eq!(captured.status, PaymentStatus::Succeeded);
    let refund = airwallex
        .refund(&RefundPayment {
            idempotency_key: "ref-1".into(),
            refund_id: "r".into(),
            charge_reference: made.reference.clone(),
            amount: money(250, "USD"),
        })
        .await
        .unwrap();
    assert_eq!(refund.status, PaymentStatus::Processing);
    assert!(fake
        .bodies
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .contains(r#""amount":2.50"#));
}

#[tokio::test]
async fn settled_transactions_are_read_page_by_page() {
    let (fake, airwallex) = fake().await;
    let mut rows = Vec::new();
    for i in 0..150 {
        rows.push(json!({"id": format!("ft_{i}"), "source_id": format!("int_{i}"), "source_type": "PAYMENT_INTENT",
            "amount": 12.34, "fee": 0.5, "currency": "USD", "status": "SETTLED",
            "created_at": "2026-12-06T09:00:00Z", "settled_at": "2026-12-06T10:00:00Z"}));
    }
    rows.push(
        json!({"id": "ft_r", "source_id": "rfd_1", "source_type": "REFUND", "amount": -2.5,
        "currency": "USD", "status": "SETTLED", "created_at": "2026-12-06T10:30:00Z",
        "settled_at": "2026-12-06T11:00:00Z"}),
    );
    rows.push(
        json!({"id": "ft_p", "source_id": "int_p", "source_type": "PAYMENT_INTENT", "amount": 1,
        "currency": "USD", "status": "PENDING", "created_at": "2026-12-06T11:00:00Z"}),
    );
    *fake.transactions.lock().unwrap() = rows;
    let from = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
        .unwrap()
        .to_utc();
    let settled = airwallex
        .settled_transactions(from, from + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(settled.len(), 151, "pending ones are not settled");
    assert_eq!(settled[0].amount, money(1_234, "USD"));
    assert_eq!(settled[0].provider_fee, Some(money(50, "USD")));
    assert_eq!(settled[150].reference, "rfd_1");
    assert_eq!(settled[150].amount, money(-250, "USD"), "money out");
}

#[tokio::test]
async fn outages_and_refusals_read_as_the_orchestrator_needs() {
    let (fake, airwallex) = fake().await;
    airwallex.status("int_warm").await.unwrap_err();
    fake.outage.fail_next(1);
    let down = airwallex
        .create(&payment("k1", 100, "USD"))
        .await
        .unwrap_err();
    assert!(matches!(down, ProviderError::Unavailable(_)), "{down:?}");
    let missing = airwallex.status("int_nope").await.unwrap_err();
    assert!(
        matches!(missing, ProviderError::Rejected(ref f) if f.code == "resource_not_found"),
        "{missing:?}"
    );
}
