//! Marketing campaigns: compare-and-set edits and moves, paging, consent and the audience
//! estimate (only opted-in, matching members), funding that schedules a draft once with its
//! posting, and ingest that counts each event once, never spends past the total or a day's
//! budget (also with concurrent batches), completes a campaign whose budget is used up, posts
//! its spend once per batch and keeps the hourly and daily buckets; delivery's reads.

use std::sync::Arc;

use chrono::{Duration, DurationRound as _};
use vendrome_core::enums::{
    LookingFor, MarketingBidModel, MarketingCampaignStatus as S, MarketingEventKind,
    MarketingObjective, PaymentKind, PaymentProvider, PaymentStatus, PostType, PostVisibility,
};
use vendrome_core::events::{CampaignChanged, DomainEvent};
use vendrome_core::ids::{CampaignId, PaymentId, UserId};
use vendrome_core::ledger::{postings, AccountCode, LedgerRepo as _};
use vendrome_core::marketing::{
    AdEvent, Bid, Campaign, CampaignAction, CampaignFunded, CampaignMove, Granularity,
    MarketingRepo, Targeting,
};
use vendrome_core::money::{Currency, Money};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::Limit;
use vendrome_core::payments::{NewPayment, PaymentRepo as _, SettleOutcome, Settlement};
use vendrome_core::posts::{PostPayload, PostRepo as _};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::{with_db, Store};

use crate::graph::user;
use crate::orders::count_events;
use crate::payments::started;
use crate::posts::new_post;

conformance!(
    campaigns_move_by_compare_and_set_and_page_by_status,
    the_estimate_counts_only_opted_in_matching_members,
    funding_schedules_a_draft_once_with_its_posting,
    ingest_counts_each_event_once_and_stops_at_the_budget,
    concurrent_batches_spend_exactly_the_budget,
    a_day_never_spends_past_its_daily_budget,
    stats_come_in_hour_and_day_buckets,
    delivery_reads_running_campaigns_and_the_viewer
);

fn zar() -> Currency {
    Currency::parse("ZAR").unwrap()
}

fn created(c: &Campaign) -> NewEvent {
    NewEvent::new(DomainEvent::CampaignCreated(CampaignChanged {
        campaign_id: c.id,
        owner_id: c.owner_id,
        status: c.status,
    }))
}

pub fn changed(c: &Campaign, to: S) -> NewEvent {
    NewEvent::new(DomainEvent::CampaignStatusChanged(CampaignChanged {
        campaign_id: c.id,
        owner_id: c.owner_id,
        status: to,
    }))
}

/// A draft campaign of a new member promoting their own post.
async fn draft(store: &Store, bid: Bid, budget: i64, daily: Option<i64>) -> Campaign {
    draft_for(store, bid, budget, daily, Targeting::default()).await
}

/// A draft campaign of a new member promoting their own post to `targeting`.
async fn draft_for(
    store: &Store,
    bid: Bid,
    budget: i64,
    daily: Option<i64>,
    targeting: Targeting,
) -> Campaign {
    let owner = user(store).await;
    let post = store
        .create_post(new_post(
            owner,
            PostPayload::parse(PostType::Text, None).unwrap(),
            PostVisibility::Public,
        ))
        .await
        .unwrap();
    let now = time::now();
    let c = Campaign {
        id: CampaignId::new(),
        owner_id: owner,
        name: "Spring launch".into(),
        objective: MarketingObjective::Awareness,
        status: S::Draft,
        post_id: Some(post),
        bid,
        budget: Money::new(budget, zar()),
        daily_budget: daily,
        spent: 0,
        billed_impressions: 0,
        targeting,
        starts_at: Some(now),
        ends_at: None,
        submitted_at: None,
        funding_payment_id: None,
        released_amount: None,
        refunded_amount: 0,
        ended_at: None,
        created_at: now,
        updated_at: now,
    };
    store.create_campaign(&c, created(&c)).await.unwrap();
    c
}

async fn step(store: &Store, c: &Campaign, action: CampaignAction, to: S) -> Campaign {
    let change = CampaignMove {
        id: c.id,
        action,
        from: c.status,
        to,
        at: time::now(),
    };
    store
        .move_campaign(change, changed(c, to))
        .await
        .unwrap()
        .expect("the move applies")
}

/// A funded, active campaign: its budget posted into the owner's ad balance.
pub async fn active(store: &Store, bid: Bid, budget: i64, daily: Option<i64>) -> Campaign {
    active_for(store, bid, budget, daily, Targeting::default()).await
}

