//! The deal flow on a fixed data set, with every score computed by hand from the weights
//! (industry 30, amount 25, stage 20, instrument 15, country 10), walked a match per page.

use serde_json::{json, Value};
use vendrome_core::enums::{PostType, PostVisibility};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::investments::{InvestmentRepo, MatchReason};
use vendrome_core::page::Limit;
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_store::Store;

use crate::graph::user;
use crate::investments::profile;
use crate::posts::new_post;

conformance!(matches_are_scored_as_computed_by_hand);

async fn post(store: &Store, author: UserId, kind: PostType, fields: Value) -> PostId {
    let payload = PostPayload::parse(kind, Some(&fields)).unwrap();
    store
        .create_post(new_post(author, payload, PostVisibility::Public))
        .await
        .unwrap()
}

async fn offer(
    store: &Store,
    author: UserId,
    min: i64,
    max: i64,
    instrument: Value,
    stage: Value,
) -> PostId {
    let fields = json!({"title": "Ticket", "ticket_min_minor": min, "ticket_max_minor": max,
        "currency": "ZAR", "instrument": instrument, "stage": stage});
    post(store, author, PostType::InvestmentOffer, fields).await
}

async fn request(
    store: &Store,
    author: UserId,
    amount: i64,
    currency: &str,
    instrument: &str,
    stage: &str,
) -> PostId {
    let fields = json!({"title": "Round", "amount_sought_minor": amount, "currency": currency,
        "instrument": instrument, "stage": stage});
    post(store, author, PostType::InvestmentRequest, fields).await
}

/// Every match of `viewer`, a page of one at a time: (own post, other post, score, reasons).
async fn walk(store: &Store, viewer: UserId) -> Vec<(PostId, PostId, i64, Vec<MatchReason>)> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (items, next) = store
            .matches(viewer, cursor.as_ref(), Limit::parse(1).unwrap())
            .await
            .unwrap();
        for m in items {
            assert_eq!(
                m.score,
                vendrome_core::investments::DealMatch::score_of(&m.reasons)
            );
            all.push((m.own_post_id, m.post_id, m.score, m.reasons));
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

async fn matches_are_scored_as_computed_by_hand(store: Store) {
    use MatchReason::*;
    let investor = user(&store).await;
    profile(&store, investor, "identity_verified", "ZA", "fintech").await;
    let (f1, f2, f3) = (user(&store).await, user(&store).await, user(&store).await);
    profile(&store, f1, "business_verified", "ZA", "fintech").await;
    profile(&store, f2, "business_verified", "KE", "agritech").await;
    profile(&store, f3, "business_verified", "ZA", "fintech").await;

    // O1: 10,000–50,000 of equity at seed. O2: 100,000–500,000 of anything at any stage.
    let o1 = offer(
        &store,
        investor,
        10_000,
        50_000,
        json!("equity"),
        json!("seed"),
    )
    .await;
    let o2 = offer(&store, investor, 100_000, 500_000, Value::Null, Value::Null).await;
    // R1 (ZA fintech): 30,000 of equity at seed. R2 (KE agritech): 200,000 of debt at series A.
    let r1 = request(&store, f1, 30_000, "ZAR", "equity", "seed").await;
    let r2 = request(&store, f2, 200_000, "ZAR", "debt", "series_a").await;
    // R3 is in another currency: never a match.
    request(&store, f3, 30_000, "USD", "equity", "seed").await;

    // O1–R1: industry 30 + amount 25 + stage 20 + instrument 15 + country 10 = 100.
    // O2–R1: industry 30 + stage 20 (any) + instrument 15 (any) + country 10 = 75 (30,000 is
    //        below the ticket).
    // O2–R2: amount 25 + stage 20 (any) + instrument 15 (any) = 60.
    // O1–R2: nothing shared (another industry and country, 200,000 above the ticket, series A
    //        is not seed, debt is not equity) = 0: no match.
    let mut expected = vec![
        (
            o1,
            r1,
            100,
            vec![Industry, Amount, Stage, Instrument, Country],
        ),
        (o2, r1, 75, vec![Industry, Stage, Instrument, Country]),
        (o2, r2, 60, vec![Amount, Stage, Instrument]),
    ];
    assert_eq!(walk(&store, investor).await, expected);

    // The founders see the same pairs from their side.
    expected.truncate(2);
    let from_f1: Vec<_> = expected
        .into_iter()
        .map(|(offer, request, score, reasons)| (request, offer, score, reasons))
        .collect();
    assert_eq!(walk(&store, f1).await, from_f1);
    assert_eq!(
        walk(&store, f2).await,
        vec![(r2, o2, 60, vec![Amount, Stage, Instrument])]
    );
    assert!(walk(&store, f3).await.is_empty(), "no offer in USD");
}
