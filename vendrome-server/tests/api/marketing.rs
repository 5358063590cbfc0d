//! Marketing campaigns over HTTP: creating, changing, listing and moving a campaign with the
//! error envelope for each broken rule; funding through the sandbox (the webhook twice, one
//! posting) that schedules it; consent (off by default) and the audience estimate; events
//! charged once each up to the budget; stats as JSON and CSV; and the sponsored item of the home
//! feed (one per page, never one's own, only to members who opted in, capped per day), which
//! follows at once a member's change of consent or profile and the impressions they report.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::PaymentId;
use vendrome_core::ledger::LedgerRepo as _;
use vendrome_core::payments::PaymentRepo as _;
use vendrome_payments::SandboxOutcome;

use crate::orders::ledger_is_clean;
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    a_campaign_is_made_changed_and_moved_with_its_rules,
    a_campaign_is_funded_through_the_sandbox_and_scheduled_once,
    consent_and_the_audience_estimate,
    events_are_charged_once_up_to_the_budget_and_measured,
    the_home_feed_carries_one_sponsored_item_to_members_who_opted_in,
    a_viewer_s_own_changes_reach_delivery_at_once
);

async fn post_of(app: &TestApp, token: &str) -> String {
    let body = expect_status(
        app.post("/v1/posts")
            .bearer_auth(token)
            .json(&json!({ "type": "text", "body": "Our new seed drill" })),
        201,
    )
    .await;
    body["data"]["id"].as_str().unwrap().to_owned()
}

fn campaign_body(post: &str) -> Value {
    json!({
        "post_id": post,
        "name": "Seed drill launch",
        "objective": "awareness",
        "bid": { "model": "cpc", "amount": 10 },
        "total_budget": 1_000,
        "currency": "ZAR",
        "starts_at": "2026-01-01T00:00:00Z",
        "targeting": { "countries": ["ZA"] },
    })
}

