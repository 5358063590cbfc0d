//! Ozow, Peach and Payfast against fakes of their APIs:
//!
//! - Ozow, from hub.ozow.com "Post payment request" (`POST /PostPaymentRequest` with `ApiKey`,
//!   `HashCheck`, answering `{paymentRequestId, url, errorMessage}`) and "Get transaction by
//!   reference" (`GET /GetTransactionByReference`, a list);
//! - Peach, from developer.peachpayments.com Checkout (`POST /checkout/initiate` answering
//!   `{checkoutId, redirectUrl}`, `GET /status?merchantTransactionId=`, 404 when there is no
//!   checkout; `POST /v1/checkout/refund` with `paymentType=RF`), every request signed;
//! - Payfast, from the PHP SDK's `Request.php` (`GET /process/query/{id}` answering
//!   `{code, status, data: {response}}`, headers `merchant-id`, `version`, `timestamp`,
//!   `signature` over the headers and the query) and `TransactionHistory.php`
//!   (`GET /transactions/history?from&to`, days inclusive, answering the account's history as
//!   CSV: `Date,Type,Sign,Party,Name,Description,Currency,Funding Type,Gross,Fee,Net,Balance,
//!   M Payment ID,PF Payment ID`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{
    NextAction, PaymentProvider, ProviderError, RefundPayment,
};
use vendrome_payments::notifications::{payfast, peach};
use vendrome_payments::providers::ozow_api::{hash_check, Ozow};
use vendrome_payments::providers::payfast_api::{api_signature, Payfast};
use vendrome_payments::providers::peach_api::Peach;

use crate::support::{money, payment, serve, settings};

#[derive(Default)]
struct Ozowish {
    requests: Mutex<Vec<Value>>,
    transactions: Mutex<Vec<Value>>,
}

async fn ozow_post(State(fake): State<Arc<Ozowish>>, headers: HeaderMap, body: String) -> Response {
    assert_eq!(headers.get("apikey").unwrap(), "ozow-api-key");
    let body: Value = serde_json::from_str(&body).unwrap();
    let mut fields: Vec<(&str, String)> = Vec::new();
    for name in vendrome_payments::providers::ozow_api::REQUEST_HASHED {
        if let Some(v) = body.get(name) {
            fields.push((
                name,
                if v.is_string() {
                    v.as_str().unwrap().to_owned()
                } else {
                    v.to_string()
                },
            ));
        }
    }
    if body["HashCheck"].as_str() != Some(hash_check(&fields, "ozow-private").as_str()) {
        return Json(
            json!({"paymentRequestId": null, "url": null, "errorMessage": "Hash check failed"}),
        )
        .into_response();
    }
    fake.requests.lock().unwrap().push(body.clone());
    Json(json!({"paymentRequestId": "pr-1", "url": "https://pay.ozow.com/pr-1", "errorMessage": null})).into_response()
}

async fn ozow_get(
    State(fake): State<Arc<Ozowish>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let listed: Vec<Value> = fake
        .transactions
        .lock()
        .unwrap()
        .iter()
        .filter(|t| {
            t["transactionReference"].as_str() == q.get("transactionReference").map(String::as_str)
        })
        .cloned()
        .collect();
    Json(listed).into_response()
}

#[tokio::test]
async fn ozow_requests_are_hashed_and_deduplicated_by_reference() {
    let fake = Arc::new(Ozowish::default());
    let base = serve(
        axum::Router::new()
            .route("/PostPaymentRequest", post(ozow_post))
            .route("/GetTransactionByReference", get(ozow_get))
            .with_state(fake.clone()),
    )
    .await;
    let ozow = Ozow::new(&settings(
        ProviderId::Ozow,
        &base,
        &[
            ("PRIVATE_KEY", "ozow-private"),
            ("SITE_CODE", "TSTSTE0001"),
            ("API_KEY", "ozow-api-key"),
        ],
    ));
    let request = payment("k", 2_501, "ZAR");
    let made = ozow.create(&request).await.unwrap();
    assert_eq!(made.reference, request.payment_id);
    assert_eq!(
        made.next_action,
        NextAction::Redirect {
            url: "https://pay.ozow.com/pr-1".into()
        }
    );
    assert_eq!(
        fake.requests.lock().unwrap()[0]["Amount"],
        json!(25.01),
        "a decimal number"
    );
    // Ozow has the transaction now: a retry answers it instead of requesting again.
    fake.transactions.lock().unwrap().push(
        json!({"transactionId": "t-1", "transactionReference": request.payment_id,
        "amount": 25.01, "currency": "ZAR", "status": "Complete"}),
    );
    let again = ozow.create(&request).await.unwrap();
    assert_eq!(again.status, PaymentStatus::Succeeded);
    assert_eq!(again.amount, money(2_501, "ZAR"));
    assert_eq!(fake.requests.lock().unwrap().len(), 1, "requested once");
    assert!(matches!(
        ozow.settled_transactions(chrono::Utc::now(), chrono::Utc::now())
            .await,
        Err(ProviderError::Unsupported)
    ));
}

