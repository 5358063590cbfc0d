//! Paid bookings over HTTP with the sandbox provider: a service's booking settings in its post
//! payload; a booking of a priced service awaiting payment holds its slot, is paid through the
//! sandbox (its page, then the signed webhook) and moves on, with its posting written once even
//! when the webhook is delivered twice; a cancellation refunds per the service's policy with the
//! reverse share; the ledger is checked after each.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::PaymentId;
use vendrome_core::ledger::LedgerRepo as _;
use vendrome_core::payments::PaymentRepo as _;
use vendrome_payments::SandboxOutcome;

use crate::bookings::{book, open_all_week, slots};
use crate::orders::ledger_is_clean;
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    booking_settings_are_set_and_read_back_in_the_service_payload,
    a_paid_booking_is_paid_through_the_sandbox_and_posted_once,
    cancelling_a_paid_booking_refunds_per_the_policy
);

/// Publishes a one-hour service of the token's member at `rate` cents with `settings` merged
/// into its payload; its post id.
pub async fn paid_service(app: &TestApp, provider: &str, rate: i64, settings: Value) -> String {
    let mut payload = json!({ "title": "Tax advice", "rate_minor": rate, "currency": "ZAR",
        "rate_unit": "fixed", "duration_minutes": 60 });
    for (k, v) in settings.as_object().unwrap() {
        payload[k] = v.clone();
    }
    let body = expect_status(
        app.post("/v1/posts").bearer_auth(provider).json(&json!({
            "type": "service", "body": "Advice", "payload": payload,
        })),
        201,
    )
    .await;
    body["data"]["id"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    succeed(app.get(path).bearer_auth(token)).await["data"].clone()
}

async fn balance(app: &TestApp, admin: &str, code: &str) -> i64 {
    let accounts = get(app, admin, "/v1/admin/ledger/accounts?limit=100").await;
    accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == code)
        .map_or(0, |a| a["balance"].as_i64().unwrap())
}

pub fn checkout(app: &TestApp, client: &str, booking: &str) -> reqwest::RequestBuilder {
    app.post(&format!("/v1/bookings/{booking}/checkout"))
        .bearer_auth(client)
        .json(&json!({ "provider": "sandbox" }))
}

/// Delivers a signed sandbox webhook as the provider would; the outcome it reports.
pub async fn deliver(app: &TestApp, headers: &[(String, String)], body: &[u8]) -> Value {
    let mut request = app
        .post("/v1/payments/webhooks/sandbox")
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    expect_status(request, 200).await["data"]["outcome"].clone()
}

