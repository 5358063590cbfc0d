//! The audience as targeting defines it, on generated members: the estimate (over the
//! `marketing_audience` table its triggers keep) counts exactly the members
//! [`Targeting::matches`] accepts, also after consents, profiles and accounts change; and
//! [`Delivery`], with what it keeps of campaigns and viewers, chooses the same sponsored items
//! as reading everything afresh for every page, through frequency caps, consent changes, a
//! profile change and a campaign completing.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use vendrome_core::enums::{
    LookingFor, MarketingBidModel, MarketingCampaignStatus as S, MarketingEventKind,
    VerificationLevel,
};
use vendrome_core::ids::{CampaignId, TopicId, UserId};
use vendrome_core::marketing::{
    pacing, AudienceMember, Bid, Deliverable, Delivery, DeliveryConfig, MarketingRepo as _,
    Sponsored, Targeting, FREQUENCY_CAP,
};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::{with_db, Store};

use crate::graph::user;
use crate::marketing::{active_for, cpc, events, ingest, member};

conformance!(
    the_estimate_counts_what_targeting_matches,
    delivery_cached_chooses_as_read_afresh
);

/// A small deterministic generator, so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.roll(from.len() as u64) as usize]
    }
}

const INDUSTRIES: [&str; 3] = ["agritech", "fintech", "retail"];
const COUNTRIES: [&str; 3] = ["ZA", "KE", "NG"];
const CITIES: [&str; 4] = ["Cape Town", "cape town", "Nairobi", "LAGOS"];
const LEVELS: [VerificationLevel; 4] = [
    VerificationLevel::Unverified,
    VerificationLevel::EmailVerified,
    VerificationLevel::IdentityVerified,
    VerificationLevel::BusinessVerified,
];
const WANTS: [LookingFor; 3] = [
    LookingFor::Investors,
    LookingFor::Partners,
    LookingFor::Talent,
];

async fn exec(store: &Store, sql: &str, binds: &[uuid::Uuid], text: Option<&str>) {
    with_db!(store.db(), pool => {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        if let Some(t) = text {
            q = q.bind(t.to_owned());
        }
        q.execute(pool).await.map(|_| ())
    })
    .unwrap();
}

/// An enum's value as the SQL literal both stores read (PostgreSQL casts it to the type).
fn literal<T: serde::Serialize>(value: T) -> String {
    format!(
        "'{}'",
        serde_json::to_value(value).unwrap().as_str().unwrap()
    )
}

async fn set_level(store: &Store, id: UserId, level: VerificationLevel) {
    let sql = format!(
        "UPDATE users SET verification_level = {} WHERE id = $1",
        literal(level)
    );
    exec(store, &sql, &[id.as_uuid()], None).await;
}

async fn wants(store: &Store, id: UserId, want: LookingFor) {
    let sql = format!(
        "INSERT INTO business_profile_looking_for (user_id, looking_for) VALUES ($1, {})",
        literal(want)
    );
    exec(store, &sql, &[id.as_uuid()], None).await;
}

async fn topic(store: &Store, slug: &str) -> TopicId {
    let id = uuid::Uuid::now_v7();
    with_db!(store.db(), pool => {
        sqlx::query("INSERT INTO topics (id, slug, name, created_at) VALUES ($1, $2, $2, $3)")
            .bind(id)
            .bind(slug)
            .bind(time::now())
            .execute(pool)
            .await
            .map(|_| ())
    })
    .unwrap();
    TopicId::from_uuid(id)
}

async fn follow(store: &Store, id: UserId, topic: TopicId) {
    with_db!(store.db(), pool => {
        sqlx::query("INSERT INTO user_topic_follows (user_id, topic_id, created_at) VALUES ($1, $2, $3)")
            .bind(id.as_uuid())
            .bind(topic.as_uuid())
            .bind(time::now())
            .execute(pool)
            .await
            .map(|_| ())
    })
    .unwrap();
}