/// A funded, active campaign to `targeting`.
pub async fn active_for(
    store: &Store,
    bid: Bid,
    budget: i64,
    daily: Option<i64>,
    targeting: Targeting,
) -> Campaign {
    let c = draft_for(store, bid, budget, daily, targeting).await;
    let payment = started(store, &funding(&c, "active")).await;
    store.settle(&funded(&c, payment.id)).await.unwrap();
    let c = store.campaign(c.id).await.unwrap().unwrap();
    assert_eq!(c.status, S::Scheduled);
    step(store, &c, CampaignAction::Start, S::Active).await
}

pub fn events(c: &Campaign, kind: MarketingEventKind, n: usize, at: Timestamp) -> Vec<AdEvent> {
    (0..n)
        .map(|_| AdEvent {
            event_id: uuid::Uuid::now_v7(),
            campaign_id: c.id,
            kind,
            at,
            viewer_id: None,
        })
        .collect()
}

pub fn cpc(amount: i64) -> Bid {
    Bid {
        model: MarketingBidModel::Cpc,
        amount,
    }
}

pub async fn ingest(store: &Store, batch: &[AdEvent]) -> vendrome_core::marketing::IngestReport {
    store
        .ingest(batch, time::now(), &|c| changed(c, S::Completed))
        .await
        .unwrap()
}

async fn ad_balance(store: &Store, owner: UserId) -> i64 {
    store
        .account(&AccountCode::user_ad_balance(owner, zar()))
        .await
        .unwrap()
        .map_or(0, |a| a.balance)
}

async fn campaigns_move_by_compare_and_set_and_page_by_status(store: Store) {
    let c = draft(&store, cpc(10), 5_000, None).await;
    assert_eq!(store.campaign(c.id).await.unwrap().unwrap(), c);

    // An edit of an unsubmitted draft applies; of one in another status, it does not.
    let mut edited = c.clone();
    edited.name = "Winter launch".into();
    edited.targeting.countries = vec!["ZA".into()];
    let read = store
        .update_campaign(&edited, S::Draft, created(&c))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.name, "Winter launch");
    assert_eq!(read.targeting.countries, ["ZA"]);
    assert!(store
        .update_campaign(&edited, S::Paused, changed(&c, S::Paused))
        .await
        .unwrap()
        .is_none());

    // A submit stamps the draft once; a submitted draft is no longer edited.
    let submitted = step(&store, &read, CampaignAction::Submit, S::Draft).await;
    assert!(submitted.submitted_at.is_some());
    let again = CampaignMove {
        id: c.id,
        action: CampaignAction::Submit,
        from: S::Draft,
        to: S::Draft,
        at: time::now(),
    };
    assert!(store
        .move_campaign(again, changed(&c, S::Draft))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .update_campaign(&edited, S::Draft, changed(&c, S::Draft))
        .await
        .unwrap()
        .is_none());

    // A move from a status it is no longer in applies nothing; a cancel of an unfunded
    // campaign releases nothing.
    let cancelled = step(&store, &submitted, CampaignAction::Cancel, S::Cancelled).await;
    assert_eq!(cancelled.released_amount, Some(0));
    assert!(cancelled.ended_at.is_some());
    let stale = CampaignMove {
        id: c.id,
        action: CampaignAction::Pause,
        from: S::Active,
        to: S::Paused,
        at: time::now(),
    };
    assert!(store
        .move_campaign(stale, changed(&c, S::Paused))
        .await
        .unwrap()
        .is_none());

    // The owner's list: newest first, paged, by status.
    let owner = c.owner_id;
    let mut more = Vec::new();
    for _ in 0..3 {
        let mut d = draft(&store, cpc(10), 1_000, None).await;
        d.owner_id = owner;
        d.id = CampaignId::new();
        store.create_campaign(&d, created(&d)).await.unwrap();
        more.push(d.id);
    }
    let limit = Limit::parse(2).unwrap();
    let (first, next) = store
        .campaigns_of(owner, Some(S::Draft), None, limit)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|c| c.id).collect::<Vec<_>>(),
        [more[2], more[1]]
    );
    let (second, last) = store
        .campaigns_of(owner, Some(S::Draft), next.as_ref(), limit)
        .await
        .unwrap();
    assert_eq!(second.iter().map(|c| c.id).collect::<Vec<_>>(), [more[0]]);
    assert!(last.is_none());
    let (ended, _) = store
        .campaigns_of(owner, Some(S::Cancelled), None, limit)
        .await
        .unwrap();
    assert_eq!(ended.iter().map(|c| c.id).collect::<Vec<_>>(), [c.id]);
    assert_eq!(count_events(&store, "campaign.status_changed").await, 2);
}

