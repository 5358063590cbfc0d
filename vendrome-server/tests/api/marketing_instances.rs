//! Two instances on one PostgreSQL database take a burst of `POST /v1/marketing/events` for one
//! running campaign at once, three times what its budget pays for: the spend is the budget
//! exactly, the rest is reported `unbilled`, the campaign ends `completed` with nothing to
//! refund, and the ledger is clean. Each ingest locks the campaign's row, so the instances'
//! batches are billed one after the other whatever their interleaving.

use futures::future::join_all;
use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ledger::{AccountCode, LedgerRepo as _};
use vendrome_core::money::Currency;
use vendrome_server::auth::KeyRing;

use crate::checkout_tasks::count;
use crate::marketing::{clicks, running};
use crate::orders::ledger_is_clean;
use crate::support::{expect_error, spawn_with, succeed, Backend, Setup};

/// Batches in the burst, and clicks in each: 300 clicks at 10 against a budget of 1,000.
const BATCHES: usize = 30;
const PER_BATCH: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_spend_past_the_budget() {
    let keys = KeyRing::generate_spec();
    let mut first = Setup::new(Backend::Postgres);
    first.signing_keys = Some(keys.clone());
    let Some(app) = spawn_with(first).await else {
        return;
    };
    let mut second = Setup::new(Backend::Postgres);
    second.signing_keys = Some(keys);
    second.database = Some(app.db.clone());
    let other = spawn_with(second).await.expect("the first one's database");

    let (owner_id, owner) = app.user(UserRole::Member).await;
    let c = running(&app, &owner).await;
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["total_budget"], 1_000);
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(app.token(UserRole::Member).await);
    }

    // Every batch sent at once, alternately to each instance.
    let sends = (0..BATCHES).map(|n| {
        let to = if n % 2 == 0 { &app } else { &other };
        let request = to
            .post("/v1/marketing/events")
            .bearer_auth(&viewers[n % viewers.len()])
            .json(&json!({ "events": clicks(&id, PER_BATCH) }));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["data"].clone()
        }
    });
    let reports = join_all(sends).await;
    let total = |field: &str| -> i64 {
        reports
            .iter()
            .map(|r| r[field].as_i64().unwrap_or_else(|| panic!("{field}: {r}")))
            .sum()
    };
    assert_eq!(total("accepted"), (BATCHES * PER_BATCH) as i64);
    assert_eq!(total("spend"), 1_000, "{reports:?}");
    assert_eq!(total("billed"), 100);
    assert_eq!(total("unbilled"), 200);
    let completed: Vec<&Value> = reports
        .iter()
        .flat_map(|r| r["completed"].as_array().unwrap())
        .collect();
    assert_eq!(completed, vec![&json!(id)], "completed once");

    for instance in [&app, &other] {
        let read = succeed(
            instance
                .get(&format!("/v1/marketing/campaigns/{id}"))
                .bearer_auth(&owner),
        )
        .await["data"]
            .clone();
        assert_eq!(read["status"], "completed", "{read}");
        assert_eq!(read["spent_amount"], 1_000);
        assert_eq!(read["released_amount"], 0);
    }
    let spend_postings = count(
        &app,
        &format!(
            "SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entries e \
             JOIN ledger_transactions t ON t.id = e.ledger_transaction_id \
             WHERE t.idempotency_key LIKE 'campaign:{id}:spend:%' AND e.direction = 'debit'"
        ),
    )
    .await;
    assert_eq!(spend_postings, 1_000);
    let balance = app
        .db
        .store
        .account(&AccountCode::user_ad_balance(
            owner_id,
            Currency::parse("ZAR").unwrap(),
        ))
        .await
        .unwrap()
        .unwrap()
        .balance;
    assert_eq!(balance, 0);
    expect_error(
        other
            .post(&format!("/v1/marketing/campaigns/{id}/refund"))
            .bearer_auth(&owner)
            .header("idempotency-key", "after-the-burst")
            .send()
            .await
            .unwrap(),
        409,
        "nothing_to_refund",
    )
    .await;
    ledger_is_clean(&app).await;
}
