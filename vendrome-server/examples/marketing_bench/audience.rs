//! The audience estimate at scale: `--members` synthetic members (100,000 by default) with the
//! traits targeting reads (profile industry, country and city, verification level, what they look
//! for, followed topics, connections to the advertiser) and their consent (nine in ten opted
//! in), inserted by one `INSERT … SELECT … FROM generate_series` per table; then
//! `POST /v1/marketing/audience-estimate` for a few targetings, `--estimates` requests each, one
//! at a time: p50, p99 and the members each reaches.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::Client;
use serde_json::{json, Value};
use vendrome_core::ids::UserId;
use vendrome_store::{with_db, Store};

use super::support::{percentile_ms, Level};

/// The industries, countries and cities members are spread over, by their number modulo each
/// list's length.
const INDUSTRIES: &[&str] = &[
    "agritech",
    "fintech",
    "logistics",
    "retail",
    "energy",
    "health",
    "education",
    "tourism",
];
const COUNTRIES: &[&str] = &["ZA", "KE", "NG", "GH", "EG", "MA", "TZ"];
const CITIES: &[&str] = &["cape town", "nairobi", "lagos", "accra", "cairo"];
const TOPICS: usize = 10;

fn text_array(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    format!("ARRAY[{}]", quoted.join(", "))
}

/// The synthetic members' rows; the advertiser `owner` is connected to one in 1,000, and each of
/// those to ten more. Returns
/// the seeding's wall time.
pub async fn seed(store: &Store, owner: UserId, members: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let id = "md5('bench-member-' || g)::uuid";
    // Each statement with the parameters it takes: the members' count, and the advertiser.
    let statements = [
        (1, format!(
            "INSERT INTO users (id, email, display_name, role, verification_level, created_at, updated_at) \
             SELECT {id}, 'bench-member-' || g || '@bench.example', 'Member ' || g, 'member', \
             (ARRAY['unverified', 'email_verified', 'identity_verified', 'business_verified']::verification_level[])[1 + (g % 4)::int], \
             now(), now() FROM generate_series(1, $1) g"
        )),
        (1, format!(
            "INSERT INTO business_profiles (user_id, industry, country_code, city, created_at, updated_at) \
             SELECT {id}, ({industries})[1 + (g % {ni})::int], ({countries})[1 + (g % {nc})::int], ({cities})[1 + (g % {ny})::int], now(), now() \
             FROM generate_series(1, $1) g",
            industries = text_array(INDUSTRIES),
            ni = INDUSTRIES.len(),
            countries = text_array(COUNTRIES),
            nc = COUNTRIES.len(),
            cities = text_array(CITIES),
            ny = CITIES.len(),
        )),
        (1, format!(
            "INSERT INTO marketing_consents (user_id, direct_marketing, updated_at) \
             SELECT {id}, g % 10 <> 0, now() FROM generate_series(1, $1) g"
        )),
        (1, format!(
            "INSERT INTO business_profile_looking_for (user_id, looking_for) \
             SELECT {id}, (enum_range(NULL::looking_for))[1 + (g % 7)::int] FROM generate_series(1, $1) g"
        )),
        (0, format!(
            "INSERT INTO topics (id, slug, name, created_at) \
             SELECT md5('bench-topic-' || t)::uuid, 'bench-topic-' || t, 'Bench topic ' || t, now() \
             FROM generate_series(0, {last}) t ON CONFLICT DO NOTHING",
            last = TOPICS - 1
        )),
        (1, format!(
            "INSERT INTO user_topic_follows (user_id, topic_id, created_at) \
             SELECT {id}, md5('bench-topic-' || t)::uuid, now() \
             FROM generate_series(1, $1) g, LATERAL (VALUES (g % {TOPICS}), ((g / {TOPICS}) % {TOPICS})) v(t) \
             ON CONFLICT DO NOTHING"
        )),
        // Members 1, 1001, 2001, … (who opted in) are the advertiser's connections, and each of
        // them is connected to the ten members after it: second-degree connections.
        (2, format!(
            "INSERT INTO connections (id, requester_id, addressee_id, status, created_at, updated_at, responded_at) \
             SELECT md5('bench-connection-' || g)::uuid, $2, {id}, 'accepted', now(), now(), now() \
             FROM generate_series(1, $1) g WHERE g % 1000 = 1"
        )),
        (1, format!(
            "INSERT INTO connections (id, requester_id, addressee_id, status, created_at, updated_at, responded_at) \
             SELECT md5('bench-connection-' || g || '-' || k)::uuid, {id}, md5('bench-member-' || (g + k))::uuid, \
             'accepted', now(), now(), now() \
             FROM generate_series(1, $1 - 10) g, generate_series(1, 10) k WHERE g % 1000 = 1"
        )),
    ];
    let members = i64::try_from(members)?;
    for (params, sql) in &statements {
        with_db!(store.db(), pool => {
            let mut query = sqlx::query(sql);
            if *params >= 1 {
                query = query.bind(members);
            }
            if *params >= 2 {
                query = query.bind(owner.as_uuid());
            }
            query.execute(pool).await.map(|_| ())
        })
        .with_context(|| format!("seeding the audience: {sql}"))?;
    }
    with_db!(store.db(), pool => {
        sqlx::query("ANALYZE").execute(pool).await.map(|_| ())
    })?;
    Ok(started.elapsed())
}

