//! Checkout over HTTP with the sandbox provider: paying (and declining) on its page, the ledger
//! it posts, refunds, a seller's cancel of a paid order, providers' webhooks (signatures,
//! duplicates, unknown providers), and the order events on the realtime gateway. The ledger is
//! checked after every payment.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::PaymentId;
use vendrome_core::ledger::LedgerRepo as _;
use vendrome_core::payments::PaymentRepo as _;
use vendrome_payments::SandboxOutcome;

use crate::orders::{ledger_is_clean, order, product};
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};
use crate::ws_client::Ws;

both_stores!(
    checkout_with_the_sandbox_pays_the_order,
    a_declined_payment_leaves_the_order_payable,
    refunds_add_up_to_the_total,
    webhooks_are_verified_and_applied_once
);

/// A seller, a buyer (tokens) and an order of 2 × 100.00 ZAR.
async fn ordered(app: &TestApp) -> (String, String, Value) {
    let seller = app.token(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let post = product(app, &seller, 10_000, "ZAR", Some(5)).await;
    let placed = order(app, &buyer, &[(&post, 2)]).await;
    (seller, buyer, placed)
}

async fn checkout(app: &TestApp, buyer: &str, order: &Value) -> reqwest::Response {
    app.post(&format!(
        "/v1/orders/{}/checkout",
        order["id"].as_str().unwrap()
    ))
    .bearer_auth(buyer)
    .json(&json!({ "provider": "sandbox" }))
    .send()
    .await
    .unwrap()
}

async fn complete(app: &TestApp, payment: &Value, outcome: &str) -> Value {
    let id = payment["id"].as_str().unwrap();
    let done = succeed(
        app.post(&format!("/v1/payments/sandbox/{id}/complete"))
            .json(&json!({ "outcome": outcome })),
    )
    .await;
    done["data"].clone()
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
        .unwrap_or_else(|| panic!("no account {code} in {accounts}"))["balance"]
        .as_i64()
        .unwrap()
}

async fn checkout_with_the_sandbox_pays_the_order(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.background = true;
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let (seller, buyer, placed) = ordered(&app).await;
    let admin = app.token(UserRole::Admin).await;
    let mut buyer_ws = Ws::signed_in(&app, &buyer).await;
    let mut seller_ws = Ws::signed_in(&app, &seller).await;
    let order_id = placed["id"].as_str().unwrap();
    assert_eq!(placed["total_amount"], 20_000);
    assert_eq!(placed["platform_fee_amount"], 1_000);

    let methods = get(&app, &buyer, "/v1/payments/methods?currency=ZAR").await;
    assert_eq!(methods[0]["provider"], "sandbox", "{methods}");

    let paying = expect_status(
        app.post(&format!("/v1/orders/{order_id}/checkout"))
            .bearer_auth(&buyer)
            .header("idempotency-key", "pay-1"),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(paying["status"], "requires_action", "{paying}");
    assert_eq!(paying["provider"], "sandbox");
    assert_eq!(paying["amount"], 20_000);
    assert_eq!(paying["currency"], "ZAR");
    let payment_id = paying["id"].as_str().unwrap();
    let url = paying["next_action"]["url"].as_str().unwrap();
    assert_eq!(paying["next_action"]["type"], "redirect");
    assert_eq!(url, app.url(&format!("/v1/payments/sandbox/{payment_id}")));

    let page = app.client.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains(">Pay</button>") && html.contains(">Decline</button>"));
    assert!(html.contains("200.00 ZAR"), "{html}");

    let paid = complete(&app, &paying, "succeeded").await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(paid["next_action"]["type"], "none");
    for ws in [&mut buyer_ws, &mut seller_ws] {
        let frame = ws.expect("order.paid").await;
        assert_eq!(frame["data"]["order_id"], order_id, "{frame}");
    }
    let order = get(&app, &buyer, &format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert!(order["paid_at"].is_string());
    let payment = get(&app, &seller, &format!("/v1/payments/{payment_id}")).await;
    assert_eq!(payment["status"], "succeeded");

    // Debit clearing the total; credit the seller the total less the fee, and the fee.
    let seller_id = order["seller"].as_str().unwrap();
    assert_eq!(
        balance(&app, &admin, "provider:sandbox:clearing:ZAR").await,
        20_000
    );
    assert_eq!(
        balance(&app, &admin, &format!("user:{seller_id}:payable:ZAR")).await,
        19_000
    );
    assert_eq!(balance(&app, &admin, "platform:fees:ZAR").await, 1_000);
    let entries = get(
        &app,
        &admin,
        "/v1/admin/ledger/accounts/platform:fees:ZAR/entries",
    )
    .await;
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["direction"], "credit");
    assert_eq!(entries[0]["payment_id"], payment_id);
    ledger_is_clean(&app).await;

    // A retry with the same key answers the same payment; another key finds the order paid.
    let retried = expect_status(
        app.post(&format!("/v1/orders/{order_id}/checkout"))
            .bearer_auth(&buyer)
            .header("idempotency-key", "pay-1"),
        201,
    )
    .await;
    assert_eq!(retried["data"]["id"], payment_id);
    expect_error(checkout(&app, &buyer, &placed).await, 409, "already_paid").await;

    // The seller ships, the buyer confirms.
    let fulfilled = succeed(
        app.post(&format!("/v1/orders/{order_id}/fulfil"))
            .bearer_auth(&seller),
    )
    .await;
    assert_eq!(fulfilled["data"]["status"], "fulfilled");
    expect_error(
        app.post(&format!("/v1/orders/{order_id}/complete"))
            .bearer_auth(&seller)
            .send()
            .await
            .unwrap(),
        403,
        "not_order_party_action",
    )
    .await;
    let completed = succeed(
        app.post(&format!("/v1/orders/{order_id}/complete"))
            .bearer_auth(&buyer),
    )
    .await;
    assert_eq!(completed["data"]["status"], "completed");
    ledger_is_clean(&app).await;
}

async fn a_declined_payment_leaves_the_order_payable(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, buyer, placed) = ordered(&app).await;
    let order_id = placed["id"].as_str().unwrap();
    let first = expect_status_of(checkout(&app, &buyer, &placed).await, 201).await;
    let declined = complete(&app, &first, "failed").await;
    assert_eq!(declined["status"], "failed", "{declined}");
    let order = get(&app, &buyer, &format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "pending_payment");

    let second = expect_status_of(checkout(&app, &buyer, &placed).await, 201).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(
        complete(&app, &second, "succeeded").await["status"],
        "succeeded"
    );
    // A late Pay on the declined page moves nothing back or forward.
    assert_eq!(
        complete(&app, &first, "succeeded").await["status"],
        "failed"
    );
    let order = get(&app, &buyer, &format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "paid");
    ledger_is_clean(&app).await;
}