/// A member with a business profile, opted in to direct marketing or not.
pub async fn member(
    store: &Store,
    industry: &str,
    country: &str,
    city: &str,
    consent: bool,
) -> UserId {
    let id = user(store).await;
    let now = time::now();
    with_db!(store.db(), pool => {
        sqlx::query(
            "INSERT INTO business_profiles (user_id, industry, country_code, city, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.as_uuid())
        .bind(industry)
        .bind(country)
        .bind(city)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
    })
    .unwrap();
    if consent {
        store.set_marketing_consent(id, true, now).await.unwrap();
    }
    id
}

async fn the_estimate_counts_only_opted_in_matching_members(store: Store) {
    let owner = user(&store).await;
    assert!(
        !store.marketing_consent(owner).await.unwrap(),
        "off by default"
    );
    let a = member(&store, "agritech", "ZA", "Cape Town", true).await;
    member(&store, "agritech", "ZA", "Durban", true).await;
    member(&store, "fintech", "KE", "Nairobi", true).await;
    // Matching, but never asked: never counted.
    member(&store, "agritech", "ZA", "Cape Town", false).await;
    // Opted in, then out.
    let out = member(&store, "agritech", "ZA", "Cape Town", true).await;
    store
        .set_marketing_consent(out, false, time::now())
        .await
        .unwrap();
    assert!(!store.marketing_consent(out).await.unwrap());

    let estimate = |t: Targeting| {
        let store = store.clone();
        async move { store.audience_size(owner, &t).await.unwrap() }
    };
    assert_eq!(estimate(Targeting::default()).await, 3);
    let za = Targeting {
        countries: vec!["ZA".into()],
        ..Targeting::default()
    };
    assert_eq!(estimate(za.clone()).await, 2);
    let cape_town = Targeting {
        cities: vec!["cape town".into()],
        industries: vec!["agritech".into()],
        ..za.clone()
    };
    assert_eq!(estimate(cape_town).await, 1);
    with_db!(store.db(), pool => {
        sqlx::query("INSERT INTO business_profile_looking_for (user_id, looking_for) VALUES ($1, 'investors')")
            .bind(a.as_uuid())
            .execute(pool)
            .await
            .map(|_| ())
    })
    .unwrap();
    let investors = Targeting {
        looking_for: vec![LookingFor::Investors],
        ..Targeting::default()
    };
    assert_eq!(estimate(investors).await, 1);
    let connected = Targeting {
        connection_degree: Some(1),
        ..Targeting::default()
    };
    assert_eq!(estimate(connected).await, 0, "the owner has no connections");
}

fn funding(c: &Campaign, key: &str) -> NewPayment {
    NewPayment {
        id: PaymentId::new(),
        kind: PaymentKind::Charge,
        provider: PaymentProvider::Sandbox,
        payer_id: c.owner_id,
        payee_id: None,
        order_id: None,
        booking_id: None,
        marketing_campaign_id: Some(c.id),
        commitment_id: None,
        refund_of: None,
        amount: c.budget,
        fee_amount: 0,
        idempotency_key: format!("campaign:{}:{key}", c.id),
        method: None,
        return_url: None,
        created_at: time::now(),
    }
}

fn funded(c: &Campaign, payment: PaymentId) -> Settlement {
    Settlement {
        payment_id: payment,
        status: PaymentStatus::Succeeded,
        reference: Some(format!("ref-{payment}")),
        failure_code: None,
        failure_message: None,
        posting: Some(
            postings::ad_funding_succeeded(payment, PaymentProvider::Sandbox, c.budget, c.owner_id)
                .unwrap(),
        ),
        refund_share: None,
        order_change: None,
        order_refund: None,
        booking_move: None,
        commitment_move: None,
        campaign_funded: Some(CampaignFunded {
            campaign_id: c.id,
            payment_id: payment,
            event: changed(c, S::Scheduled),
        }),
        events: Vec::new(),
        at: time::now(),
    }
}

async fn funding_schedules_a_draft_once_with_its_posting(store: Store) {
    let c = draft(&store, cpc(10), 5_000, None).await;
    let payment = started(&store, &funding(&c, "f")).await;
    assert_eq!(payment.marketing_campaign_id, Some(c.id));
    assert!(matches!(
        store.settle(&funded(&c, payment.id)).await.unwrap(),
        SettleOutcome::Applied(_)
    ));
    let read = store.campaign(c.id).await.unwrap().unwrap();
    assert_eq!(read.status, S::Scheduled);
    assert_eq!(read.funding_payment_id, Some(payment.id));
    assert_eq!(ad_balance(&store, c.owner_id).await, 5_000);
    // A second settlement of the same payment writes nothing.
    assert!(matches!(
        store.settle(&funded(&c, payment.id)).await.unwrap(),
        SettleOutcome::Stale(_)
    ));
    // A second charge of a funded campaign is refused.
    assert!(matches!(
        store.start(&funding(&c, "again")).await.unwrap(),
        vendrome_core::payments::StartOutcome::AlreadyPaid(p) if p.id == payment.id
    ));
    assert_eq!(
        store.campaign_payments(c.id).await.unwrap().len(),
        1,
        "the refused charge was not kept"
    );
    assert_eq!(count_events(&store, "campaign.status_changed").await, 1);
    assert_eq!(ad_balance(&store, c.owner_id).await, 5_000);
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}

async fn ingest_counts_each_event_once_and_stops_at_the_budget(store: Store) {
    let c = active(&store, cpc(10), 1_000, None).await;
    let now = time::now();
    let first = events(&c, MarketingEventKind::Click, 60, now);
    let report = ingest(&store, &first).await;
    assert_eq!(
        (report.accepted, report.billed, report.spend),
        (60, 60, 600)
    );
    // The same batch again: every event is a duplicate, nothing is spent.
    let again = ingest(&store, &first).await;
    assert_eq!((again.accepted, again.duplicates, again.spend), (0, 60, 0));
    // Past the budget: 40 more are billed, the rest recorded unbilled, and it completes.
    let mut second = events(&c, MarketingEventKind::Click, 100, now);
    second.push(second[0]);
    let report = ingest(&store, &second).await;
    assert_eq!(report.accepted, 100);
    assert_eq!(report.duplicates, 1);
    assert_eq!(
        (report.billed, report.unbilled, report.spend),
        (40, 60, 400)
    );
    assert_eq!(report.completed, [c.id]);
    let read = store.campaign(c.id).await.unwrap().unwrap();
    assert_eq!((read.status, read.spent), (S::Completed, 1_000));
    assert_eq!(read.released_amount, Some(0));
    // Late events of a completed campaign are recorded, never charged.
    let late = ingest(&store, &events(&c, MarketingEventKind::Click, 5, now)).await;
    assert_eq!((late.accepted, late.unbilled, late.spend), (5, 5, 0));
    // Events of no campaign are rejected.
    let mut stray = events(&c, MarketingEventKind::Click, 2, now);
    stray
        .iter_mut()
        .for_each(|e| e.campaign_id = CampaignId::new());
    assert_eq!(ingest(&store, &stray).await.rejected, 2);

    assert_eq!(ad_balance(&store, c.owner_id).await, 0);
    let revenue = store
        .account(&AccountCode::platform_ad_revenue(zar()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revenue.balance, 1_000);
    assert_eq!(count_events(&store, "campaign.status_changed").await, 3);
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!(
        check.transactions, 3,
        "the funding and one posting per charging batch"
    );

    // CPM: the spend of any split into batches is floor(n × bid / 1000).
    let cpm = active(
        &store,
        Bid {
            model: MarketingBidModel::Cpm,
            amount: 733,
        },
        1_000_000,
        None,
    )
    .await;
    let impressions = events(&cpm, MarketingEventKind::Impression, 1_234, now);
    let mut spent = 0;
    for chunk in impressions.chunks(97) {
        spent += ingest(&store, chunk).await.spend;
    }
    assert_eq!(spent, 1_234 * 733 / 1000);
    assert_eq!(store.campaign(cpm.id).await.unwrap().unwrap().spent, spent);
}

async fn concurrent_batches_spend_exactly_the_budget(store: Store) {
    // 8 writers × 5 batches × 30 clicks at 10 would spend 12,000: three times the budget.
    let c = active(&store, cpc(10), 4_000, None).await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let c = c.clone();
            tokio::spawn(async move {
                let mut totals = (0, 0, 0);
                for _ in 0..5 {
                    let r = ingest(
                        &store,
                        &events(&c, MarketingEventKind::Click, 30, time::now()),
                    )
                    .await;
                    totals.0 += r.billed;
                    totals.1 += r.unbilled;
                    totals.2 += r.spend;
                }
                totals
            })
        })
        .collect();
    let (mut billed, mut unbilled, mut spend) = (0, 0, 0);
    for t in tasks {
        let (b, u, s) = t.await.unwrap();
        billed += b;
        unbilled += u;
        spend += s;
    }
    assert_eq!((billed, unbilled, spend), (400, 800, 4_000));
    let read = store.campaign(c.id).await.unwrap().unwrap();
    assert_eq!((read.spent, read.status), (4_000, S::Completed));
    let stored: (i64, i64) = with_db!(store.db(), pool => {
        sqlx::query_as(
            "SELECT CAST(SUM(CASE WHEN billed THEN 1 ELSE 0 END) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
             FROM marketing_campaign_events WHERE campaign_id = $1",
        )
        .bind(c.id.as_uuid())
        .fetch_one(pool)
        .await
    })
    .unwrap();
    assert_eq!(stored, (400, 1_200));
    assert_eq!(ad_balance(&store, c.owner_id).await, 0);
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}