async fn connect(store: &Store, a: UserId, b: UserId) {
    with_db!(store.db(), pool => {
        sqlx::query(
            "INSERT INTO connections (id, requester_id, addressee_id, status, created_at, updated_at, responded_at) \
             VALUES ($1, $2, $3, 'accepted', $4, $4, $4)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(a.as_uuid())
        .bind(b.as_uuid())
        .bind(time::now())
        .execute(pool)
        .await
        .map(|_| ())
    })
    .unwrap();
}

/// A generated member as the test knows them.
struct Known {
    id: UserId,
    traits: AudienceMember,
    enabled: bool,
}

/// The degree of each member to `owner` over `edges`, as the definition says: 1 for the
/// owner's connections, 2 for theirs.
fn degree(edges: &[(UserId, UserId)], owner: UserId, member: UserId) -> Option<u8> {
    let neighbours = |x: UserId| -> BTreeSet<UserId> {
        edges
            .iter()
            .filter_map(|&(a, b)| {
                if a == x {
                    Some(b)
                } else if b == x {
                    Some(a)
                } else {
                    None
                }
            })
            .collect()
    };
    let first = neighbours(owner);
    if first.contains(&member) {
        return Some(1);
    }
    first
        .iter()
        .any(|f| neighbours(*f).contains(&member))
        .then_some(2)
}

async fn the_estimate_counts_what_targeting_matches(store: Store) {
    let mut dice = Dice(7);
    // The owner opted in and matches everything broad: never counted in their own audience.
    let owner = member(&store, "agritech", "ZA", "Cape Town", true).await;
    let topics = [
        topic(&store, "audience-a").await,
        topic(&store, "audience-b").await,
    ];
    let mut known = Vec::new();
    for _ in 0..60 {
        let consent = dice.roll(10) < 7;
        let profile = dice.roll(5) != 0;
        let (id, mut traits) = if profile {
            let (industry, country, city) = (
                *dice.pick(&INDUSTRIES),
                *dice.pick(&COUNTRIES),
                *dice.pick(&CITIES),
            );
            let id = member(&store, industry, country, city, consent).await;
            let traits = AudienceMember {
                industry: Some(industry.into()),
                country: Some(country.into()),
                city: Some(city.into()),
                ..AudienceMember::default()
            };
            (id, traits)
        } else {
            let id = user(&store).await;
            if consent {
                store
                    .set_marketing_consent(id, true, time::now())
                    .await
                    .unwrap();
            }
            (id, AudienceMember::default())
        };
        traits.user_id = Some(id);
        traits.consented = consent;
        let level = *dice.pick(&LEVELS);
        set_level(&store, id, level).await;
        traits.verification_level = Some(level);
        if profile {
            for want in WANTS {
                if dice.roll(3) == 0 {
                    wants(&store, id, want).await;
                    traits.looking_for.push(want);
                }
            }
        }
        for t in topics {
            if dice.roll(3) == 0 {
                follow(&store, id, t).await;
                traits.topics.push(t);
            }
        }
        known.push(Known {
            id,
            traits,
            enabled: true,
        });
    }
    // The owner's connections, and theirs.
    let mut edges = Vec::new();
    for i in 0..known.len() {
        if dice.roll(6) == 0 {
            edges.push((owner, known[i].id));
            for _ in 0..2 {
                let other = known[dice.roll(known.len() as u64) as usize].id;
                if other != known[i].id && !edges.contains(&(known[i].id, other)) {
                    edges.push((known[i].id, other));
                }
            }
        }
    }
    for &(a, b) in &edges {
        connect(&store, a, b).await;
    }
    // Changes after the fact: consents withdrawn and given, accounts disabled, profiles moved
    // or removed, levels raised.
    for (i, k) in known.iter_mut().enumerate() {
        match i % 9 {
            0 => {
                k.traits.consented = !k.traits.consented;
                store
                    .set_marketing_consent(k.id, k.traits.consented, time::now())
                    .await
                    .unwrap();
            }
            1 => {
                k.enabled = false;
                with_db!(store.db(), pool => {
                    sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
                        .bind(k.id.as_uuid())
                        .bind(time::now())
                        .execute(pool)
                        .await
                        .map(|_| ())
                })
                .unwrap();
            }
            2 if k.traits.country.is_some() => {
                let (country, city) = (*dice.pick(&COUNTRIES), *dice.pick(&CITIES));
                exec(
                    &store,
                    "UPDATE business_profiles SET country_code = $2 WHERE user_id = $1",
                    &[k.id.as_uuid()],
                    Some(country),
                )
                .await;
                exec(
                    &store,
                    "UPDATE business_profiles SET city = $2 WHERE user_id = $1",
                    &[k.id.as_uuid()],
                    Some(city),
                )
                .await;
                k.traits.country = Some(country.into());
                k.traits.city = Some(city.into());
            }
            3 if k.traits.country.is_some() => {
                for table in ["business_profile_looking_for", "business_profiles"] {
                    exec(
                        &store,
                        &format!("DELETE FROM {table} WHERE user_id = $1"),
                        &[k.id.as_uuid()],
                        None,
                    )
                    .await;
                }
                k.traits.industry = None;
                k.traits.country = None;
                k.traits.city = None;
                k.traits.looking_for.clear();
            }
            4 => {
                set_level(&store, k.id, VerificationLevel::BusinessVerified).await;
                k.traits.verification_level = Some(VerificationLevel::BusinessVerified);
            }
            _ => {}
        }
    }

    let targetings = [
        Targeting::default(),
        Targeting {
            countries: vec!["KE".into()],
            ..Targeting::default()
        },
        Targeting {
            industries: vec!["agritech".into(), "fintech".into()],
            countries: vec!["ZA".into(), "NG".into()],
            ..Targeting::default()
        },
        Targeting {
            cities: vec!["Cape Town".into()],
            verification_levels: vec![
                VerificationLevel::IdentityVerified,
                VerificationLevel::BusinessVerified,
            ],
            ..Targeting::default()
        },
        Targeting {
            looking_for: vec![LookingFor::Investors, LookingFor::Talent],
            countries: vec!["ZA".into(), "KE".into()],
            ..Targeting::default()
        },
        Targeting {
            topics: vec![topics[0]],
            ..Targeting::default()
        },
        Targeting {
            connection_degree: Some(1),
            ..Targeting::default()
        },
        Targeting {
            connection_degree: Some(2),
            cities: vec!["lagos".into(), "nairobi".into()],
            ..Targeting::default()
        },
    ];
    let mut counts = BTreeSet::new();
    for t in targetings {
        let t = t.check().unwrap();
        let defined = known
            .iter()
            .filter(|k| k.enabled && t.matches(&k.traits, degree(&edges, owner, k.id)))
            .count() as i64;
        assert_eq!(
            store.audience_size(owner, &t).await.unwrap(),
            defined,
            "{t:?}"
        );
        counts.insert(defined);
    }
    assert!(
        counts.len() >= 5,
        "the targetings tell members apart: {counts:?}"
    );
}

/// The sponsored item as delivery chose it before anything was kept: every page reads the
/// running campaigns, the viewer and their degrees to every owner whose targeting asks for one,
/// and ranks every campaign.
async fn afresh(
    store: &Store,
    served: &mut HashMap<(UserId, CampaignId), i64>,
    viewer: UserId,
    now: Timestamp,
) -> Option<Sponsored> {
    let running = store.deliverable(now).await.unwrap();
    let others: Vec<&Deliverable> = running
        .iter()
        .filter(|d| d.candidate.owner_id != viewer)
        .collect();
    let mut owners: Vec<UserId> = others
        .iter()
        .filter(|d| d.targeting.connection_degree.is_some())
        .map(|d| d.candidate.owner_id)
        .collect();
    owners.sort();
    owners.dedup();
    let (member, seen) = store.audience_member(viewer, now).await.unwrap()?;
    let degrees = store.connection_degrees(viewer, &owners).await.unwrap();
    if !member.consented {
        return None;
    }
    let eligible = others
        .iter()
        .filter(|d| {
            let id = d.candidate.campaign_id;
            let shown = seen
                .get(&id)
                .copied()
                .unwrap_or(0)
                .max(served.get(&(viewer, id)).copied().unwrap_or(0));
            shown < FREQUENCY_CAP
                && d.targeting
                    .matches(&member, degrees.get(&d.candidate.owner_id).copied())
        })
        .map(|d| &d.candidate);
    let chosen = pacing::choose(eligible, now)?;
    *served.entry((viewer, chosen.campaign_id)).or_insert(0) += 1;
    Some(Sponsored {
        campaign_id: chosen.campaign_id,
        post_id: chosen.post_id,
    })
}

fn cpm(amount: i64) -> Bid {
    Bid {
        model: MarketingBidModel::Cpm,
        amount,
    }
}

async fn delivery_cached_chooses_as_read_afresh(store: Store) {
    let mut dice = Dice(11);
    // Viewers: most opted in, in a few places and industries.
    let mut viewers = Vec::new();
    for i in 0..10 {
        let (industry, country, city) = (
            *dice.pick(&INDUSTRIES),
            *dice.pick(&COUNTRIES),
            *dice.pick(&CITIES),
        );
        viewers.push(member(&store, industry, country, city, i % 5 != 4).await);
    }
    let by = |countries: &[&str]| Targeting {
        countries: countries.iter().map(|c| (*c).into()).collect(),
        ..Targeting::default()
    };
    // The most valuable campaign can pay for three impressions only: it completes mid-walk.
    let short = active_for(&store, cpm(90_000), 270, None, Targeting::default()).await;
    let mut campaigns = vec![short.clone()];
    for (bid, daily, targeting) in [
        (cpm(40_000), None, by(&["ZA"])),
        (cpm(30_000), None, by(&["KE", "NG"])),
        (
            cpm(20_000),
            None,
            Targeting {
                connection_degree: Some(1),
                ..Targeting::default()
            },
        ),
        (
            cpm(20_000),
            None,
            Targeting {
                connection_degree: Some(2),
                industries: vec!["fintech".into(), "retail".into()],
                ..Targeting::default()
            },
        ),
        (
            cpm(15_000),
            None,
            Targeting {
                cities: vec!["cape town".into()],
                ..Targeting::default()
            },
        ),
        // Ahead of its daily schedule once it spent: paced down.
        (cpm(50_000), Some(10_000), by(&["NG"])),
        (cpc(500), None, Targeting::default()),
        (cpm(5_000), None, Targeting::default()),
        (cpm(1_000), None, by(&["ZA", "KE"])),
    ] {
        campaigns.push(active_for(&store, bid, 1_000_000, daily, targeting).await);
    }
    // The degree campaigns' owners know some viewers, who know others.
    for (i, v) in viewers.iter().enumerate() {
        if i % 3 == 0 {
            connect(&store, campaigns[3].owner_id, *v).await;
            connect(
                &store,
                campaigns[4].owner_id,
                viewers[(i + 1) % viewers.len()],
            )
            .await;
        }
    }
    // A viewer who owns a campaign never sees it.
    let own = active_for(&store, cpm(95_000), 1_000_000, None, Targeting::default()).await;
    store
        .set_marketing_consent(own.owner_id, true, time::now())
        .await
        .unwrap();
    viewers.push(own.owner_id);

    let delivery = Delivery::new(
        Arc::new(store.clone()),
        DeliveryConfig {
            refresh: chrono::Duration::zero(),
            viewer_ttl: chrono::Duration::hours(1),
            ..DeliveryConfig::default()
        },
    );
    let mut served = HashMap::new();
    let mut chosen = BTreeSet::new();
    let mut pages = (0, 0);
    for round in 0..8 {
        for (i, &viewer) in viewers.iter().enumerate() {
            let now = time::now();
            let kept = delivery.choose(viewer, now).await.unwrap();
            let read = afresh(&store, &mut served, viewer, now).await;
            assert_eq!(kept, read, "round {round}, viewer {i}");
            if viewer == own.owner_id {
                assert_ne!(kept.map(|s| s.campaign_id), Some(own.id), "never one's own");
            }
            pages.0 += 1;
            if let Some(s) = kept {
                pages.1 += 1;
                chosen.insert(s.campaign_id);
            }
        }
        match round {
            // A viewer opts out, one who had not opted in opts in.
            0 => {
                for (v, consent) in [(viewers[0], false), (viewers[4], true)] {
                    store
                        .set_marketing_consent(v, consent, time::now())
                        .await
                        .unwrap();
                    delivery.forget(v);
                }
            }
            // Impressions ingested for a viewer count towards their cap.
            1 => {
                let mut seen = events(
                    &campaigns[1],
                    MarketingEventKind::Impression,
                    3,
                    time::now(),
                );
                seen.extend(events(
                    &campaigns[7],
                    MarketingEventKind::Impression,
                    2,
                    time::now(),
                ));
                seen.iter_mut().for_each(|e| e.viewer_id = Some(viewers[1]));
                let report = ingest(&store, &seen).await;
                delivery.ingested([viewers[1]], &report);
            }
            // A profile moves to another country.
            2 => {
                exec(
                    &store,
                    "UPDATE business_profiles SET country_code = $2 WHERE user_id = $1",
                    &[viewers[2].as_uuid()],
                    Some("NG"),
                )
                .await;
                delivery.forget(viewers[2]);
            }
            // The short campaign's budget is used up: it completes and leaves delivery; the
            // paced one spends ahead of its day.
            3 => {
                let used = events(&short, MarketingEventKind::Impression, 3, time::now());
                let mut batch = used;
                batch.extend(events(
                    &campaigns[6],
                    MarketingEventKind::Impression,
                    150,
                    time::now(),
                ));
                let report = ingest(&store, &batch).await;
                assert_eq!(report.completed, [short.id]);
                delivery.ingested([], &report);
            }
            _ => {}
        }
    }
    let after = store.campaign(short.id).await.unwrap().unwrap();
    assert_eq!(after.status, S::Completed);
    assert!(pages.1 > pages.0 / 2, "most pages carry an item: {pages:?}");
    assert!(pages.1 < pages.0, "some carry none: {pages:?}");
    assert!(
        chosen.len() >= 5,
        "caps and targeting spread the choice: {chosen:?}"
    );
}
