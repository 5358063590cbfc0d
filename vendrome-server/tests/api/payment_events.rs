//! `payment.*` events on the realtime gateway over real sockets: the payer and the payee hear a
//! declined payment (`payment.failed`), a paid one (`payment.succeeded`) and a refund
//! (`payment.refunded`); a third member connected all along hears none of them.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::orders::{ledger_is_clean, order, product};
use crate::support::{expect_status, spawn_with, succeed, Backend, Setup, TestApp};
use crate::ws_client::Ws;

both_stores!(the_payer_and_the_payee_hear_payment_events_and_no_one_else);

/// A sandbox checkout of `order_id` by the buyer, settled as `outcome`; the payment's id.
async fn pay(app: &TestApp, buyer: &str, order_id: &str, key: &str, outcome: &str) -> String {
    let paying = expect_status(
        app.post(&format!("/v1/orders/{order_id}/checkout"))
            .bearer_auth(buyer)
            .header("idempotency-key", key)
            .json(&json!({ "provider": "sandbox" })),
        201,
    )
    .await;
    let id = paying["data"]["id"].as_str().unwrap().to_owned();
    succeed(
        app.post(&format!("/v1/payments/sandbox/{id}/complete"))
            .json(&json!({ "outcome": outcome })),
    )
    .await;
    id
}

/// The next `kind` frame on each socket is about `payment` and says `status` and `amount`;
/// the last socket's frame.
async fn both_hear(
    sockets: [&mut Ws; 2],
    kind: &str,
    payment: &str,
    status: &str,
    amount: i64,
) -> Value {
    let mut last = Value::Null;
    for ws in sockets {
        let frame = ws.expect(kind).await;
        let data = &frame["data"];
        assert_eq!(
            (
                data["payment_id"].as_str(),
                data["status"].as_str(),
                data["amount"].as_i64()
            ),
            (Some(payment), Some(status), Some(amount)),
            "{frame}"
        );
        last = frame;
    }
    last
}

async fn the_payer_and_the_payee_hear_payment_events_and_no_one_else(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.background = true;
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let (seller_id, seller) = app.user(UserRole::Member).await;
    let (buyer_id, buyer) = app.user(UserRole::Member).await;
    let third = app.token(UserRole::Member).await;
    let mut buyer_ws = Ws::signed_in(&app, &buyer).await;
    let mut seller_ws = Ws::signed_in(&app, &seller).await;
    let mut third_ws = Ws::signed_in(&app, &third).await;
    let lamp = product(&app, &seller, 30_000, "ZAR", None).await;
    let placed = order(&app, &buyer, &[(&lamp, 1)]).await;
    let order_id = placed["id"].as_str().unwrap();

    let declined = pay(&app, &buyer, order_id, "pay-1", "failed").await;
    both_hear(
        [&mut buyer_ws, &mut seller_ws],
        "payment.failed",
        &declined,
        "failed",
        30_000,
    )
    .await;

    let paid = pay(&app, &buyer, order_id, "pay-2", "succeeded").await;
    let frame = both_hear(
        [&mut buyer_ws, &mut seller_ws],
        "payment.succeeded",
        &paid,
        "succeeded",
        30_000,
    )
    .await;
    assert_eq!(frame["data"]["payer_id"], json!(buyer_id), "{frame}");
    assert_eq!(frame["data"]["payee_id"], json!(seller_id), "{frame}");

    let refund = expect_status(
        app.post(&format!("/v1/orders/{order_id}/refunds"))
            .bearer_auth(&seller)
            .json(&json!({ "amount": 12_000 })),
        201,
    )
    .await;
    let refund_id = refund["data"]["id"].as_str().unwrap();
    both_hear(
        [&mut buyer_ws, &mut seller_ws],
        "payment.refunded",
        refund_id,
        "succeeded",
        12_000,
    )
    .await;
    ledger_is_clean(&app).await;

    // The third member's own order is announced to them after every event above was routed;
    // nothing about the other order reached their socket before it.
    let own = order(&app, &third, &[(&lamp, 1)]).await;
    let mut heard: Vec<Value> = Vec::new();
    loop {
        let frame = third_ws.next().await.expect("the socket stays open");
        if frame["type"] == "order.created" && frame["data"]["order_id"] == own["id"] {
            break;
        }
        heard.push(frame);
    }
    let about_others: Vec<&Value> = heard
        .iter()
        .filter(|f| {
            let kind = f["type"].as_str().unwrap_or_default();
            kind.starts_with("payment.") || kind.starts_with("order.")
        })
        .collect();
    assert!(
        about_others.is_empty(),
        "a third member heard of others' payments: {about_others:?}"
    );
}