async fn expect_status_of(response: reqwest::Response, status: u16) -> Value {
    let (got, body) = crate::support::json(response).await;
    assert_eq!(got, status, "{body}");
    body["data"].clone()
}

async fn refunds_add_up_to_the_total(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (seller, buyer, placed) = ordered(&app).await;
    let order_id = placed["id"].as_str().unwrap();
    let paying = expect_status_of(checkout(&app, &buyer, &placed).await, 201).await;
    complete(&app, &paying, "succeeded").await;
    let refund = |token: &str, body: Option<Value>| {
        let request = app
            .post(&format!("/v1/orders/{order_id}/refunds"))
            .bearer_auth(token);
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
    };

    let part = expect_status(refund(&seller, Some(json!({ "amount": 5_000 }))), 201).await;
    assert_eq!(part["data"]["kind"], "refund", "{part}");
    assert_eq!(part["data"]["status"], "succeeded");
    assert_eq!(part["data"]["amount"], 5_000);
    let order = get(&app, &buyer, &format!("/v1/orders/{order_id}")).await;
    assert_eq!(
        (order["status"].as_str(), order["refunded_amount"].as_i64()),
        (Some("paid"), Some(5_000))
    );
    ledger_is_clean(&app).await;

    expect_error(
        refund(&buyer, Some(json!({ "amount": 1 })))
            .send()
            .await
            .unwrap(),
        403,
        "not_order_party_action",
    )
    .await;
    expect_error(
        refund(&seller, Some(json!({ "amount": 15_001 })))
            .send()
            .await
            .unwrap(),
        422,
        "refund_exceeds_total",
    )
    .await;
    let rest = expect_status(refund(&seller, None), 201).await;
    assert_eq!(rest["data"]["amount"], 15_000, "{rest}");
    let order = get(&app, &buyer, &format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "refunded");
    assert_eq!(order["refunded_amount"], 20_000);
    ledger_is_clean(&app).await;

    // A seller's cancel of a paid order refunds it in full; the buyer may not.
    let (seller, buyer, placed) = ordered(&app).await;
    let order_id = placed["id"].as_str().unwrap();
    let paying = expect_status_of(checkout(&app, &buyer, &placed).await, 201).await;
    complete(&app, &paying, "succeeded").await;
    let cancel = |token: &str| {
        app.post(&format!("/v1/orders/{order_id}/cancel"))
            .bearer_auth(token)
    };
    expect_error(
        cancel(&buyer).send().await.unwrap(),
        403,
        "not_order_party_action",
    )
    .await;
    let cancelled = succeed(cancel(&seller)).await;
    assert_eq!(cancelled["data"]["status"], "refunded", "{cancelled}");
    assert_eq!(cancelled["data"]["refunded_amount"], 20_000);
    ledger_is_clean(&app).await;
}