async fn a_day_never_spends_past_its_daily_budget(store: Store) {
    let c = active(&store, cpc(10), 10_000, Some(250)).await;
    let now = time::now();
    let report = ingest(&store, &events(&c, MarketingEventKind::Click, 40, now)).await;
    assert_eq!(
        (report.billed, report.unbilled, report.spend),
        (25, 15, 250)
    );
    assert!(report.completed.is_empty(), "the total budget is not spent");
    // Another batch the same day: nothing more is spent.
    let more = ingest(&store, &events(&c, MarketingEventKind::Click, 5, now)).await;
    assert_eq!(more.spend, 0);
    // Yesterday's events are charged on yesterday's budget.
    let yesterday = now - Duration::days(1);
    let earlier = ingest(
        &store,
        &events(&c, MarketingEventKind::Click, 30, yesterday),
    )
    .await;
    assert_eq!(earlier.spend, 250);
    let read = store.campaign(c.id).await.unwrap().unwrap();
    assert_eq!((read.spent, read.status), (500, S::Active));
}

async fn stats_come_in_hour_and_day_buckets(store: Store) {
    let c = active(&store, cpc(10), 100_000, None).await;
    let hour = time::now().duration_trunc(Duration::hours(1)).unwrap();
    let earlier = hour - Duration::hours(2);
    let mut batch = events(&c, MarketingEventKind::Impression, 50, earlier);
    batch.extend(events(
        &c,
        MarketingEventKind::Click,
        2,
        earlier + Duration::minutes(5),
    ));
    batch.extend(events(&c, MarketingEventKind::Impression, 20, hour));
    batch.extend(events(&c, MarketingEventKind::Click, 1, hour));
    ingest(&store, &batch).await;
    let from = hour - Duration::days(1);
    let to = hour + Duration::hours(1);
    let hours = store
        .stats(c.id, Granularity::Hour, from, to)
        .await
        .unwrap();
    let rows: Vec<_> = hours
        .iter()
        .map(|b| (b.start, b.impressions, b.clicks, b.spend))
        .collect();
    assert_eq!(rows, [(earlier, 50, 2, 20), (hour, 20, 1, 10)]);
    let days = store.stats(c.id, Granularity::Day, from, to).await.unwrap();
    assert_eq!(days.iter().map(|b| b.impressions).sum::<i64>(), 70);
    assert_eq!(days.iter().map(|b| b.spend).sum::<i64>(), 30);
    assert!(days
        .iter()
        .all(|b| b.start.time() == chrono::NaiveTime::MIN));
}