pub(crate) async fn create(app: &TestApp, token: &str) -> Value {
    let post = post_of(app, token).await;
    expect_status(
        app.post("/v1/marketing/campaigns")
            .bearer_auth(token)
            .json(&campaign_body(&post)),
        201,
    )
    .await["data"]
        .clone()
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> reqwest::Response {
    app.post(&format!("/v1/marketing/campaigns/{id}/{action}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn deliver(app: &TestApp, headers: &[(String, String)], body: &[u8]) -> Value {
    let mut request = app
        .post("/v1/payments/webhooks/sandbox")
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    expect_status(request, 200).await["data"]["outcome"].clone()
}

/// Submits and funds the campaign through the sandbox; it is `scheduled` after.
pub(crate) async fn fund(app: &TestApp, token: &str, id: &str) -> PaymentId {
    succeed(
        app.post(&format!("/v1/marketing/campaigns/{id}/submit"))
            .bearer_auth(token),
    )
    .await;
    let paying = expect_status(
        app.post(&format!("/v1/marketing/campaigns/{id}/fund"))
            .bearer_auth(token)
            .header("idempotency-key", "fund-1")
            .json(&json!({ "provider": "sandbox" })),
        201,
    )
    .await["data"]
        .clone();
    let payment_id: PaymentId = paying["id"].as_str().unwrap().parse().unwrap();
    let payment = app.db.store.payment(payment_id).await.unwrap().unwrap();
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let (headers, body) = sandbox.outcome_webhook(&payment, SandboxOutcome::Succeeded);
    assert_eq!(deliver(app, &headers, &body).await, "applied");
    assert_eq!(deliver(app, &headers, &body).await, "duplicate");
    payment_id
}

/// A funded campaign, started by the clock.
pub(crate) async fn running(app: &TestApp, token: &str) -> Value {
    let c = create(app, token).await;
    let id = c["id"].as_str().unwrap();
    fund(app, token, id).await;
    app.state
        .marketing
        .advance_due(vendrome_core::time::now())
        .await
        .unwrap();
    let c = succeed(
        app.get(&format!("/v1/marketing/campaigns/{id}"))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(c["data"]["status"], "active", "{c}");
    c["data"].clone()
}

async fn a_campaign_is_made_changed_and_moved_with_its_rules(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let owner = app.token(UserRole::Member).await;
    let other = app.token(UserRole::Member).await;
    let post = post_of(&app, &owner).await;

    // Someone else's post, and broken fields, each with its code.
    let theirs = expect_error(
        app.post("/v1/marketing/campaigns")
            .bearer_auth(&other)
            .json(&campaign_body(&post))
            .send()
            .await
            .unwrap(),
        422,
        "not_own_post",
    )
    .await;
    assert!(theirs["error"]["message"].is_string());
    let mut wrong = campaign_body(&post);
    wrong["bid"]["amount"] = json!(0);
    wrong["daily_budget"] = json!(5_000);
    wrong["targeting"] = json!({ "countries": ["za"], "connection_degree": 3 });
    let body = expect_error(
        app.post("/v1/marketing/campaigns")
            .bearer_auth(&owner)
            .json(&wrong)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let fields = &body["error"]["details"]["fields"];
    for field in [
        "bid.amount",
        "daily_budget",
        "targeting.countries",
        "targeting.connection_degree",
    ] {
        assert!(fields[field].is_array(), "{field}: {body}");
    }

    let made = expect_status(
        app.post("/v1/marketing/campaigns")
            .bearer_auth(&owner)
            .json(&campaign_body(&post)),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(made["status"], "draft");
    assert_eq!(made["spent_amount"], 0);
    let id = made["id"].as_str().unwrap();
    let path = format!("/v1/marketing/campaigns/{id}");
    // Only its owner sees it.
    expect_error(
        app.get(&path).bearer_auth(&other).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let patched = succeed(
        app.patch(&path)
            .bearer_auth(&owner)
            .json(&json!({ "name": "Drill launch", "targeting": { "cities": [" Cape Town "] } })),
    )
    .await["data"]
        .clone();
    assert_eq!(patched["name"], "Drill launch");
    assert_eq!(patched["targeting"]["cities"], json!(["cape town"]));

    // Owners do not fund-by-hand, start or complete; a draft is not paused.
    expect_error(
        act(&app, &owner, id, "pause").await,
        409,
        "invalid_campaign_transition",
    )
    .await;
    expect_error(
        act(&app, &owner, id, "resume").await,
        409,
        "invalid_campaign_transition",
    )
    .await;
    // Funding needs a submitted draft.
    expect_error(
        app.post(&format!("{path}/fund"))
            .bearer_auth(&owner)
            .json(&json!({ "provider": "sandbox" }))
            .send()
            .await
            .unwrap(),
        409,
        "campaign_not_submitted",
    )
    .await;
    succeed(app.post(&format!("{path}/submit")).bearer_auth(&owner)).await;
    expect_error(
        act(&app, &owner, id, "submit").await,
        409,
        "invalid_campaign_transition",
    )
    .await;
    expect_error(
        app.patch(&path)
            .bearer_auth(&owner)
            .json(&json!({ "name": "Too late" }))
            .send()
            .await
            .unwrap(),
        409,
        "campaign_not_editable",
    )
    .await;

    // The owner's list, by status.
    let drafts = succeed(
        app.get("/v1/marketing/campaigns?status=draft&limit=10")
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(drafts["data"].as_array().unwrap().len(), 1);
    assert_eq!(drafts["meta"]["has_more"], false);
    let none = succeed(app.get("/v1/marketing/campaigns").bearer_auth(&other)).await;
    assert!(none["data"].as_array().unwrap().is_empty());

    let cancelled = succeed(app.post(&format!("{path}/cancel")).bearer_auth(&owner)).await;
    assert_eq!(cancelled["data"]["status"], "cancelled");
    assert_eq!(cancelled["data"]["released_amount"], 0);
    expect_error(
        act(&app, &owner, id, "cancel").await,
        409,
        "invalid_campaign_transition",
    )
    .await;
}

async fn a_campaign_is_funded_through_the_sandbox_and_scheduled_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (owner_id, owner) = app.user(UserRole::Member).await;
    let c = create(&app, &owner).await;
    let id = c["id"].as_str().unwrap();
    let payment = fund(&app, &owner, id).await;
    let read = succeed(
        app.get(&format!("/v1/marketing/campaigns/{id}"))
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(read["data"]["status"], "scheduled", "{read}");
    assert_eq!(read["data"]["funding_payment_id"], json!(payment));
    let balance = app
        .db
        .store
        .account(&vendrome_core::ledger::AccountCode::user_ad_balance(
            owner_id,
            vendrome_core::money::Currency::parse("ZAR").unwrap(),
        ))
        .await
        .unwrap()
        .unwrap()
        .balance;
    assert_eq!(balance, 1_000);
    // A retry with the key answers the same payment; another key finds it funded.
    let retried = expect_status(
        app.post(&format!("/v1/marketing/campaigns/{id}/fund"))
            .bearer_auth(&owner)
            .header("idempotency-key", "fund-1")
            .json(&json!({ "provider": "sandbox" })),
        201,
    )
    .await;
    assert_eq!(retried["data"]["id"], json!(payment));
    expect_error(
        app.post(&format!("/v1/marketing/campaigns/{id}/fund"))
            .bearer_auth(&owner)
            .header("idempotency-key", "fund-2")
            .json(&json!({ "provider": "sandbox" }))
            .send()
            .await
            .unwrap(),
        409,
        "already_paid",
    )
    .await;
    ledger_is_clean(&app).await;
}

async fn consent_and_the_audience_estimate(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let owner = app.token(UserRole::Member).await;
    let member = app.token(UserRole::Member).await;
    let settings = succeed(app.get("/v1/me/settings/marketing").bearer_auth(&member)).await;
    assert_eq!(
        settings["data"]["direct_marketing"], false,
        "off by default"
    );
    let estimate = |token: String, targeting: Value| {
        let app = &app;
        async move {
            succeed(
                app.post("/v1/marketing/audience-estimate")
                    .bearer_auth(&token)
                    .json(&json!({ "targeting": targeting })),
            )
            .await["data"]["members"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(estimate(owner.clone(), json!({})).await, 0);
    let set = succeed(
        app.put("/v1/me/settings/marketing")
            .bearer_auth(&member)
            .json(&json!({ "direct_marketing": true })),
    )
    .await;
    assert_eq!(set["data"]["direct_marketing"], true);
    assert_eq!(estimate(owner.clone(), json!({})).await, 1);
    assert_eq!(
        estimate(owner.clone(), json!({ "countries": ["NG"] })).await,
        0
    );
    let wrong = expect_error(
        app.post("/v1/marketing/audience-estimate")
            .bearer_auth(&owner)
            .json(&json!({ "targeting": { "industries": ["Not A Slug"] } }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert!(wrong["error"]["details"]["fields"]["targeting.industries"].is_array());
    expect_error(
        app.put("/v1/me/settings/marketing")
            .bearer_auth(&member)
            .json(&json!({ "direct_marketing": "yes" }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
}

pub(crate) fn clicks(campaign: &str, n: usize) -> Vec<Value> {
    let at = vendrome_core::time::now().to_rfc3339();
    (0..n)
        .map(|_| json!({ "event_id": uuid::Uuid::now_v7(), "campaign_id": campaign, "kind": "click", "at": at }))
        .collect()
}

async fn events_are_charged_once_up_to_the_budget_and_measured(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let owner = app.token(UserRole::Member).await;
    let (viewer_id, viewer) = app.user(UserRole::Member).await;
    let admin = app.token(UserRole::Admin).await;
    let c = running(&app, &owner).await;
    let id = c["id"].as_str().unwrap();

    // A member reports only their own events.
    let mut theirs = clicks(id, 1);
    theirs[0]["viewer_id"] = json!(uuid::Uuid::now_v7());
    expect_error(
        app.post("/v1/marketing/events")
            .bearer_auth(&viewer)
            .json(&json!({ "events": theirs }))
            .send()
            .await
            .unwrap(),
        403,
        "not_own_event",
    )
    .await;
    expect_error(
        app.post("/v1/marketing/events")
            .bearer_auth(&viewer)
            .json(&json!({ "events": [] }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;

    let batch = clicks(id, 70);
    let first = succeed(
        app.post("/v1/marketing/events")
            .bearer_auth(&viewer)
            .json(&json!({ "events": batch })),
    )
    .await["data"]
        .clone();
    assert_eq!(first["accepted"], 70);
    assert_eq!(first["spend"], 700);
    let again = succeed(
        app.post("/v1/marketing/events")
            .bearer_auth(&viewer)
            .json(&json!({ "events": batch })),
    )
    .await["data"]
        .clone();
    assert_eq!(again["duplicates"], 70, "{again}");
    assert_eq!(again["spend"], 0);
    let mut more = clicks(id, 50);
    more.iter_mut()
        .for_each(|e| e["viewer_id"] = json!(viewer_id));
    let last = succeed(
        app.post("/v1/marketing/events")
            .bearer_auth(&admin)
            .json(&json!({ "events": more })),
    )
    .await["data"]
        .clone();
    assert_eq!(
        (last["billed"].as_i64(), last["unbilled"].as_i64()),
        (Some(30), Some(20))
    );
    assert_eq!(last["completed"], json!([id]));
    let read = succeed(
        app.get(&format!("/v1/marketing/campaigns/{id}"))
            .bearer_auth(&owner),
    )
    .await;
    assert_eq!(read["data"]["spent_amount"], 1_000);
    assert_eq!(read["data"]["status"], "completed");

    // Stats: JSON and the same as CSV.
    let stats = succeed(
        app.get(&format!(
            "/v1/marketing/campaigns/{id}/stats?granularity=hour"
        ))
        .bearer_auth(&owner),
    )
    .await["data"]
        .clone();
    let rows = stats.as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["clicks"].as_i64().unwrap())
            .sum::<i64>(),
        120
    );
    assert_eq!(
        rows.iter()
            .map(|r| r["spend"].as_i64().unwrap())
            .sum::<i64>(),
        1_000
    );
    assert_eq!(
        rows.iter()
            .map(|r| r["unbilled"].as_i64().unwrap())
            .sum::<i64>(),
        20
    );
    let csv = app
        .get(&format!(
            "/v1/marketing/campaigns/{id}/stats?granularity=hour&format=csv"
        ))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("start,impressions,clicks,ctr,spend,unbilled")
    );
    assert_eq!(lines.count(), rows.len());
    expect_error(
        app.get(&format!(
            "/v1/marketing/campaigns/{id}/stats?granularity=week"
        ))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    expect_error(
        app.get(&format!("/v1/marketing/campaigns/{id}/stats"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    ledger_is_clean(&app).await;
}

async fn home_feed(app: &TestApp, token: &str) -> Vec<Value> {
    succeed(app.get("/v1/feed?limit=10").bearer_auth(token)).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn sponsored(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| !i["sponsored"].is_null())
        .cloned()
        .collect()
}

async fn the_home_feed_carries_one_sponsored_item_to_members_who_opted_in(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let owner = app.token(UserRole::Member).await;
    let viewer = app.token(UserRole::Member).await;
    let shy = app.token(UserRole::Member).await;
    let c = running(&app, &owner).await;
    let id = c["id"].as_str().unwrap();
    // The campaign targets ZA; the viewer's profile says ZA and they opted in.
    for token in [&viewer, &shy] {
        succeed(
            app.patch("/v1/me/profile")
                .bearer_auth(token)
                .json(&json!({ "country_code": "ZA" })),
        )
        .await;
    }
    succeed(
        app.put("/v1/me/settings/marketing")
            .bearer_auth(&viewer)
            .json(&json!({ "direct_marketing": true })),
    )
    .await;

    // Three pages carry it (once each), the fourth does not: the daily cap.
    for _ in 0..3 {
        let items = home_feed(&app, &viewer).await;
        let ads = sponsored(&items);
        assert_eq!(ads.len(), 1, "{items:?}");
        assert_eq!(ads[0]["sponsored"]["campaign_id"], json!(id));
        assert_eq!(ads[0]["post"]["id"], c["post_id"]);
    }
    assert!(sponsored(&home_feed(&app, &viewer).await).is_empty());
    // Never to a member who did not opt in, never one's own.
    assert!(sponsored(&home_feed(&app, &shy).await).is_empty());
    assert!(sponsored(&home_feed(&app, &owner).await).is_empty());
}

async fn set_country(app: &TestApp, token: &str, country: &str) {
    succeed(
        app.patch("/v1/me/profile")
            .bearer_auth(token)
            .json(&json!({ "country_code": country })),
    )
    .await;
}

async fn set_consent(app: &TestApp, token: &str, consent: bool) {
    succeed(
        app.put("/v1/me/settings/marketing")
            .bearer_auth(token)
            .json(&json!({ "direct_marketing": consent })),
    )
    .await;
}

/// Delivery keeps what it read of a viewer for a while; the viewer's own writes reach it at once.
async fn a_viewer_s_own_changes_reach_delivery_at_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let owner = app.token(UserRole::Member).await;
    let viewer = app.token(UserRole::Member).await;
    let other = app.token(UserRole::Member).await;
    let c = running(&app, &owner).await;
    let id = c["id"].as_str().unwrap();
    let carries = |items: Vec<Value>| sponsored(&items).len() == 1;
    for token in [&viewer, &other] {
        set_country(&app, token, "ZA").await;
        set_consent(&app, token, true).await;
    }

    assert!(carries(home_feed(&app, &viewer).await));
    set_consent(&app, &viewer, false).await;
    assert!(!carries(home_feed(&app, &viewer).await), "opted out");
    set_consent(&app, &viewer, true).await;
    assert!(carries(home_feed(&app, &viewer).await), "opted in again");
    // The campaign targets ZA.
    set_country(&app, &viewer, "KE").await;
    assert!(!carries(home_feed(&app, &viewer).await), "moved away");

    // Served once here; three impressions reported by the member reach the cap.
    assert!(carries(home_feed(&app, &other).await));
    let at = vendrome_core::time::now().to_rfc3339();
    let seen: Vec<Value> = (0..3)
        .map(|_| json!({ "event_id": uuid::Uuid::now_v7(), "campaign_id": id, "kind": "impression", "at": at }))
        .collect();
    succeed(
        app.post("/v1/marketing/events")
            .bearer_auth(&other)
            .json(&json!({ "events": seen })),
    )
    .await;
    assert!(
        !carries(home_feed(&app, &other).await),
        "capped by the reported impressions"
    );
}