#[derive(Default)]
struct Peachy {
    checkouts: Mutex<HashMap<String, Value>>,
    initiated: Mutex<u32>,
}

fn signed(params: &[(String, String)]) -> bool {
    peach::verify_checkout("peach-token", params).is_ok()
}

async fn peach_initiate(
    State(fake): State<Arc<Peachy>>,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    if !signed(&params) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"result": {"code": "800.900.300", "description": "Invalid signature"}})),
        )
            .into_response();
    }
    let get = |n: &str| {
        params
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    *fake.initiated.lock().unwrap() += 1;
    let id = get("merchantTransactionId");
    let checkout_id = format!("chk-{}", fake.checkouts.lock().unwrap().len() + 1);
    fake.checkouts.lock().unwrap().insert(
        id,
        json!({"checkoutId": checkout_id, "amount": get("amount"),
        "currency": get("currency"), "result": {"code": "000.200.000", "description": "pending"},
        "redirectUrl": format!("https://testsecure.peachpayments.com/checkout/{checkout_id}")}),
    );
    Json(json!({"checkoutId": checkout_id, "redirectUrl": format!("https://testsecure.peachpayments.com/checkout/{checkout_id}")})).into_response()
}

async fn peach_status(
    State(fake): State<Arc<Peachy>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    assert!(signed(&q));
    let id = q
        .iter()
        .find(|(k, _)| k == "merchantTransactionId")
        .unwrap()
        .1
        .clone();
    match fake.checkouts.lock().unwrap().get(&id) {
        Some(c) => Json(c.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"result": {"code": "700.400.580", "description": "no transaction"}})),
        )
            .into_response(),
    }
}

async fn peach_refund(Form(params): Form<Vec<(String, String)>>) -> Response {
    assert!(signed(&params));
    assert!(params.contains(&("paymentType".into(), "RF".into())));
    Json(json!({"id": "rf-1", "result": {"code": "000.100.110", "description": "ok"}}))
        .into_response()
}

#[tokio::test]
async fn peach_checkouts_are_signed_and_deduplicated_by_merchant_transaction_id() {
    let fake = Arc::new(Peachy::default());
    let base = serve(
        axum::Router::new()
            .route("/checkout/initiate", post(peach_initiate))
            .route("/status", get(peach_status))
            .route("/v1/checkout/refund", post(peach_refund))
            .with_state(fake.clone()),
    )
    .await;
    let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let peach_adapter = Peach::new(&settings(
        ProviderId::Peach,
        &base,
        &[
            ("WEBHOOK_KEY", key),
            ("ENTITY_ID", "8ac7a4c"),
            ("SECRET_TOKEN", "peach-token"),
            ("CHECKOUT_BASE", &base),
        ],
    ))
    .unwrap();
    let request = payment("k", 9_200, "ZAR");
    let made = peach_adapter.create(&request).await.unwrap();
    assert!(matches!(made.next_action, NextAction::Redirect { ref url } if url.ends_with("chk-1")));
    let again = peach_adapter.create(&request).await.unwrap();
    assert_eq!(again.status, PaymentStatus::RequiresAction);
    assert_eq!(
        *fake.initiated.lock().unwrap(),
        1,
        "the merchantTransactionId is our dedupe"
    );
    assert_eq!(
        fake.checkouts.lock().unwrap()[&request.payment_id]["amount"],
        "92.00"
    );
    {
        let mut checkouts = fake.checkouts.lock().unwrap();
        let c = checkouts.get_mut(&request.payment_id).unwrap();
        c["id"] = json!("8ac7a4a1");
        c["result"] =
            json!({"code": "000.100.110", "description": "Request successfully processed"});
    }
    assert_eq!(
        peach_adapter.status(&made.reference).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    let refund = peach_adapter
        .refund(&RefundPayment {
            idempotency_key: "r".into(),
            refund_id: "r".into(),
            charge_reference: made.reference,
            amount: money(100, "ZAR"),
        })
        .await
        .unwrap();
    assert_eq!(
        (refund.reference.as_str(), refund.status),
        ("rf-1", PaymentStatus::Succeeded)
    );
}

/// Payfast's side: the payments it completed, by `m_payment_id`.
#[derive(Default)]
pub struct Payfasty {
    payments: Mutex<Vec<Value>>,
}

impl Payfasty {
    /// The payer paid `m_payment_id` (`minor` cents) at `at`, with no word to us (the ITN lost).
    pub fn complete(&self, m_payment_id: &str, minor: i64, at: chrono::DateTime<chrono::Utc>) {
        let mut payments = self.payments.lock().unwrap();
        let pf_payment_id = 1_089_250 + payments.len();
        payments.push(json!({"m_payment_id": m_payment_id, "pf_payment_id": pf_payment_id.to_string(),
            "status": "COMPLETE", "minor": minor, "at": at.format("%Y-%m-%d %H:%M:%S").to_string()}));
    }
}

fn rands(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// Whether a request carries Payfast's API signature over its headers and `query`.
fn payfast_signed(headers: &HeaderMap, query: &[(String, String)]) -> bool {
    let get = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
    let mut fields = vec![
        ("merchant-id".to_owned(), get("merchant-id")),
        ("timestamp".to_owned(), get("timestamp")),
        ("version".to_owned(), get("version")),
    ];
    fields.extend_from_slice(query);
    get("signature") == api_signature(&fields, "payfast-pass")
}

fn payfast_refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"code": 401, "status": "failed", "data": {"message": "bad signature"}})),
    )
        .into_response()
}

