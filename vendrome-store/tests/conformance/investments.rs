//! Investments: a campaign is made once per crowdfunding post and moves by compare-and-set;
//! concurrent commitments never reserve past 150 % of an all-or-nothing goal, and their
//! confirmations keep the raised amount and the backers exact; held commitments are reviewed
//! once, audited; lists filter and sort with cursors; a due campaign is leased to one settler
//! and decided once (the release posted once, unpaid commitments cancelled); refunds out of
//! escrow take the totals back. The ledger is checked clean after each.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use vendrome_core::audit::{AuditContext, AuditRepo, NewAuditEvent};
use vendrome_core::enums::{
    CommitmentStatus, InvestmentCampaignStatus, InvestmentInstrument, InvestmentModel,
    InvestmentSettlement, PaymentKind, PaymentProvider, PaymentStatus, PostType, PostVisibility,
};
use vendrome_core::ids::{CommitmentId, InvestmentCampaignId, PaymentId, PostId, UserId};
use vendrome_core::investments::{
    settlement_decision, Campaign, CampaignFilter, CampaignMove, CampaignSort, CommitOutcome,
    Commitment, CommitmentMove, CommitmentReview, InvestmentRepo, NewCampaign, NewCommitment,
};
use vendrome_core::ledger::{postings, AccountCode, LedgerRepo, Posting};
use vendrome_core::money::{Currency, Money};
use vendrome_core::page::Limit;
use vendrome_core::payments::{NewPayment, Payment, PaymentRepo, SettleOutcome, Settlement};
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_core::time;
use vendrome_store::{with_db, Store};

use crate::graph::user;
use crate::payments::started;
use crate::posts::new_post;

conformance!(
    campaigns_are_made_once_per_post_and_move_by_compare_and_set,
    concurrent_commitments_never_pass_the_cap_and_confirmed_totals_are_exact,
    held_commitments_are_reviewed_once_with_an_audit_event,
    campaign_lists_filter_and_sort_with_cursors,
    a_due_campaign_is_claimed_by_one_settler_and_released_once,
    refunds_out_of_escrow_take_the_totals_back_and_finish_the_settlement,
);

pub fn zar(amount: i64) -> Money {
    Money::new(amount, Currency::parse("ZAR").unwrap())
}

/// Sets a member's verification level and profile country and industry.
pub async fn profile(store: &Store, user: UserId, level: &str, country: &str, industry: &str) {
    with_db!(store.db(), pool, dialect => {
        sqlx::query(dialect.pick(
            "UPDATE users SET verification_level = $2::verification_level WHERE id = $1",
            "UPDATE users SET verification_level = $2 WHERE id = $1",
        ))
        .bind(user.as_uuid())
        .bind(level)
        .execute(pool)
        .await?;
        sqlx::query(
            "INSERT INTO business_profiles (user_id, country_code, industry, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id) DO UPDATE \
             SET country_code = excluded.country_code, industry = excluded.industry",
        )
        .bind(user.as_uuid())
        .bind(country)
        .bind(industry)
        .bind(time::now())
            .execute(pool)
            .await
            .map(drop)
    })
    .unwrap();
}

/// A live crowdfunding post of `author`.
pub async fn crowdfunding_post(store: &Store, author: UserId) -> PostId {
    let fields = json!({"title": "Solar kiosks", "goal_minor": 100_000, "currency": "ZAR",
        "instrument": "equity", "ends_at": "2031-01-01T00:00:00Z", "reward_summary": "Shares"});
    let payload = PostPayload::parse(PostType::Crowdfunding, Some(&fields)).unwrap();
    store
        .create_post(new_post(author, payload, PostVisibility::Public))
        .await
        .unwrap()
}

pub fn new_campaign(owner: UserId, post: PostId, goal: i64, model: InvestmentModel) -> NewCampaign {
    let now = time::now();
    NewCampaign {
        id: InvestmentCampaignId::new(),
        owner_id: owner,
        post_id: post,
        title: "Solar kiosks".into(),
        summary: String::new(),
        instrument: InvestmentInstrument::Equity,
        model,
        goal: zar(goal),
        min_commitment: 1_000,
        max_commitment: None,
        platform_fee_bps: 500,
        deadline: now + Duration::days(10),
        created_at: now,
    }
}

