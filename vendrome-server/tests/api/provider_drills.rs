//! Drills over HTTP with a provider adapter against a fake of its API: a webhook storm (each
//! Paystack event delivered three times, shuffled, across two server instances on one
//! database) posts each payment once and leaves the ledger clean; the admin's providers view
//! and the methods on offer follow the routing rules.

use std::collections::HashSet;

use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, UserRole};
use vendrome_core::ids::PaymentId;
use vendrome_core::ledger::LedgerRepo as _;
use vendrome_core::payments::PaymentRepo as _;
use vendrome_payments::notifications::paystack;
use vendrome_payments::providers::ProviderSettings;

use crate::orders::{ledger_is_clean, order, product};
use crate::support::{expect_status, spawn_with, Backend, Setup, TestApp};

const KEY: &str = "sk_test_storm";

/// A fake of Paystack's `POST /transaction/initialize` (paystack.com/docs/api/transaction):
/// `{status, message, data: {authorization_url, access_code, reference}}`.
async fn paystack_fake() -> String {
    let app = axum::Router::new().route(
        "/transaction/initialize",
        post(|Json(body): Json<Value>| async move {
            let reference = body["reference"].as_str().unwrap_or_default().to_owned();
            Json(
                json!({"status": true, "message": "Authorization URL created", "data": {
                "authorization_url": format!("https://checkout.paystack.com/{reference}"),
                "access_code": reference, "reference": reference}}),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn paystack_setup(backend: Backend, base: &str) -> Setup {
    let mut setup = Setup::new(backend);
    let settings = ProviderSettings::new(
        ProviderId::Paystack,
        &[("SECRET_KEY", KEY), ("API_BASE", base)],
    );
    setup.providers = vec![vendrome_payments::providers::build(&settings).unwrap()];
    setup
}

/// A Paystack payment of a fresh order: its id, amount and currency.
async fn paystack_payment(app: &TestApp) -> (PaymentId, i64) {
    let seller = app.token(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let post = product(app, &seller, 7_500, "NGN", Some(5)).await;
    let placed = order(app, &buyer, &[(&post, 1)]).await;
    let paying = expect_status(
        app.post(&format!(
            "/v1/orders/{}/checkout",
            placed["id"].as_str().unwrap()
        ))
        .bearer_auth(&buyer)
        .json(&json!({ "provider": "paystack" })),
        201,
    )
    .await;
    assert_eq!(paying["data"]["status"], "requires_action", "{paying}");
    let id = paying["data"]["id"].as_str().unwrap().parse().unwrap();
    (id, paying["data"]["amount"].as_i64().unwrap())
}

async fn webhook_storms_post_each_payment_once(backend: Backend) {
    let base = paystack_fake().await;
    let Some(first) = spawn_with(paystack_setup(backend, &base)).await else {
        return;
    };
    let mut second_setup = paystack_setup(backend, &base);
    second_setup.database = Some(first.db.clone());
    let second = spawn_with(second_setup).await.unwrap();
    let mut events = Vec::new();
    for n in 0..4 {
        let (id, amount) = paystack_payment(&first).await;
        let body = json!({"event": "charge.success", "data": {"id": 9_000 + n, "reference": id.to_string(),
            "amount": amount, "currency": "NGN", "status": "success"}})
        .to_string();
        events.push((id, body));
    }
    // Three deliveries of each, in a shuffled order, alternating between the instances.
    let mut deliveries: Vec<(usize, &String)> = (0..3)
        .flat_map(|_| events.iter().map(|(_, b)| b))
        .enumerate()
        .collect();
    deliveries.sort_by_key(|(i, _)| (i * 7919) % 13);
    let apps = [&first, &second];
    let sent = deliveries.iter().enumerate().map(|(n, (_, body))| {
        let app = apps[n % 2];
        let request = app
            .post("/v1/payments/webhooks/paystack")
            .header(
                paystack::SIGNATURE_HEADER,
                paystack::sign(KEY, body.as_bytes()),
            )
            .body((*body).clone());
        async move { crate::support::json(request.send().await.unwrap()).await }
    });
    let answers = futures::future::join_all(sent).await;
    let mut outcomes = Vec::new();
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        outcomes.push(body["data"]["outcome"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        4,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| o == "applied" || o == "duplicate"),
        "{outcomes:?}"
    );
    for (id, _) in &events {
        let payment = first.db.store.payment(*id).await.unwrap().unwrap();
        assert_eq!(
            payment.status,
            vendrome_core::enums::PaymentStatus::Succeeded
        );
        let postings = first.db.store.postings_for_payment(*id).await.unwrap();
        let transactions: HashSet<_> = postings.iter().map(|e| e.transaction_id).collect();
        assert_eq!(transactions.len(), 1, "one posting: {postings:?}");
    }
    ledger_is_clean(&first).await;
}

async fn the_admin_sees_each_providers_health(backend: Backend) {
    let base = paystack_fake().await;
    let Some(app) = spawn_with(paystack_setup(backend, &base)).await else {
        return;
    };
    let admin = app.token(UserRole::Admin).await;
    let member = app.token(UserRole::Member).await;
    let (_, _) = paystack_payment(&app).await;
    let page = expect_status(
        app.get("/v1/admin/payments/providers?limit=1")
            .bearer_auth(&admin),
        200,
    )
    .await;
    assert_eq!(page["data"][0]["provider"], "paystack", "{page}");
    assert_eq!(page["data"][0]["state"], "healthy");
    assert_eq!(page["data"][0]["calls"], 1);
    let cursor = page["meta"]["next_cursor"]
        .as_str()
        .expect("the sandbox follows")
        .to_owned();
    let rest = expect_status(
        app.get(&format!(
            "/v1/admin/payments/providers?limit=1&cursor={cursor}"
        ))
        .bearer_auth(&admin),
        200,
    )
    .await;
    assert_eq!(rest["data"][0]["provider"], "sandbox", "{rest}");
    let forbidden = app
        .get("/v1/admin/payments/providers")
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let metrics = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let state = metrics
        .lines()
        .find(|l| {
            l.starts_with("vendrome_payments_provider_state{")
                && l.contains("\"paystack\"")
                && l.contains("\"healthy\"")
        })
        .expect("per-provider state in /metrics");
    assert!(state.ends_with(" 1"), "{state}");
    let methods = expect_status(
        app.get("/v1/payments/methods?currency=NGN&country=NG")
            .bearer_auth(&member),
        200,
    )
    .await;
    assert_eq!(methods["data"][0]["provider"], "paystack", "{methods}");
}

both_stores!(
    webhook_storms_post_each_payment_once,
    the_admin_sees_each_providers_health
);