async fn payfast_query(
    State(fake): State<Arc<Payfasty>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !payfast_signed(&headers, &[]) {
        return payfast_refused();
    }
    let payments = fake.payments.lock().unwrap();
    match payments.iter().find(|p| p["m_payment_id"] == id.as_str()) {
        Some(p) => Json(
            json!({"code": 200, "status": "success", "data": {"response": {
            "pf_payment_id": p["pf_payment_id"], "m_payment_id": id, "status": p["status"],
            "amount_gross": rands(p["minor"].as_i64().unwrap())}}}),
        )
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(
                json!({"code": 404, "status": "failed", "data": {"message": "Payment not found"}}),
            ),
        )
            .into_response(),
    }
}

async fn payfast_history(
    State(fake): State<Arc<Payfasty>>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if !payfast_signed(&headers, &q) {
        return payfast_refused();
    }
    let day = |name: &str| {
        let raw = &q.iter().find(|(k, _)| k == name).unwrap().1;
        chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    };
    let (from, to) = (day("from"), day("to"));
    let mut csv = String::from("Date,Type,Sign,Party,Name,Description,Currency,Funding Type,Gross,Fee,Net,Balance,M Payment ID,PF Payment ID\n");
    let mut balance = 0;
    for p in fake.payments.lock().unwrap().iter() {
        let at = p["at"].as_str().unwrap();
        let on = chrono::NaiveDate::parse_from_str(&at[..10], "%Y-%m-%d").unwrap();
        if on < from || on > to {
            continue;
        }
        let minor = p["minor"].as_i64().unwrap();
        let fee = minor * 23 / 1000;
        balance += minor - fee;
        csv.push_str(&format!(
            "{at},COMPLETE,CREDIT,Payer,\"Doe, J\",Order,ZAR,CC,{},-{},{},{},{},{}\n",
            rands(minor),
            rands(fee),
            rands(minor - fee),
            rands(balance),
            p["m_payment_id"].as_str().unwrap(),
            p["pf_payment_id"].as_str().unwrap(),
        ));
    }
    ([("content-type", "text/csv")], csv).into_response()
}

/// A Payfast fake and the adapter pointing at it.
pub async fn payfast_fake() -> (Arc<Payfasty>, Payfast) {
    let fake = Arc::new(Payfasty::default());
    let base = serve(
        axum::Router::new()
            .route("/process/query/{id}", get(payfast_query))
            .route("/transactions/history", get(payfast_history))
            .with_state(fake.clone()),
    )
    .await;
    let adapter = Payfast::new(&settings(
        ProviderId::Payfast,
        &base,
        &[
            ("PASSPHRASE", "payfast-pass"),
            ("MERCHANT_ID", "10000100"),
            ("MERCHANT_KEY", "46f0cd694581a"),
            ("PROCESS_BASE", "https://sandbox.payfast.co.za"),
        ],
    ));
    (fake, adapter)
}

#[tokio::test]
async fn payfast_redirects_are_signed_and_queries_authenticated() {
    let (fake, adapter) = payfast_fake().await;
    let request = payment("k", 20_000, "ZAR");
    let made = adapter.create(&request).await.unwrap();
    let NextAction::Redirect { url } = &made.next_action else {
        panic!("{made:?}")
    };
    let query = url
        .strip_prefix("https://sandbox.payfast.co.za/eng/process?")
        .unwrap();
    let fields = vendrome_payments::notifications::form_fields(query.as_bytes()).unwrap();
    assert!(fields.contains(&("amount".to_owned(), "200.00".to_owned())));
    assert!(fields.contains(&("m_payment_id".to_owned(), request.payment_id.clone())));
    payfast::verify_signature(&fields, Some("payfast-pass")).expect("signed as an ITN is");
    let day = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
        .unwrap()
        .to_utc();
    fake.complete(
        &request.payment_id,
        20_000,
        day + chrono::Duration::hours(10),
    );
    let read = adapter.status(&made.reference).await.unwrap();
    assert_eq!(
        (read.status, read.amount),
        (PaymentStatus::Succeeded, money(20_000, "ZAR"))
    );
    let dollars = adapter
        .create(&payment("k2", 100, "USD"))
        .await
        .unwrap_err();
    assert!(matches!(dollars, ProviderError::Rejected(_)));

    // The history, signed over its query too, within the window only.
    fake.complete("late", 500, day + chrono::Duration::hours(30));
    let settled = adapter
        .settled_transactions(day, day + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].reference, request.payment_id);
    assert_eq!(settled[0].amount, money(20_000, "ZAR"));
    assert_eq!(settled[0].provider_fee, Some(money(460, "ZAR")));
}