/// A live campaign of a new founder (business-verified, in ZA).
pub async fn live_campaign(store: &Store, goal: i64, model: InvestmentModel) -> Campaign {
    let founder = user(store).await;
    profile(store, founder, "business_verified", "ZA", "energy").await;
    let post = crowdfunding_post(store, founder).await;
    let draft = store
        .create_campaign(&new_campaign(founder, post, goal, model))
        .await
        .unwrap()
        .unwrap();
    store
        .move_campaign(CampaignMove {
            id: draft.id,
            from: InvestmentCampaignStatus::Draft,
            to: InvestmentCampaignStatus::Live,
            at: time::now(),
        })
        .await
        .unwrap()
        .unwrap()
}

pub fn new_commitment(
    campaign: &Campaign,
    investor: UserId,
    amount: i64,
    key: &str,
) -> NewCommitment {
    NewCommitment {
        id: CommitmentId::new(),
        campaign_id: campaign.id,
        investor_id: investor,
        status: CommitmentStatus::Pending,
        amount: zar(amount),
        country: Some("ZA".into()),
        idempotency_key: key.into(),
        created_at: time::now(),
    }
}

pub async fn committed(store: &Store, campaign: &Campaign, amount: i64) -> Commitment {
    let investor = user(store).await;
    match store
        .commit(
            &new_commitment(campaign, investor, amount, "c"),
            campaign.cap(),
        )
        .await
        .unwrap()
    {
        CommitOutcome::Created(c) => c,
        other => panic!("expected a commitment, got {other:?}"),
    }
}

fn settlement(payment: &Payment, commitment: &Commitment, posting: Posting) -> Settlement {
    let (from, to) = match payment.kind {
        PaymentKind::Refund => (CommitmentStatus::Confirmed, CommitmentStatus::Refunded),
        _ => (CommitmentStatus::Pending, CommitmentStatus::Confirmed),
    };
    Settlement {
        payment_id: payment.id,
        status: PaymentStatus::Succeeded,
        reference: Some(format!("ref-{}", payment.id)),
        failure_code: None,
        failure_message: None,
        posting: Some(posting),
        refund_share: None,
        order_change: None,
        order_refund: None,
        booking_move: None,
        campaign_funded: None,
        commitment_move: Some(CommitmentMove {
            commitment_id: commitment.id,
            campaign_id: commitment.campaign_id,
            from,
            to,
            amount: commitment.amount.amount,
            at: time::now(),
        }),
        events: Vec::new(),
        at: time::now(),
    }
}

fn payment_of(
    commitment: &Commitment,
    owner: UserId,
    kind: PaymentKind,
    refund_of: Option<PaymentId>,
) -> NewPayment {
    NewPayment {
        id: PaymentId::new(),
        kind,
        provider: PaymentProvider::Sandbox,
        payer_id: commitment.investor_id,
        payee_id: Some(owner),
        order_id: None,
        booking_id: None,
        commitment_id: Some(commitment.id),
        marketing_campaign_id: None,
        refund_of,
        amount: commitment.amount,
        fee_amount: 0,
        idempotency_key: format!("{kind}:{}", commitment.id),
        method: None,
        return_url: None,
        created_at: time::now(),
    }
}

/// Charges and settles the commitment's payment as its success would: into escrow, confirmed.
pub async fn confirm(store: &Store, campaign: &Campaign, commitment: &Commitment) -> Payment {
    let payment = started(
        store,
        &payment_of(commitment, campaign.owner_id, PaymentKind::Charge, None),
    )
    .await;
    let posting =
        postings::commitment_charged(payment.id, payment.provider, payment.amount, campaign.id)
            .unwrap();
    match store
        .settle(&settlement(&payment, commitment, posting))
        .await
        .unwrap()
    {
        SettleOutcome::Applied(p) => p,
        other => panic!("expected the charge to settle, got {other:?}"),
    }
}

/// Refunds a confirmed commitment's charge as a succeeded refund would.
async fn refund(store: &Store, campaign: &Campaign, commitment: &Commitment, charge: &Payment) {
    let payment = started(
        store,
        &payment_of(
            commitment,
            campaign.owner_id,
            PaymentKind::Refund,
            Some(charge.id),
        ),
    )
    .await;
    let confirmed = store.commitment(commitment.id).await.unwrap().unwrap();
    let posting =
        postings::commitment_refunded(payment.id, payment.provider, payment.amount, campaign.id)
            .unwrap();
    store
        .settle(&settlement(&payment, &confirmed, posting))
        .await
        .unwrap();
}