async fn webhooks_are_verified_and_applied_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, buyer, placed) = ordered(&app).await;
    let paying = expect_status_of(checkout(&app, &buyer, &placed).await, 201).await;
    let id: PaymentId = paying["id"].as_str().unwrap().parse().unwrap();
    let payment = app.db.store.payment(id).await.unwrap().unwrap();
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let (headers, body) = sandbox.outcome_webhook(&payment, SandboxOutcome::Succeeded);
    let deliver = |headers: &[(String, String)], provider: &str| {
        let mut request = app
            .post(&format!("/v1/payments/webhooks/{provider}"))
            .header("content-type", "application/json")
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request
    };

    let tampered: Vec<_> = headers
        .iter()
        .map(|(n, v)| (n.clone(), format!("{}00", &v[..v.len() - 2])))
        .collect();
    expect_error(
        deliver(&tampered, "sandbox").send().await.unwrap(),
        400,
        "invalid_signature",
    )
    .await;
    expect_error(
        deliver(&[], "sandbox").send().await.unwrap(),
        400,
        "invalid_signature",
    )
    .await;
    for provider in ["nope", "stripe"] {
        expect_error(
            deliver(&headers, provider).send().await.unwrap(),
            404,
            "provider_not_configured",
        )
        .await;
    }

    let first = expect_status(deliver(&headers, "sandbox"), 200).await;
    assert_eq!(first["data"]["outcome"], "applied", "{first}");
    // The same event again (with an Idempotency-Key, which the webhook route ignores).
    let again = expect_status(
        deliver(&headers, "sandbox").header("idempotency-key", "delivery"),
        200,
    )
    .await;
    assert_eq!(again["data"]["outcome"], "duplicate", "{again}");
    let postings = app.db.store.postings_for_payment(id).await.unwrap();
    let transactions: std::collections::HashSet<_> =
        postings.iter().map(|e| e.transaction_id).collect();
    assert_eq!(transactions.len(), 1, "one posting: {postings:?}");
    let order = get(
        &app,
        &buyer,
        &format!("/v1/orders/{}", placed["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(order["status"], "paid");
    ledger_is_clean(&app).await;
}