async fn booking_settings_are_set_and_read_back_in_the_service_payload(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let defaults = paid_service(&app, &provider, 0, json!({})).await;
    let payload = get(&app, &provider, &format!("/v1/posts/{defaults}")).await["payload"].clone();
    assert_eq!(payload["auto_confirm"], false, "{payload}");
    assert_eq!(payload["cancellation_window_hours"], 24);
    assert_eq!(payload["late_cancellation_refund"], "half");

    let settings = json!({ "auto_confirm": true, "cancellation_window_hours": 48,
        "late_cancellation_refund": "none" });
    let set = paid_service(&app, &provider, 10_000, settings.clone()).await;
    let path = format!("/v1/posts/{set}");
    let mut payload = get(&app, &provider, &path).await["payload"].clone();
    // As read, the payload names its type; as written, the post does.
    payload.as_object_mut().unwrap().remove("type");
    for key in [
        "auto_confirm",
        "cancellation_window_hours",
        "late_cancellation_refund",
    ] {
        assert_eq!(payload[key], settings[key], "{key}: {payload}");
    }

    // A booked service's settings are edited in place (its bookings reference it).
    open_all_week(&app, &provider).await;
    let client = app.token(UserRole::Member).await;
    let slot = slots(&app, &set).await[0]["starts_at"].clone();
    expect_status(book(&app, &client, &set, &slot), 201).await;
    let mut edited = payload.clone();
    edited["auto_confirm"] = json!(false);
    edited["late_cancellation_refund"] = json!("full");
    succeed(
        app.patch(&path)
            .bearer_auth(&provider)
            .json(&json!({ "payload": edited })),
    )
    .await;
    let read = get(&app, &provider, &path).await["payload"].clone();
    assert_eq!(read["auto_confirm"], false, "{read}");
    assert_eq!(read["late_cancellation_refund"], "full");

    for (field, value) in [
        ("cancellation_window_hours", json!(8761)),
        ("cancellation_window_hours", json!(-1)),
        ("late_cancellation_refund", json!("most")),
        ("auto_confirm", json!("yes")),
    ] {
        let mut wrong = payload.clone();
        wrong[field] = value;
        let body = expect_error(
            app.post("/v1/posts")
                .bearer_auth(&provider)
                .json(&json!({ "type": "service", "body": "Advice", "payload": wrong }))
                .send()
                .await
                .unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert!(
            body["error"]["details"]["fields"][format!("payload.{field}")].is_array(),
            "{field}: {body}"
        );
    }
}

async fn a_paid_booking_is_paid_through_the_sandbox_and_posted_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let (client_id, client) = app.user(UserRole::Member).await;
    let rival = app.token(UserRole::Member).await;
    let admin = app.token(UserRole::Admin).await;
    let post = paid_service(&app, &provider, 50_000, json!({ "auto_confirm": true })).await;
    open_all_week(&app, &provider).await;
    let slot = slots(&app, &post).await[1]["starts_at"].clone();

    let made = expect_status(
        book(&app, &client, &post, &slot).header("idempotency-key", "book-paid"),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(made["status"], "awaiting_payment", "{made}");
    assert_eq!(made["amount"], 50_000);
    // 5 % of the price.
    assert_eq!(made["platform_fee_amount"], 2_500);
    let id = made["id"].as_str().unwrap();
    // It holds its slot while it waits.
    assert!(slots(&app, &post)
        .await
        .iter()
        .all(|s| s["starts_at"] != slot));
    expect_error(
        book(&app, &rival, &post, &slot).send().await.unwrap(),
        409,
        "slot_unavailable",
    )
    .await;

    // Only the client pays.
    expect_error(
        checkout(&app, &provider, id).send().await.unwrap(),
        403,
        "not_booking_party_action",
    )
    .await;
    let paying = expect_status(
        checkout(&app, &client, id).header("idempotency-key", "pay-1"),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(paying["status"], "requires_action", "{paying}");
    assert_eq!(paying["amount"], 50_000);
    assert_eq!(paying["fee_amount"], 2_500);
    assert_eq!(paying["next_action"]["type"], "redirect");
    assert_eq!(paying["payer_id"], json!(client_id));
    let payment_id: PaymentId = paying["id"].as_str().unwrap().parse().unwrap();

    // The provider's signed webhook, delivered twice: applied once, then a duplicate.
    let payment = app.db.store.payment(payment_id).await.unwrap().unwrap();
    assert_eq!(
        payment.booking_id.map(|b| b.to_string()),
        Some(id.to_owned())
    );
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let (headers, body) = sandbox.outcome_webhook(&payment, SandboxOutcome::Succeeded);
    assert_eq!(deliver(&app, &headers, &body).await, "applied");
    assert_eq!(deliver(&app, &headers, &body).await, "duplicate");
    // Another event about the same success moves nothing.
    let (headers, body) = sandbox.outcome_webhook(&payment, SandboxOutcome::Succeeded);
    assert_eq!(deliver(&app, &headers, &body).await, "stale");

    let paid = get(&app, &client, &format!("/v1/bookings/{id}")).await;
    assert_eq!(paid["status"], "confirmed", "auto-confirmed: {paid}");
    let postings = app.db.store.postings_for_payment(payment_id).await.unwrap();
    let transactions: std::collections::HashSet<_> =
        postings.iter().map(|e| e.transaction_id).collect();
    assert_eq!(transactions.len(), 1, "one posting: {postings:?}");
    let provider_id = made["provider"].as_str().unwrap();
    assert_eq!(
        balance(&app, &admin, "provider:sandbox:clearing:ZAR").await,
        50_000
    );
    assert_eq!(
        balance(&app, &admin, &format!("user:{provider_id}:payable:ZAR")).await,
        47_500
    );
    assert_eq!(balance(&app, &admin, "platform:fees:ZAR").await, 2_500);
    ledger_is_clean(&app).await;

    // A retry with the same key answers the same payment; another key finds it paid.
    let retried = expect_status(
        checkout(&app, &client, id).header("idempotency-key", "pay-1"),
        201,
    )
    .await;
    assert_eq!(retried["data"]["id"], paying["id"]);
    expect_error(
        checkout(&app, &client, id).send().await.unwrap(),
        409,
        "already_paid",
    )
    .await;
    // A free booking has nothing to pay.
    let free = paid_service(&app, &provider, 0, json!({})).await;
    let free_slot = slots(&app, &free).await[5]["starts_at"].clone();
    let free_booking = expect_status(book(&app, &rival, &free, &free_slot), 201).await["data"]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_error(
        checkout(&app, &rival, &free_booking).send().await.unwrap(),
        409,
        "invalid_booking_transition",
    )
    .await;
}

async fn cancelling_a_paid_booking_refunds_per_the_policy(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let admin = app.token(UserRole::Admin).await;
    // A year-long window: every cancellation by the client is late, and gets half back.
    let post = paid_service(
        &app,
        &provider,
        50_001,
        json!({ "cancellation_window_hours": 8760, "late_cancellation_refund": "half" }),
    )
    .await;
    open_all_week(&app, &provider).await;
    let offered = slots(&app, &post).await;
    let (first, second) = (
        offered[0]["starts_at"].clone(),
        offered[3]["starts_at"].clone(),
    );

    // Paid on the sandbox's page: the booking is requested, for the provider to confirm.
    let booking = expect_status(book(&app, &client, &post, &first), 201).await["data"].clone();
    let id = booking["id"].as_str().unwrap();
    let paying = expect_status(checkout(&app, &client, id), 201).await["data"].clone();
    let pid = paying["id"].as_str().unwrap();
    succeed(
        app.post(&format!("/v1/payments/sandbox/{pid}/complete"))
            .json(&json!({ "outcome": "succeeded" })),
    )
    .await;
    let requested = get(&app, &client, &format!("/v1/bookings/{id}")).await;
    assert_eq!(requested["status"], "requested", "{requested}");
    let provider_id = requested["provider"].as_str().unwrap().to_owned();
    let payable = format!("user:{provider_id}:payable:ZAR");
    // 5 % of 500.01 is 25.0005, rounded to 25.00.
    assert_eq!(balance(&app, &admin, &payable).await, 47_501);

    // The client cancels late: half of 500.01, rounded down.
    let cancelled = succeed(
        app.post(&format!("/v1/bookings/{id}/cancel"))
            .bearer_auth(&client)
            .json(&json!({ "reason": "ill" })),
    )
    .await["data"]
        .clone();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["refund_amount"], 25_000);
    let payments = get(&app, &client, "/v1/me/payments").await;
    let refund = payments
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "refund")
        .unwrap_or_else(|| panic!("no refund in {payments}"))
        .clone();
    assert_eq!(refund["status"], "succeeded", "{refund}");
    assert_eq!(refund["amount"], 25_000);
    assert_eq!(refund["refund_of"], paying["id"]);
    // The reverse share: the provider gives back its share of the refund, the platform its fee's.
    assert_eq!(
        balance(&app, &admin, "provider:sandbox:clearing:ZAR").await,
        50_001 - 25_000
    );
    let fee_back = balance(&app, &admin, "platform:fees:ZAR").await;
    assert_eq!(
        balance(&app, &admin, &payable).await + fee_back,
        50_001 - 25_000
    );
    assert!(
        fee_back < 2_500,
        "part of the fee is given back: {fee_back}"
    );
    ledger_is_clean(&app).await;
    // Its slot is offered again; cancelling again changes nothing.
    assert!(slots(&app, &post)
        .await
        .iter()
        .any(|s| s["starts_at"] == first));
    expect_error(
        app.post(&format!("/v1/bookings/{id}/cancel"))
            .bearer_auth(&client)
            .send()
            .await
            .unwrap(),
        409,
        "invalid_booking_transition",
    )
    .await;

    // The provider cancels a paid booking: everything back, whatever the window.
    let other = expect_status(book(&app, &client, &post, &second), 201).await["data"].clone();
    let other_id = other["id"].as_str().unwrap();
    let paying = expect_status(checkout(&app, &client, other_id), 201).await["data"].clone();
    let pid = paying["id"].as_str().unwrap();
    succeed(
        app.post(&format!("/v1/payments/sandbox/{pid}/complete"))
            .json(&json!({ "outcome": "succeeded" })),
    )
    .await;
    let by_provider = succeed(
        app.post(&format!("/v1/bookings/{other_id}/cancel"))
            .bearer_auth(&provider),
    )
    .await["data"]
        .clone();
    assert_eq!(by_provider["refund_amount"], 50_001);
    assert_eq!(
        balance(&app, &admin, "provider:sandbox:clearing:ZAR").await,
        50_001 - 25_000
    );
    ledger_is_clean(&app).await;

    // An unpaid booking is cancelled with nothing to refund.
    let unpaid = expect_status(book(&app, &client, &post, &second), 201).await["data"].clone();
    let unpaid = succeed(
        app.post(&format!(
            "/v1/bookings/{}/cancel",
            unpaid["id"].as_str().unwrap()
        ))
        .bearer_auth(&client),
    )
    .await["data"]
        .clone();
    assert_eq!(unpaid["status"], "cancelled");
    assert_eq!(unpaid["refund_amount"], 0);
    ledger_is_clean(&app).await;
}