pub async fn escrow(store: &Store, campaign: InvestmentCampaignId) -> i64 {
    let code = AccountCode::campaign_escrow(campaign.as_uuid(), Currency::parse("ZAR").unwrap());
    store.account(&code).await.unwrap().map_or(0, |a| a.balance)
}

pub async fn ledger_is_clean(store: &Store) {
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}

async fn campaigns_are_made_once_per_post_and_move_by_compare_and_set(store: Store) {
    let founder = user(&store).await;
    profile(&store, founder, "business_verified", "ZA", "energy").await;
    let post = crowdfunding_post(&store, founder).await;
    let source = store.crowdfunding_post(post).await.unwrap().unwrap();
    assert_eq!(source.author_id, founder);
    assert_eq!(source.instrument, InvestmentInstrument::Equity);
    assert!(store
        .crowdfunding_post(PostId::new())
        .await
        .unwrap()
        .is_none());

    let new = new_campaign(founder, post, 100_000, InvestmentModel::AllOrNothing);
    let draft = store.create_campaign(&new).await.unwrap().unwrap();
    assert_eq!(draft.status, InvestmentCampaignStatus::Draft);
    assert_eq!(
        (draft.industry.as_deref(), draft.country.as_deref()),
        (Some("energy"), Some("ZA"))
    );
    assert_eq!(draft.goal, zar(100_000));
    assert_eq!(draft.cap(), Some(150_000));
    assert_eq!(draft.platform_fee_bps, 500);
    let again = NewCampaign {
        id: InvestmentCampaignId::new(),
        ..new.clone()
    };
    assert!(
        store.create_campaign(&again).await.unwrap().is_none(),
        "one campaign per post"
    );

    // A draft takes no commitment.
    let backer = user(&store).await;
    let early = new_commitment(&draft, backer, 5_000, "early");
    assert_eq!(
        store.commit(&early, draft.cap()).await.unwrap(),
        CommitOutcome::Closed
    );

    let publish = CampaignMove {
        id: draft.id,
        from: InvestmentCampaignStatus::Draft,
        to: InvestmentCampaignStatus::Live,
        at: time::now(),
    };
    let live = store.move_campaign(publish).await.unwrap().unwrap();
    assert_eq!(live.status, InvestmentCampaignStatus::Live);
    assert!(live.published_at.is_some());
    assert!(
        store.move_campaign(publish).await.unwrap().is_none(),
        "moved once"
    );

    // Cancelling a live campaign decides its refund and cancels what was never paid.
    let pending = committed(&store, &live, 5_000).await;
    let cancelled = store
        .move_campaign(CampaignMove {
            id: live.id,
            from: InvestmentCampaignStatus::Live,
            to: InvestmentCampaignStatus::Cancelled,
            at: time::now(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.settlement, Some(InvestmentSettlement::Refund));
    assert_eq!(cancelled.reserved_amount, 0);
    let pending = store.commitment(pending.id).await.unwrap().unwrap();
    assert_eq!(pending.status, CommitmentStatus::Cancelled);
}

async fn concurrent_commitments_never_pass_the_cap_and_confirmed_totals_are_exact(store: Store) {
    let campaign = live_campaign(&store, 100_000, InvestmentModel::AllOrNothing).await;
    let store = Arc::new(store);
    // 50 backers commit 5,000 each at once: 250,000 asked, 150,000 (150 %) taken.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (store, campaign) = (store.clone(), campaign.clone());
        tasks.push(tokio::spawn(async move {
            let investor = user(&store).await;
            let new = new_commitment(&campaign, investor, 5_000, &format!("k{i}"));
            let outcome = store.commit(&new, campaign.cap()).await.unwrap();
            (new, outcome)
        }));
    }
    let mut created = Vec::new();
    let mut asked = Vec::new();
    let mut full = 0;
    for task in tasks {
        match task.await.unwrap() {
            (new, CommitOutcome::Created(c)) => {
                created.push(c);
                asked.push(new);
            }
            (_, CommitOutcome::Full) => full += 1,
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created.len(), full), (30, 20));
    let read = store.campaign(campaign.id).await.unwrap().unwrap();
    assert_eq!(read.reserved_amount, 150_000);
    assert_eq!(
        (read.raised_amount, read.backers),
        (0, 0),
        "nothing is raised before payment"
    );

    // A retry with the same key answers the same commitment; a new key finds the cap.
    let first = &created[0];
    let retry = NewCommitment {
        id: CommitmentId::new(),
        ..asked[0].clone()
    };
    match store.commit(&retry, campaign.cap()).await.unwrap() {
        CommitOutcome::Existing(same) => assert_eq!(same.id, first.id),
        other => panic!("expected the same commitment, got {other:?}"),
    }
    let another = new_commitment(&campaign, first.investor_id, 5_000, "k-another");
    let made = store.commit(&another, campaign.cap()).await.unwrap();
    assert_eq!(made, CommitOutcome::Full, "the cap holds for a new key");
    let mine = store
        .commitments_of(first.investor_id, None, Limit::DEFAULT)
        .await
        .unwrap()
        .0;
    assert_eq!(mine.len(), 1);

    // The 30 confirmations settle at once: the totals are exact, the campaign funded.
    let mut tasks = Vec::new();
    for commitment in created.clone() {
        let (store, campaign) = (store.clone(), campaign.clone());
        tasks.push(tokio::spawn(async move {
            confirm(&store, &campaign, &commitment).await
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let read = store.campaign(campaign.id).await.unwrap().unwrap();
    assert_eq!((read.raised_amount, read.backers), (150_000, 30));
    assert_eq!(read.percent_funded(), 150);
    assert_eq!(read.status, InvestmentCampaignStatus::Funded);
    assert_eq!(escrow(&store, campaign.id).await, 150_000);
    let confirmed = store.commitment(first.id).await.unwrap().unwrap();
    assert_eq!(confirmed.status, CommitmentStatus::Confirmed);
    assert!(confirmed.confirmed_at.is_some());
    let paid = store.payments_for_commitment(first.id).await.unwrap();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].commitment_id, Some(first.id));
    ledger_is_clean(&store).await;
}

async fn held_commitments_are_reviewed_once_with_an_audit_event(store: Store) {
    let campaign = live_campaign(&store, 100_000, InvestmentModel::KeepItAll).await;
    assert_eq!(campaign.cap(), None);
    let (admin, backer) = (user(&store).await, user(&store).await);
    let review_of = |id, approve| CommitmentReview {
        commitment_id: id,
        approve,
        reason: "corridor checked".into(),
        by: admin,
        at: time::now(),
    };
    let audit = |id: CommitmentId| NewAuditEvent {
        action: "investment.commitment_reviewed".into(),
        target_type: "investment_commitment".into(),
        target_id: id.to_string(),
        details: json!({"reason": "corridor checked"}),
    };
    let context = AuditContext {
        actor_id: Some(admin),
        ..AuditContext::default()
    };
    let mut held = Vec::new();
    for key in ["a", "b"] {
        let new = NewCommitment {
            status: CommitmentStatus::PendingReview,
            country: Some("NA".into()),
            ..new_commitment(&campaign, backer, 20_000, key)
        };
        match store.commit(&new, None).await.unwrap() {
            CommitOutcome::Created(c) => held.push(c),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(held[0].status, CommitmentStatus::PendingReview);
    let approved = store
        .review_commitment(&review_of(held[0].id, true), &audit(held[0].id), &context)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.status, CommitmentStatus::Pending);
    assert_eq!(approved.review_reason.as_deref(), Some("corridor checked"));
    assert_eq!(approved.reviewed_by, Some(admin));
    assert!(
        store
            .review_commitment(&review_of(held[0].id, false), &audit(held[0].id), &context)
            .await
            .unwrap()
            .is_none(),
        "reviewed once"
    );
    let rejected = store
        .review_commitment(&review_of(held[1].id, false), &audit(held[1].id), &context)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rejected.status, CommitmentStatus::Cancelled);
    // The rejection gave its reserve back.
    let read = store.campaign(campaign.id).await.unwrap().unwrap();
    assert_eq!(read.reserved_amount, 20_000);
    let events = store
        .events_for_target(
            "investment_commitment",
            &held[0].id.to_string(),
            None,
            Limit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].actor_id, Some(admin));
}

async fn campaign_lists_filter_and_sort_with_cursors(store: Store) {
    let a = live_campaign(&store, 100_000, InvestmentModel::AllOrNothing).await;
    let b = live_campaign(&store, 100_000, InvestmentModel::KeepItAll).await;
    // `c`: a founder in Kenya, in agritech, ending first.
    let founder = user(&store).await;
    profile(&store, founder, "business_verified", "KE", "agritech").await;
    let post = crowdfunding_post(&store, founder).await;
    let c = store
        .create_campaign(&NewCampaign {
            deadline: time::now() + Duration::days(2),
            instrument: InvestmentInstrument::Debt,
            ..new_campaign(founder, post, 50_000, InvestmentModel::AllOrNothing)
        })
        .await
        .unwrap()
        .unwrap();
    let c = store
        .move_campaign(CampaignMove {
            id: c.id,
            from: InvestmentCampaignStatus::Draft,
            to: InvestmentCampaignStatus::Live,
            at: time::now(),
        })
        .await
        .unwrap()
        .unwrap();
    // A draft is listed for its founder only.
    let drafter = user(&store).await;
    let draft_post = crowdfunding_post(&store, drafter).await;
    let draft = store
        .create_campaign(&new_campaign(
            drafter,
            draft_post,
            10_000,
            InvestmentModel::KeepItAll,
        ))
        .await
        .unwrap()
        .unwrap();
    let b_backing = committed(&store, &b, 7_000).await;
    confirm(&store, &b, &b_backing).await;

    let list = |viewer, filter: CampaignFilter, sort| {
        let store = store.clone();
        async move {
            let mut ids = Vec::new();
            let mut cursor = None;
            loop {
                let (items, next) = store
                    .campaigns(
                        viewer,
                        &filter,
                        sort,
                        cursor.as_ref(),
                        Limit::parse(1).unwrap(),
                    )
                    .await
                    .unwrap();
                ids.extend(items.into_iter().map(|c| c.id));
                match next {
                    Some(next) => cursor = Some(next),
                    None => return ids,
                }
            }
        }
    };
    let all = CampaignFilter::default();
    assert_eq!(
        list(None, all.clone(), CampaignSort::Newest).await,
        vec![c.id, b.id, a.id]
    );
    assert_eq!(
        list(Some(drafter), all.clone(), CampaignSort::Newest).await,
        vec![draft.id, c.id, b.id, a.id]
    );
    assert_eq!(
        list(None, all.clone(), CampaignSort::EndingSoon).await,
        vec![c.id, a.id, b.id]
    );
    assert_eq!(
        list(None, all.clone(), CampaignSort::MostFunded).await[0],
        b.id
    );
    let kenya = CampaignFilter {
        country: Some("KE".into()),
        ..all.clone()
    };
    assert_eq!(list(None, kenya, CampaignSort::Newest).await, vec![c.id]);
    let energy = CampaignFilter {
        industry: Some("energy".into()),
        ..all.clone()
    };
    assert_eq!(
        list(None, energy, CampaignSort::Newest).await,
        vec![b.id, a.id]
    );
    let debt = CampaignFilter {
        instrument: Some(InvestmentInstrument::Debt),
        ..all.clone()
    };
    assert_eq!(list(None, debt, CampaignSort::Newest).await, vec![c.id]);
    let live = CampaignFilter {
        status: Some(InvestmentCampaignStatus::Live),
        ..all
    };
    assert_eq!(list(None, live, CampaignSort::Newest).await.len(), 3);
    ledger_is_clean(&store).await;
}

async fn a_due_campaign_is_claimed_by_one_settler_and_released_once(store: Store) {
    let campaign = live_campaign(&store, 10_000, InvestmentModel::AllOrNothing).await;
    let paid = committed(&store, &campaign, 12_000).await;
    confirm(&store, &campaign, &paid).await;
    let unpaid = committed(&store, &campaign, 2_000).await;
    let before = time::now();
    assert!(
        store
            .claim_settlement(before, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "not due yet"
    );

    let due = campaign.deadline + Duration::seconds(1);
    let store = Arc::new(store);
    let lease = std::time::Duration::from_secs(60);
    let claims: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_settlement(due, lease).await.unwrap() })
        })
        .collect();
    let mut claimed = Vec::new();
    for claim in claims {
        claimed.extend(claim.await.unwrap());
    }
    assert_eq!(claimed.len(), 1, "one settler holds the campaign");
    let claimed = claimed.remove(0);
    assert_eq!(claimed.id, campaign.id);
    // After the lease lapses another settler may take it over.
    let later = due + Duration::seconds(61);
    assert!(store
        .claim_settlement(later, lease)
        .await
        .unwrap()
        .is_some());

    let decision = settlement_decision(&claimed, due).unwrap();
    assert_eq!(decision.settlement, InvestmentSettlement::Release);
    let decisions: Vec<_> = (0..3)
        .map(|_| {
            let (store, decision) = (store.clone(), decision.clone());
            tokio::spawn(async move { store.decide_settlement(&decision).await.unwrap() })
        })
        .collect();
    let mut applied = 0;
    for d in decisions {
        applied += usize::from(d.await.unwrap());
    }
    assert_eq!(applied, 1, "decided once");
    let settled = store.campaign(campaign.id).await.unwrap().unwrap();
    assert_eq!(settled.status, InvestmentCampaignStatus::Closed);
    assert_eq!(settled.settlement, Some(InvestmentSettlement::Release));
    assert!(settled.settled_at.is_some());
    assert_eq!(
        settled.reserved_amount, 12_000,
        "the unpaid commitment's reserve is back"
    );
    assert_eq!(
        store.commitment(unpaid.id).await.unwrap().unwrap().status,
        CommitmentStatus::Cancelled
    );
    // The release: 12,000 out of escrow, 600 (5 %) to the platform, 11,400 to the founder.
    assert_eq!(escrow(&store, campaign.id).await, 0);
    let payable = AccountCode::user_payable(campaign.owner_id, Currency::parse("ZAR").unwrap());
    assert_eq!(
        store.account(&payable).await.unwrap().unwrap().balance,
        11_400
    );
    assert!(
        store
            .claim_settlement(later + Duration::days(1), lease)
            .await
            .unwrap()
            .is_none(),
        "settled"
    );
    ledger_is_clean(&store).await;
}

