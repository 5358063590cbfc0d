//! Investments over HTTP with the sandbox provider: a founder's campaign is published only when
//! business-verified and taken through commitments paid into its escrow (bounds, the 150 %
//! cap, the identity threshold, corridors and review, withdrawal until 48 hours before the
//! deadline); the deal flow's interest opens a conversation. The ledger is checked after each.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::{PaymentId, UserId};
use vendrome_core::payments::PaymentRepo as _;
use vendrome_payments::SandboxOutcome;
use vendrome_store::Db;

use crate::orders::ledger_is_clean;
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    a_campaign_is_published_by_a_verified_founder_and_paid_into_escrow,
    commitments_keep_to_bounds_cap_gates_and_corridors,
    a_backer_withdraws_until_48_hours_before_the_deadline,
    interest_in_an_offer_or_request_opens_a_conversation
);

/// Sets a member's verification level and profile country (and industry).
pub async fn profile(app: &TestApp, user: UserId, level: &str, country: &str) {
    let level_sql = match app.db.store.db() {
        Db::Postgres(_) => {
            "UPDATE users SET verification_level = $2::verification_level WHERE id = $1"
        }
        Db::Sqlite(_) => "UPDATE users SET verification_level = $2 WHERE id = $1",
    };
    let profile_sql =
        "INSERT INTO business_profiles (user_id, country_code, industry, created_at, updated_at) \
        VALUES ($1, $2, 'energy', $3, $3) ON CONFLICT (user_id) DO UPDATE \
        SET country_code = excluded.country_code, industry = excluded.industry";
    match app.db.store.db() {
        Db::Postgres(pool) => {
            sqlx::query(level_sql)
                .bind(user.as_uuid())
                .bind(level)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(profile_sql)
                .bind(user.as_uuid())
                .bind(country)
                .bind(vendrome_core::time::now())
                .execute(pool)
                .await
                .unwrap();
        }
        Db::Sqlite(pool) => {
            sqlx::query(level_sql)
                .bind(user.as_uuid())
                .bind(level)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(profile_sql)
                .bind(user.as_uuid())
                .bind(country)
                .bind(vendrome_core::time::now())
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

/// A member with a level and a country; their id and token.
pub async fn member(app: &TestApp, level: &str, country: &str) -> (UserId, String) {
    let (id, token) = app.user(UserRole::Member).await;
    profile(app, id, level, country).await;
    (id, token)
}

/// A crowdfunding post of the token's member; its id.
pub async fn crowdfunding_post(app: &TestApp, founder: &str) -> String {
    let body = expect_status(
        app.post("/v1/posts").bearer_auth(founder).json(&json!({
            "type": "crowdfunding", "body": "Back our solar kiosks",
            "payload": { "title": "Solar kiosks", "goal_minor": 100_000, "currency": "ZAR",
                "instrument": "equity", "ends_at": "2031-01-01T00:00:00Z" },
        })),
        201,
    )
    .await;
    body["data"]["id"].as_str().unwrap().to_owned()
}

/// A campaign of the token's (business-verified) founder, `model`, ending `hours` from now
/// (goal 100,000, commitments 1,000 to 200,000), published; its `data`.
pub async fn live_campaign(app: &TestApp, founder: &str, model: &str, hours: i64) -> Value {
    let deadline = vendrome_core::time::now() + chrono::Duration::hours(hours);
    campaign_with(
        app,
        founder,
        json!({ "model": model, "deadline": deadline }),
    )
    .await
}

/// A published campaign of the token's founder, with `overrides` over the defaults above
/// (all-or-nothing, ten days).
pub async fn campaign_with(app: &TestApp, founder: &str, overrides: Value) -> Value {
    let post = crowdfunding_post(app, founder).await;
    let deadline = vendrome_core::time::now() + chrono::Duration::days(10);
    let mut ask = json!({
        "post_id": post, "goal_amount": 100_000, "currency": "ZAR", "min_commitment": 1_000,
        "max_commitment": 200_000, "deadline": deadline, "model": "all_or_nothing",
    });
    for (k, v) in overrides.as_object().unwrap() {
        ask[k] = v.clone();
    }
    let made = expect_status(
        app.post("/v1/investments/campaigns")
            .bearer_auth(founder)
            .json(&ask),
        201,
    )
    .await["data"]
        .clone();
    let id = made["id"].as_str().unwrap();
    succeed(
        app.post(&format!("/v1/investments/campaigns/{id}/publish"))
            .bearer_auth(founder),
    )
    .await["data"]
        .clone()
}

pub fn commit(app: &TestApp, backer: &str, campaign: &str, amount: i64) -> reqwest::RequestBuilder {
    app.post(&format!("/v1/investments/campaigns/{campaign}/commitments"))
        .bearer_auth(backer)
        .json(&json!({ "amount": amount, "provider": "sandbox" }))
}

/// Delivers the sandbox's signed success of `payment` as the provider would.
pub async fn pay(app: &TestApp, payment: &Value) {
    let id: PaymentId = payment["id"].as_str().unwrap().parse().unwrap();
    let stored = app.db.store.payment(id).await.unwrap().unwrap();
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let (headers, body) = sandbox.outcome_webhook(&stored, SandboxOutcome::Succeeded);
    let mut request = app
        .post("/v1/payments/webhooks/sandbox")
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let outcome = expect_status(request, 200).await;
    assert_eq!(outcome["data"]["outcome"], "applied", "{outcome}");
}

/// Commits `amount` and pays it; the commitment's `data`.
pub async fn committed(app: &TestApp, backer: &str, campaign: &str, amount: i64) -> Value {
    let made = expect_status(commit(app, backer, campaign, amount), 201).await["data"].clone();
    pay(app, &made["payment"]).await;
    made["commitment"].clone()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    succeed(app.get(path).bearer_auth(token)).await["data"].clone()
}

pub async fn balance(app: &TestApp, admin: &str, code: &str) -> i64 {
    let accounts = get(app, admin, "/v1/admin/ledger/accounts?limit=100").await;
    accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == code)
        .map_or(0, |a| a["balance"].as_i64().unwrap())
}

async fn a_campaign_is_published_by_a_verified_founder_and_paid_into_escrow(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (founder_id, founder) = member(&app, "identity_verified", "ZA").await;
    let (_, backer) = member(&app, "email_verified", "ZA").await;
    let admin = app.token(UserRole::Admin).await;
    let post = crowdfunding_post(&app, &founder).await;
    let deadline = vendrome_core::time::now() + chrono::Duration::days(10);
    let ask = json!({ "post_id": post, "goal_amount": 100_000, "currency": "ZAR",
        "min_commitment": 1_000, "deadline": deadline, "model": "all_or_nothing" });

    // Only the post's author makes a campaign of it, once.
    expect_error(
        app.post("/v1/investments/campaigns")
            .bearer_auth(&backer)
            .json(&ask)
            .send()
            .await
            .unwrap(),
        403,
        "not_campaign_owner",
    )
    .await;
    let draft = expect_status(
        app.post("/v1/investments/campaigns")
            .bearer_auth(&founder)
            .json(&ask),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(draft["status"], "draft", "{draft}");
    assert_eq!(draft["title"], "Solar kiosks");
    expect_error(
        app.post("/v1/investments/campaigns")
            .bearer_auth(&founder)
            .json(&ask)
            .send()
            .await
            .unwrap(),
        409,
        "campaign_exists",
    )
    .await;
    let id = draft["id"].as_str().unwrap();
    let path = format!("/v1/investments/campaigns/{id}");
    // A draft is the founder's alone.
    expect_error(
        app.get(&path).bearer_auth(&backer).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;

    // Taking it live needs a business-verified founder.
    let refused = expect_error(
        app.post(&format!("{path}/publish"))
            .bearer_auth(&founder)
            .send()
            .await
            .unwrap(),
        403,
        "verification_required",
    )
    .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("business_verified"),
        "{refused}"
    );
    profile(&app, founder_id, "business_verified", "ZA").await;
    let live =
        succeed(app.post(&format!("{path}/publish")).bearer_auth(&founder)).await["data"].clone();
    assert_eq!(live["status"], "live");
    expect_error(
        app.post(&format!("{path}/publish"))
            .bearer_auth(&founder)
            .send()
            .await
            .unwrap(),
        409,
        "invalid_campaign_transition",
    )
    .await;

    // A commitment is paid into the campaign's escrow.
    let made = expect_status(
        commit(&app, &backer, id, 40_000).header("idempotency-key", "c-1"),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(made["commitment"]["status"], "pending", "{made}");
    assert_eq!(made["payment"]["status"], "requires_action");
    assert_eq!(made["payment"]["fee_amount"], 0);
    let retried = expect_status(
        commit(&app, &backer, id, 40_000).header("idempotency-key", "c-1"),
        201,
    )
    .await;
    assert_eq!(
        retried["data"]["commitment"]["id"],
        made["commitment"]["id"]
    );
    pay(&app, &made["payment"]).await;
    let commitment = get(
        &app,
        &backer,
        &format!(
            "/v1/investments/commitments/{}",
            made["commitment"]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(commitment["status"], "confirmed", "{commitment}");
    let read = get(&app, &backer, &path).await;
    assert_eq!(
        (read["raised_amount"].as_i64(), read["backers"].as_i64()),
        (Some(40_000), Some(1))
    );
    assert_eq!(read["percent_funded"], 40);
    assert_eq!(
        balance(&app, &admin, &format!("escrow:campaign:{id}:ZAR")).await,
        40_000
    );
    assert_eq!(
        balance(&app, &admin, "provider:sandbox:clearing:ZAR").await,
        40_000
    );
    let listed = succeed(app.get("/v1/investments/campaigns?sort=most_funded&country=ZA")).await;
    assert_eq!(listed["data"][0]["id"], json!(id), "{listed}");
    let mine = get(&app, &backer, "/v1/me/investments/commitments").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    // The founder may not back their own campaign; a live campaign cannot be published again.
    expect_error(
        commit(&app, &founder, id, 5_000).send().await.unwrap(),
        422,
        "own_campaign",
    )
    .await;
    ledger_is_clean(&app).await;
}

async fn commitments_keep_to_bounds_cap_gates_and_corridors(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, founder) = member(&app, "business_verified", "ZA").await;
    let (_, backer) = member(&app, "email_verified", "ZA").await;
    let (_, rich) = member(&app, "identity_verified", "ZA").await;
    let (_, namibian) = member(&app, "identity_verified", "NA").await;
    let (_, british) = member(&app, "identity_verified", "GB").await;
    let admin = app.token(UserRole::Admin).await;
    let campaign = live_campaign(&app, &founder, "all_or_nothing", 240).await;
    let id = campaign["id"].as_str().unwrap();

    // Bounds: 1,000 to 200,000.
    let low = expect_error(
        commit(&app, &backer, id, 999).send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        low["error"]["details"]["fields"]["amount"][0]["code"], "below_minimum",
        "{low}"
    );
    let high = expect_error(
        commit(&app, &rich, id, 200_001).send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        high["error"]["details"]["fields"]["amount"][0]["code"],
        "above_maximum"
    );

    let big = campaign_with(
        &app,
        &founder,
        json!({ "goal_amount": 10_000_000, "max_commitment": null }),
    )
    .await;
    let big_id = big["id"].as_str().unwrap();
    // Cross-border: Namibia to South Africa is a corridor, reviewed above R10,000.
    let held = expect_status(commit(&app, &namibian, big_id, 1_000_001), 201).await["data"].clone();
    assert_eq!(held["commitment"]["status"], "pending_review", "{held}");
    assert!(held["payment"].is_null());
    let held_id = held["commitment"]["id"].as_str().unwrap();
    let checkout = |token: &str| {
        app.post(&format!("/v1/investments/commitments/{held_id}/checkout"))
            .bearer_auth(token)
            .json(&json!({ "provider": "sandbox" }))
    };
    expect_error(
        checkout(&namibian).send().await.unwrap(),
        409,
        "invalid_commitment_transition",
    )
    .await;
    let review = |token: &str, decision: &str| {
        app.post(&format!(
            "/v1/admin/investments/commitments/{held_id}/review"
        ))
        .bearer_auth(token)
        .json(&json!({ "decision": decision, "reason": "source of funds seen" }))
    };
    expect_error(
        review(&namibian, "approve").send().await.unwrap(),
        403,
        "admin_only",
    )
    .await;
    let approved = succeed(review(&admin, "approve")).await["data"].clone();
    assert_eq!(approved["status"], "pending");
    assert_eq!(approved["review_reason"], "source of funds seen");
    expect_error(
        review(&admin, "reject").send().await.unwrap(),
        409,
        "invalid_commitment_transition",
    )
    .await;
    let payment = expect_status(checkout(&namibian), 201).await["data"].clone();
    pay(&app, &payment).await;
    let small = expect_status(commit(&app, &namibian, id, 5_000), 201).await["data"].clone();
    assert_eq!(
        small["commitment"]["status"], "pending",
        "below the review amount: {small}"
    );
    expect_error(
        commit(&app, &british, id, 5_000).send().await.unwrap(),
        403,
        "corridor_not_allowed",
    )
    .await;

    // Above R25,000 a backer must be identity-verified.
    // Above R25,000 a backer must be identity-verified.
    let refused = expect_error(
        commit(&app, &backer, big_id, 2_500_001)
            .send()
            .await
            .unwrap(),
        403,
        "verification_required",
    )
    .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("identity_verified"),
        "{refused}"
    );
    expect_status(commit(&app, &backer, big_id, 2_500_000), 201).await;
    expect_status(commit(&app, &rich, big_id, 2_500_001), 201).await;
    committed(&app, &rich, id, 30_000).await;

    // The cap: 150,000 reserved at most (5,000 + 30,000 so far).
    committed(&app, &rich, id, 95_000).await;
    committed(&app, &rich, id, 20_000).await;
    expect_error(
        commit(&app, &rich, id, 1_000).send().await.unwrap(),
        409,
        "campaign_full",
    )
    .await;
    let read = succeed(app.get(&format!("/v1/investments/campaigns/{id}"))).await["data"].clone();
    assert_eq!(read["raised_amount"], 145_000, "{read}");
    assert_eq!(read["backers"], 3);
    assert_eq!(read["status"], "funded");
    ledger_is_clean(&app).await;
}

async fn a_backer_withdraws_until_48_hours_before_the_deadline(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, founder) = member(&app, "business_verified", "ZA").await;
    let (_, backer) = member(&app, "identity_verified", "ZA").await;
    let (_, other) = member(&app, "identity_verified", "ZA").await;
    let admin = app.token(UserRole::Admin).await;
    let open = live_campaign(&app, &founder, "keep_it_all", 72).await;
    let open_id = open["id"].as_str().unwrap();
    let closing = live_campaign(&app, &founder, "keep_it_all", 47).await;
    let closing_id = closing["id"].as_str().unwrap();
    let kept = committed(&app, &backer, closing_id, 8_000).await;
    let withdrawn = committed(&app, &backer, open_id, 12_000).await;
    let withdraw = |token: &str, commitment: &Value| {
        app.post(&format!(
            "/v1/investments/commitments/{}/withdraw",
            commitment["id"].as_str().unwrap()
        ))
        .bearer_auth(token)
    };
    expect_error(
        withdraw(&other, &withdrawn).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        withdraw(&backer, &kept).send().await.unwrap(),
        409,
        "withdrawal_closed",
    )
    .await;
    let refund = expect_status(withdraw(&backer, &withdrawn), 201).await["data"].clone();
    assert_eq!(refund["kind"], "refund", "{refund}");
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["amount"], 12_000);
    let read = get(
        &app,
        &backer,
        &format!(
            "/v1/investments/commitments/{}",
            withdrawn["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(read["status"], "refunded", "{read}");
    expect_error(
        withdraw(&backer, &withdrawn).send().await.unwrap(),
        409,
        "invalid_commitment_transition",
    )
    .await;
    let campaign =
        succeed(app.get(&format!("/v1/investments/campaigns/{open_id}"))).await["data"].clone();
    assert_eq!(
        (
            campaign["raised_amount"].as_i64(),
            campaign["backers"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(
        balance(&app, &admin, &format!("escrow:campaign:{open_id}:ZAR")).await,
        0
    );
    assert_eq!(
        balance(&app, &admin, &format!("escrow:campaign:{closing_id}:ZAR")).await,
        8_000
    );
    ledger_is_clean(&app).await;
}

async fn interest_in_an_offer_or_request_opens_a_conversation(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (investor_id, investor) = member(&app, "identity_verified", "ZA").await;
    let (founder_id, founder) = member(&app, "business_verified", "ZA").await;
    let offer = expect_status(
        app.post("/v1/posts").bearer_auth(&investor).json(&json!({
            "type": "investment_offer", "body": "Seed cheques",
            "payload": { "title": "Seed cheques", "ticket_min_minor": 10_000, "ticket_max_minor": 50_000,
                "currency": "ZAR", "instrument": "equity", "stage": "seed" },
        })),
        201,
    )
    .await["data"]["id"]
        .clone();
    let request = expect_status(
        app.post("/v1/posts").bearer_auth(&founder).json(&json!({
            "type": "investment_request", "body": "Raising our seed",
            "payload": { "title": "Seed round", "amount_sought_minor": 30_000, "currency": "ZAR",
                "instrument": "equity", "stage": "seed" },
        })),
        201,
    )
    .await["data"]["id"]
        .clone();
    let matches = get(&app, &investor, "/v1/investments/matches").await;
    assert_eq!(matches[0]["post_id"], request, "{matches}");
    assert_eq!(matches[0]["score"], 100);
    assert_eq!(
        matches[0]["reasons"],
        json!(["industry", "amount", "stage", "instrument", "country"])
    );

    let interest = |token: &str, body: Value| {
        app.post("/v1/investments/interests")
            .bearer_auth(token)
            .json(&body)
    };
    let sent = expect_status(
        interest(
            &investor,
            json!({ "request_post_id": request, "message": "Keen to talk" }),
        ),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(sent["opened"], true, "{sent}");
    assert_eq!(sent["message"]["body"], "Keen to talk");
    let again = expect_status(
        interest(
            &founder,
            json!({ "offer_post_id": offer, "message": "Likewise" }),
        ),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(
        again["conversation_id"], sent["conversation_id"],
        "the same conversation"
    );
    assert_eq!(again["opened"], false);
    expect_error(
        interest(
            &investor,
            json!({ "offer_post_id": offer, "message": "Me" }),
        )
        .send()
        .await
        .unwrap(),
        422,
        "own_post",
    )
    .await;
    expect_error(
        interest(
            &investor,
            json!({ "offer_post_id": offer, "request_post_id": request, "message": "x" }),
        )
        .send()
        .await
        .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    // The wrong kind of post is no offer.
    expect_error(
        interest(
            &investor,
            json!({ "offer_post_id": request, "message": "x" }),
        )
        .send()
        .await
        .unwrap(),
        404,
        "not_found",
    )
    .await;
    let _ = (investor_id, founder_id);
}
