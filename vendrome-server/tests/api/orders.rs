//! Product orders over HTTP: placing them (one seller, one currency, not one's own listing),
//! stock reserved atomically under concurrent buyers, and who may see what. The helpers here
//! are shared with the checkout tests.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ledger::LedgerRepo as _;

use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    orders_are_one_seller_one_currency_and_not_ones_own,
    fifty_buyers_share_a_stock_of_ten,
    strangers_do_not_see_orders_or_payments
);

/// Publishes a product of the token's member; its post id.
pub async fn product(
    app: &TestApp,
    seller: &str,
    price: i64,
    currency: &str,
    stock: Option<i32>,
) -> String {
    let body = expect_status(
        app.post("/v1/posts").bearer_auth(seller).json(&json!({
            "type": "product",
            "body": "For sale",
            "payload": { "title": "Mug", "price_minor": price, "currency": currency,
                "stock_quantity": stock },
        })),
        201,
    )
    .await;
    body["data"]["id"].as_str().unwrap().to_owned()
}

/// Places an order of `lines` (post id, quantity) for the token's member; the raw response.
pub async fn place(app: &TestApp, buyer: &str, lines: &[(&str, i32)]) -> reqwest::Response {
    let items: Vec<Value> = lines
        .iter()
        .map(|(post, quantity)| json!({ "post_id": post, "quantity": quantity }))
        .collect();
    app.post("/v1/orders")
        .bearer_auth(buyer)
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap()
}

/// Places an order that must succeed; its `data`.
pub async fn order(app: &TestApp, buyer: &str, lines: &[(&str, i32)]) -> Value {
    let (status, body) = crate::support::json(place(app, buyer, lines).await).await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

/// Asserts the whole ledger balances and every balance is the sum of its entries.
pub async fn ledger_is_clean(app: &TestApp) {
    let check = app.db.store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}

async fn orders_are_one_seller_one_currency_and_not_ones_own(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let seller = app.token(UserRole::Member).await;
    let other_seller = app.token(UserRole::Member).await;
    let (buyer_id, buyer) = app.user(UserRole::Member).await;
    let mug = product(&app, &seller, 15_050, "ZAR", Some(3)).await;
    let bowl = product(&app, &seller, 9_999, "ZAR", None).await;
    let chair = product(&app, &seller, 9_000, "EUR", None).await;
    let lamp = product(&app, &other_seller, 4_500, "ZAR", None).await;

    let placed = order(&app, &buyer, &[(&mug, 2), (&bowl, 1)]).await;
    assert_eq!(placed["status"], "pending_payment");
    assert_eq!(placed["buyer"], json!(buyer_id));
    assert_eq!(placed["currency"], "ZAR");
    assert_eq!(placed["subtotal_amount"], 40_099);
    assert_eq!(placed["shipping_amount"], 0);
    assert_eq!(placed["total_amount"], 40_099);
    // 5 % of 400.99 is 20.0495, rounded half-up to 20.05.
    assert_eq!(placed["platform_fee_amount"], 2_005);
    assert_eq!(placed["items"][0]["line_amount"], 30_100);
    assert_eq!(placed["items"][0]["title"], "Mug");
    assert!(placed["expires_at"].is_string());

    expect_error(
        place(&app, &buyer, &[(&mug, 1), (&lamp, 1)]).await,
        422,
        "mixed_sellers",
    )
    .await;
    expect_error(
        place(&app, &buyer, &[(&mug, 1), (&chair, 1)]).await,
        422,
        "mixed_currencies",
    )
    .await;
    expect_error(place(&app, &seller, &[(&mug, 1)]).await, 422, "own_listing").await;
    expect_error(place(&app, &buyer, &[(&mug, 2)]).await, 409, "out_of_stock").await;
    expect_error(
        place(&app, &buyer, &[(&mug, 0)]).await,
        422,
        "validation_failed",
    )
    .await;

    // The same key answers the same order.
    let key_order = |key: &'static str| {
        app.post("/v1/orders")
            .bearer_auth(&buyer)
            .header("idempotency-key", key)
            .json(&json!({ "items": [{ "post_id": bowl, "quantity": 1 }] }))
    };
    let first = expect_status(key_order("order-1"), 201).await;
    let again = expect_status(key_order("order-1"), 201).await;
    assert_eq!(first["data"]["id"], again["data"]["id"]);

    let mine = succeed(
        app.get("/v1/me/orders")
            .query(&[("role", "buyer"), ("status", "pending_payment")])
            .bearer_auth(&buyer),
    )
    .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 2, "{mine}");
    let sold = succeed(
        app.get("/v1/me/orders")
            .query(&[("role", "seller")])
            .bearer_auth(&seller),
    )
    .await;
    assert_eq!(sold["data"].as_array().unwrap().len(), 2, "{sold}");
    let paid = succeed(
        app.get("/v1/me/orders")
            .query(&[("status", "paid")])
            .bearer_auth(&buyer),
    )
    .await;
    assert_eq!(paid["data"], json!([]));
}