async fn delivery_reads_running_campaigns_and_the_viewer(store: Store) {
    let c = active(&store, cpc(10), 100_000, None).await;
    // A draft is not delivered.
    draft(&store, cpc(10), 1_000, None).await;
    let now = time::now();
    let running = store.deliverable(now).await.unwrap();
    assert_eq!(
        running
            .iter()
            .map(|d| d.candidate.campaign_id)
            .collect::<Vec<_>>(),
        [c.id]
    );
    let viewer = member(&store, "agritech", "ZA", "Cape Town", true).await;
    let mut seen = events(&c, MarketingEventKind::Impression, 2, now);
    seen.iter_mut().for_each(|e| e.viewer_id = Some(viewer));
    ingest(&store, &seen).await;
    let (member, counts) = store.audience_member(viewer, now).await.unwrap().unwrap();
    let degrees = store
        .connection_degrees(viewer, &[c.owner_id])
        .await
        .unwrap();
    assert!(member.consented);
    assert_eq!(member.country.as_deref(), Some("ZA"));
    assert!(degrees.is_empty(), "not connected");
    assert_eq!(counts.get(&c.id), Some(&2));
    let running = store.deliverable(now).await.unwrap();
    assert_eq!(running[0].candidate.impressions, 2);
    assert!(store
        .audience_member(UserId::new(), now)
        .await
        .unwrap()
        .is_none());
}
