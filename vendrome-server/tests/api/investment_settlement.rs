//! The settlement at the deadline as `serve` runs it (`tasks::checkout::settle_campaigns`), on
//! two instances racing over one database with a clock set past the deadline: an
//! all-or-nothing campaign of 100 paid commitments that missed its goal is refunded once (100
//! refunds, every commitment refunded, the escrow at zero), and a keep-it-all campaign is
//! released once (one release posting, the founder owed the total less the fee). The ledger
//! is checked clean afterwards. On PostgreSQL this is the race the settlers' row lease and
//! compare-and-set decisions are for.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{json, Value};
use vendrome_server::tasks::checkout::{self, Schedule};

use crate::checkout_tasks::{count, Loops, PATIENCE};
use crate::investments::{balance, campaign_with, committed, member};
use crate::orders::ledger_is_clean;
use crate::support::{spawn_with, succeed, Backend, Setup, TestApp};
use vendrome_core::enums::UserRole;

both_stores!(two_instances_settle_campaigns_once);

async fn campaign(app: &TestApp, id: &str) -> Value {
    succeed(app.get(&format!("/v1/investments/campaigns/{id}"))).await["data"].clone()
}

/// Reads the campaign until it is settled, for up to [`PATIENCE`].
async fn until_settled(app: &TestApp, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let data = campaign(app, id).await;
        if data["settled_at"].is_string() {
            return data;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} was never settled: {data}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn two_instances_settle_campaigns_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let mut second = Setup::new(backend);
    second.database = Some(app.db.clone());
    let other = spawn_with(second).await.expect("the first one's database");
    let (_, founder) = member(&app, "business_verified", "ZA").await;
    let (founder_id, kia_founder) = member(&app, "business_verified", "ZA").await;
    let admin = app.token(UserRole::Admin).await;
    let deadline = vendrome_core::time::now() + chrono::Duration::hours(1);

    // 100 commitments of 1,000 to a goal of 1,000,000: missed.
    let missed = campaign_with(
        &app,
        &founder,
        json!({ "goal_amount": 1_000_000, "deadline": deadline }),
    )
    .await;
    let missed_id = missed["id"].as_str().unwrap().to_owned();
    let mut backers = Vec::new();
    for _ in 0..10 {
        backers.push(member(&app, "identity_verified", "ZA").await.1);
    }
    for i in 0..100 {
        committed(&app, &backers[i % 10], &missed_id, 1_000).await;
    }
    // Three commitments to a keep-it-all campaign: released whatever the total.
    let kept = campaign_with(
        &app,
        &kia_founder,
        json!({ "model": "keep_it_all", "deadline": deadline }),
    )
    .await;
    let kept_id = kept["id"].as_str().unwrap().to_owned();
    for amount in [10_000, 20_000, 30_000] {
        committed(&app, &backers[0], &kept_id, amount).await;
    }
    assert_eq!(campaign(&app, &missed_id).await["raised_amount"], 100_000);
    assert_eq!(
        balance(&app, &admin, &format!("escrow:campaign:{missed_id}:ZAR")).await,
        100_000
    );

    // Both instances' settlement loops, two hours on: past the deadline.
    let ahead = Schedule::every(
        Duration::from_millis(20),
        std::sync::Arc::new(|| vendrome_core::time::now() + TimeDelta::hours(2)),
    );
    let mut loops = Loops::new();
    loops.start(checkout::settle_campaigns, &app.state, &ahead);
    loops.start(checkout::settle_campaigns, &other.state, &ahead);
    let refunded = until_settled(&app, &missed_id).await;
    let released = until_settled(&app, &kept_id).await;
    loops.stop().await;

    assert_eq!(refunded["status"], "closed", "{refunded}");
    assert_eq!(refunded["settlement"], "refund");
    assert_eq!(
        (
            refunded["raised_amount"].as_i64(),
            refunded["backers"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let in_campaign = |what: &str| {
        format!(
            "SELECT COUNT(*) FROM payment_transactions p JOIN investment_commitments c ON c.id = p.commitment_id \
             WHERE c.campaign_id IN (SELECT id FROM investment_campaigns WHERE status = 'closed' AND settlement = 'refund') AND {what}"
        )
    };
    assert_eq!(
        count(&app, &in_campaign("p.kind = 'refund'")).await,
        100,
        "one refund per commitment"
    );
    assert_eq!(
        count(
            &app,
            &in_campaign("p.kind = 'refund' AND p.status = 'succeeded'")
        )
        .await,
        100
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM investment_commitments WHERE status = 'refunded'"
        )
        .await,
        100
    );
    assert_eq!(
        balance(&app, &admin, &format!("escrow:campaign:{missed_id}:ZAR")).await,
        0
    );

    assert_eq!(released["settlement"], "release", "{released}");
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM ledger_transactions WHERE idempotency_key = 'campaign:{kept_id}:release'")
        )
        .await,
        1,
        "released once"
    );
    assert_eq!(
        balance(&app, &admin, &format!("escrow:campaign:{kept_id}:ZAR")).await,
        0
    );
    // 60,000 less 5 %.
    assert_eq!(
        balance(&app, &admin, &format!("user:{founder_id}:payable:ZAR")).await,
        57_000
    );
    ledger_is_clean(&app).await;
}