async fn fifty_buyers_share_a_stock_of_ten(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let seller = app.token(UserRole::Member).await;
    let post = product(&app, &seller, 2_500, "ZAR", Some(10)).await;
    let mut buyers = Vec::new();
    for _ in 0..50 {
        buyers.push(app.token(UserRole::Member).await);
    }
    let answers = futures::future::join_all(buyers.iter().map(|buyer| async {
        let (status, body) = crate::support::json(place(&app, buyer, &[(&post, 1)]).await).await;
        (status, body["error"]["code"].as_str().map(str::to_owned))
    }))
    .await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let sold_out = answers
        .iter()
        .filter(|(s, code)| *s == 409 && code.as_deref() == Some("out_of_stock"))
        .count();
    assert_eq!((created, sold_out), (10, 40), "{answers:?}");
    let product = succeed(app.get(&format!("/v1/posts/{post}")).bearer_auth(&seller)).await;
    assert_eq!(product["data"]["payload"]["stock_quantity"], 0, "{product}");
}

async fn strangers_do_not_see_orders_or_payments(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let seller = app.token(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let stranger = app.token(UserRole::Member).await;
    let admin = app.token(UserRole::Admin).await;
    let post = product(&app, &seller, 1_000, "ZAR", None).await;
    let placed = order(&app, &buyer, &[(&post, 1)]).await;
    let id = placed["id"].as_str().unwrap();
    let paying = expect_status(
        app.post(&format!("/v1/orders/{id}/checkout"))
            .bearer_auth(&buyer),
        201,
    )
    .await;
    let payment = paying["data"]["id"].as_str().unwrap();

    for path in [
        format!("/v1/orders/{id}"),
        format!("/v1/payments/{payment}"),
    ] {
        expect_error(
            app.get(&path).bearer_auth(&stranger).send().await.unwrap(),
            404,
            "not_found",
        )
        .await;
        succeed(app.get(&path).bearer_auth(&seller)).await;
        succeed(app.get(&path).bearer_auth(&admin)).await;
    }
    expect_error(
        app.post(&format!("/v1/orders/{id}/checkout"))
            .bearer_auth(&stranger)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    // Only the buyer pays, only the seller fulfils.
    expect_error(
        app.post(&format!("/v1/orders/{id}/checkout"))
            .bearer_auth(&seller)
            .send()
            .await
            .unwrap(),
        403,
        "not_order_party_action",
    )
    .await;
    let mine = succeed(app.get("/v1/me/payments").bearer_auth(&seller)).await;
    assert_eq!(mine["data"][0]["id"], payment, "the payee sees it: {mine}");

    for path in [
        "/v1/admin/ledger/accounts".to_owned(),
        "/v1/admin/ledger/accounts/platform:fees:ZAR/entries".to_owned(),
        format!("/v1/admin/reconciliation/runs/{}", uuid::Uuid::now_v7()),
    ] {
        expect_error(
            app.get(&path).bearer_auth(&buyer).send().await.unwrap(),
            403,
            "admin_only",
        )
        .await;
    }
    expect_error(
        app.get(&format!(
            "/v1/admin/reconciliation/runs/{}",
            uuid::Uuid::now_v7()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap(),
        404,
        "not_found",
    )
    .await;
    ledger_is_clean(&app).await;
}