/// The targetings measured, by label; `topic` is one the members follow.
fn targetings(topic: uuid::Uuid) -> Vec<(&'static str, Value)> {
    vec![
        ("everyone who opted in", json!({})),
        ("one country", json!({ "countries": ["KE"] })),
        (
            "two industries × three countries",
            json!({ "industries": ["agritech", "fintech"], "countries": ["ZA", "KE", "NG"] }),
        ),
        (
            "city, verification, looking for",
            json!({
                "cities": ["Nairobi"],
                "verification_levels": ["identity_verified", "business_verified"],
                "looking_for": ["investors", "partners"],
            }),
        ),
        ("a followed topic", json!({ "topics": [topic] })),
        (
            "second-degree connections",
            json!({ "connection_degree": 2 }),
        ),
    ]
}

/// One targeting's run.
pub struct EstimateRun {
    pub label: &'static str,
    pub members: i64,
    pub level: Level,
}

/// `requests` estimates of each targeting, one at a time, as `token`'s.
pub async fn measure(
    store: &Store,
    client: &Client,
    base: &str,
    token: &str,
    requests: usize,
) -> anyhow::Result<Vec<EstimateRun>> {
    let topic: uuid::Uuid = with_db!(store.db(), pool => {
        sqlx::query_scalar("SELECT id FROM topics WHERE slug = 'bench-topic-0'").fetch_one(pool).await
    })?;
    let mut runs = Vec::new();
    for (label, targeting) in targetings(topic) {
        let body = json!({ "targeting": targeting });
        let mut latencies = Vec::with_capacity(requests);
        let mut members = -1;
        let mut errors = 0;
        let started = Instant::now();
        for _ in 0..requests {
            let sent = Instant::now();
            let answer = client
                .post(format!("{base}/v1/marketing/audience-estimate"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            if !answer.status().is_success() {
                errors += 1;
                eprintln!("{label}: {} {}", answer.status(), answer.text().await?);
                continue;
            }
            let read: Value = answer.json().await?;
            latencies.push(sent.elapsed());
            members = read["data"]["members"].as_i64().unwrap_or(-1);
        }
        let elapsed = started.elapsed();
        latencies.sort();
        runs.push(EstimateRun {
            label,
            members,
            level: Level {
                clients: 1,
                requests: latencies.len(),
                errors,
                elapsed,
                latencies,
            },
        });
    }
    Ok(runs)
}

pub fn print(members: u64, seeded: Duration, runs: &[EstimateRun]) {
    println!(
        "\n| audience estimate (`POST /v1/marketing/audience-estimate`, {members} members seeded in {:.1} s, one client) | members reached | requests | errors | p50 ms | p99 ms |",
        seeded.as_secs_f64()
    );
    println!("|---|---|---|---|---|---|");
    for run in runs {
        let l = &run.level;
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} |",
            run.label,
            run.members,
            l.requests,
            l.errors,
            percentile_ms(&l.latencies, 50.0).unwrap_or(f64::NAN),
            percentile_ms(&l.latencies, 99.0).unwrap_or(f64::NAN),
        );
    }
}
