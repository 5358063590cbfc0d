//! The refund of an ended campaign's unspent remainder over HTTP: only its owner, only once it
//! ended, only up to what its end released; a retry with the key answers the same refund, two
//! refunds with different keys at once take the remainder once, and the provider's webhooks
//! about the refund (a refund whose answer was lost, delivered twice) move the money once. The
//! ledger is checked clean after each.

use serde_json::{json, Value};
use vendrome_core::access::Caller;
use vendrome_core::enums::{PaymentKind, PaymentStatus, UserRole};
use vendrome_core::ids::{CampaignId, PaymentId, UserId};
use vendrome_core::ledger::{AccountCode, LedgerRepo as _};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::{NewPayment, PaymentRepo as _, StartOutcome};
use vendrome_payments::SandboxOutcome;

use crate::checkout_tasks::count;
use crate::marketing::{clicks, deliver, running};
use crate::orders::ledger_is_clean;
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    an_ended_campaigns_remainder_is_refunded_once,
    a_refund_whose_answer_was_lost_is_settled_by_its_webhook_once
);

fn zar() -> Currency {
    Currency::parse("ZAR").unwrap()
}

async fn ad_balance(app: &TestApp, owner: UserId) -> i64 {
    app.db
        .store
        .account(&AccountCode::user_ad_balance(owner, zar()))
        .await
        .unwrap()
        .map_or(0, |a| a.balance)
}

async fn refund(app: &TestApp, token: &str, id: &str, key: &str) -> reqwest::Response {
    app.post(&format!("/v1/marketing/campaigns/{id}/refund"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .send()
        .await
        .unwrap()
}

/// Postings keyed by the refund's success.
async fn refund_postings(app: &TestApp, refund: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM ledger_transactions WHERE idempotency_key = 'payment:{refund}:succeeded'"
        ),
    )
    .await
}