async fn refunds_out_of_escrow_take_the_totals_back_and_finish_the_settlement(store: Store) {
    let campaign = live_campaign(&store, 100_000, InvestmentModel::AllOrNothing).await;
    let mut charges = Vec::new();
    for amount in [10_000, 20_000] {
        let c = committed(&store, &campaign, amount).await;
        let charge = confirm(&store, &campaign, &c).await;
        charges.push((c, charge));
    }
    let due = campaign.deadline + Duration::seconds(1);
    let claimed = store
        .claim_settlement(due, std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let decision = settlement_decision(&claimed, due).unwrap();
    assert_eq!(
        decision.settlement,
        InvestmentSettlement::Refund,
        "30 % of the goal"
    );
    assert!(decision.release.is_none());
    assert!(store.decide_settlement(&decision).await.unwrap());
    let decided = store.campaign(campaign.id).await.unwrap().unwrap();
    assert!(
        decided.settled_at.is_none(),
        "a refund finishes when every backer is refunded"
    );

    let due_refunds = store.refunds_due(campaign.id, 10).await.unwrap();
    assert_eq!(due_refunds.len(), 2);
    let (first, charge) = &charges[0];
    refund(&store, &campaign, first, charge).await;
    let left = store.refunds_due(campaign.id, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![charges[1].0.id]
    );
    let read = store.campaign(campaign.id).await.unwrap().unwrap();
    assert_eq!(
        (read.raised_amount, read.backers, read.reserved_amount),
        (20_000, 1, 20_000)
    );
    assert_eq!(
        store.commitment(first.id).await.unwrap().unwrap().status,
        CommitmentStatus::Refunded
    );
    let (second, charge) = &charges[1];
    refund(&store, &campaign, second, charge).await;
    assert!(store.refunds_due(campaign.id, 10).await.unwrap().is_empty());
    assert_eq!(escrow(&store, campaign.id).await, 0);
    store.finish_settlement(campaign.id, due).await.unwrap();
    assert!(store
        .campaign(campaign.id)
        .await
        .unwrap()
        .unwrap()
        .settled_at
        .is_some());
    ledger_is_clean(&store).await;
}