async fn an_ended_campaigns_remainder_is_refunded_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (owner_id, owner) = app.user(UserRole::Member).await;
    let (_, viewer) = app.user(UserRole::Member).await;
    let stranger = app.token(UserRole::Member).await;
    let c = running(&app, &owner).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let funding = c["funding_payment_id"].as_str().unwrap().to_owned();

    // 30 clicks at 10: 300 of the 1,000 spent.
    let spent = succeed(
        app.post("/v1/marketing/events")
            .bearer_auth(&viewer)
            .json(&json!({ "events": clicks(&id, 30) })),
    )
    .await;
    assert_eq!(spent["data"]["spend"], 300, "{spent}");

    // Not before it ended, not without a key, not someone else's.
    expect_error(
        refund(&app, &owner, &id, "early").await,
        409,
        "campaign_not_ended",
    )
    .await;
    expect_error(
        app.post(&format!("/v1/marketing/campaigns/{id}/refund"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap(),
        400,
        "idempotency_key_required",
    )
    .await;
    expect_error(
        refund(&app, &stranger, &id, "theirs").await,
        404,
        "not_found",
    )
    .await;

    let cancelled = succeed(
        app.post(&format!("/v1/marketing/campaigns/{id}/cancel"))
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(cancelled["data"]["status"], "cancelled");
    assert_eq!(cancelled["data"]["released_amount"], 700);
    assert_eq!(cancelled["data"]["refunded_amount"], 0);
    assert_eq!(ad_balance(&app, owner_id).await, 700);

    // Two refunds with different keys at once: the remainder is taken once.
    let (a, b) = tokio::join!(
        refund(&app, &owner, &id, "refund-1"),
        refund(&app, &owner, &id, "refund-2")
    );
    let mut answers = vec![
        (a.status().as_u16(), a.json::<Value>().await.unwrap()),
        (b.status().as_u16(), b.json::<Value>().await.unwrap()),
    ];
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(
        answers.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![201, 409],
        "{answers:?}"
    );
    assert_eq!(answers[1].1["error"]["code"], "nothing_to_refund");
    let made = &answers[0].1["data"];
    assert_eq!(made["kind"], "refund", "{made}");
    assert_eq!(made["amount"], 700);
    assert_eq!(made["status"], "succeeded");
    let refund_id = made["id"].as_str().unwrap().to_owned();
    let stored = app
        .db
        .store
        .payment(refund_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.refund_of.map(|p| p.to_string()), Some(funding));
    let key = if stored.idempotency_key.ends_with(":refund-1") {
        "refund-1"
    } else {
        assert!(stored.idempotency_key.ends_with(":refund-2"), "{stored:?}");
        "refund-2"
    };
    assert_eq!(ad_balance(&app, owner_id).await, 0);
    assert_eq!(refund_postings(&app, &refund_id).await, 1);
    // The campaign shows what went back, on its own page and in its owner's list.
    let read = succeed(
        app.get(&format!("/v1/marketing/campaigns/{id}"))
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(read["data"]["refunded_amount"], 700, "{read}");
    let listed = succeed(app.get("/v1/marketing/campaigns").bearer_auth(&owner)).await;
    let mine = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(id))
        .unwrap();
    assert_eq!(mine["refunded_amount"], 700, "{listed}");

    // A retry with the key answers the same refund, over HTTP and without the stored answer.
    let again = expect_status(
        app.post(&format!("/v1/marketing/campaigns/{id}/refund"))
            .bearer_auth(&owner)
            .header("idempotency-key", key),
        201,
    )
    .await;
    assert_eq!(again["data"]["id"], json!(refund_id));
    let caller = Caller {
        user_id: owner_id,
        role: UserRole::Member,
    };
    let campaign: CampaignId = id.parse().unwrap();
    let resumed = app
        .state
        .payments
        .refund_campaign(campaign, &caller, key)
        .await
        .unwrap();
    assert_eq!(resumed.id.to_string(), refund_id);
    expect_error(
        refund(&app, &owner, &id, "refund-3").await,
        409,
        "nothing_to_refund",
    )
    .await;

    // The provider's webhook about the refund, twice: nothing moves again.
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let (headers, body) = sandbox.outcome_webhook(&stored, SandboxOutcome::Succeeded);
    assert_eq!(deliver(&app, &headers, &body).await, "stale");
    assert_eq!(deliver(&app, &headers, &body).await, "duplicate");
    assert_eq!(ad_balance(&app, owner_id).await, 0);
    assert_eq!(refund_postings(&app, &refund_id).await, 1);
    ledger_is_clean(&app).await;
}

async fn a_refund_whose_answer_was_lost_is_settled_by_its_webhook_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (owner_id, owner) = app.user(UserRole::Member).await;
    let c = running(&app, &owner).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let funding: PaymentId = c["funding_payment_id"].as_str().unwrap().parse().unwrap();
    succeed(
        app.post(&format!("/v1/marketing/campaigns/{id}/cancel"))
            .bearer_auth(&owner),
    )
    .await;
    let campaign: CampaignId = id.parse().unwrap();
    assert_eq!(ad_balance(&app, owner_id).await, 1_000);

    // The refund as the request for it left it when the provider's answer was lost: started,
    // with no reference. The store refuses more than the released remainder.
    let new = |amount: i64, key: &str| NewPayment {
        id: PaymentId::new(),
        kind: PaymentKind::Refund,
        provider: vendrome_core::enums::PaymentProvider::Sandbox,
        payer_id: owner_id,
        payee_id: None,
        order_id: None,
        booking_id: None,
        marketing_campaign_id: Some(campaign),
        commitment_id: None,
        refund_of: Some(funding),
        amount: Money::new(amount, zar()),
        fee_amount: 0,
        idempotency_key: format!("campaign-refund:{id}:{key}"),
        method: None,
        return_url: None,
        created_at: vendrome_core::time::now(),
    };
    let too_much = app.db.store.start(&new(1_001, "too-much")).await.unwrap();
    assert!(
        matches!(
            too_much,
            StartOutcome::ExceedsRefundable { refundable: 1_000 }
        ),
        "{too_much:?}"
    );
    let StartOutcome::Started(lost) = app.db.store.start(&new(1_000, "lost")).await.unwrap() else {
        panic!("the refund was not started");
    };
    assert_eq!(lost.status, PaymentStatus::Pending);
    assert_eq!(ad_balance(&app, owner_id).await, 1_000);

    // The provider tells of it twice: it is settled once.
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let (headers, body) = sandbox.outcome_webhook(&lost, SandboxOutcome::Succeeded);
    assert_eq!(deliver(&app, &headers, &body).await, "applied");
    assert_eq!(deliver(&app, &headers, &body).await, "duplicate");
    let (headers, body) = sandbox.outcome_webhook(&lost, SandboxOutcome::Succeeded);
    assert_eq!(deliver(&app, &headers, &body).await, "stale");
    let settled = app.db.store.payment(lost.id).await.unwrap().unwrap();
    assert_eq!(settled.status, PaymentStatus::Succeeded);
    assert_eq!(ad_balance(&app, owner_id).await, 0);
    assert_eq!(refund_postings(&app, &lost.id.to_string()).await, 1);

    // The owner's retry with that key answers the settled refund; another key finds nothing.
    let retried = expect_status(
        app.post(&format!("/v1/marketing/campaigns/{id}/refund"))
            .bearer_auth(&owner)
            .header("idempotency-key", "lost"),
        201,
    )
    .await;
    assert_eq!(retried["data"]["id"], json!(lost.id));
    assert_eq!(retried["data"]["status"], "succeeded");
    expect_error(
        refund(&app, &owner, &id, "other").await,
        409,
        "nothing_to_refund",
    )
    .await;
    assert_eq!(ad_balance(&app, owner_id).await, 0);
    ledger_is_clean(&app).await;
}
