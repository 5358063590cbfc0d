//! The index alone: runs the search benchmark's queries straight against a built generation,
//! with no server, HTTP or hydration, and prints the time per query by kind.
//!
//! ```sh
//! cargo run --release -p vendrome-search --example query_bench -- <generation dir> [seconds] [only]
//! ```
//!
//! The directory is one generation (`<data dir>/search/gen-…`), for instance the one the search
//! benchmark builds under the system's temporary directory. No process may hold its writer.
//! Queries run as a member whose audience is 50 made-up authors (as a member with connections
//! searches), one at a time on one thread.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use vendrome_core::enums::{PostType, VerificationLevel};
use vendrome_core::ids::UserId;
use vendrome_core::search::{analysis, Audience, SearchFilters, SearchKind, SearchQuery};
use vendrome_search::Generation;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .context("usage: query_bench <generation dir> [seconds]")?;
    let seconds: u64 = args.next().map_or(Ok(3), |s| s.parse())?;
    // Only the queries containing this text (to profile one of them).
    let only = args.next().unwrap_or_default();
    let generation = Generation::open(std::path::Path::new(&dir))?;
    eprintln!("{} documents", generation.num_docs());
    let audience = Audience::Member((0..50).map(|_| UserId::new()).collect());

    println!("| queries | query | hits | p50 ms | p99 ms | queries/s |");
    println!("|---|---|---:|---:|---:|---:|");
    for (set, queries) in query_sets() {
        for (q, kind, filters) in queries {
            if !q.contains(only.as_str()) {
                continue;
            }
            let query = SearchQuery {
                terms: analysis::parse_query(q),
                kind,
                filters,
                audience: audience.clone(),
                offset: 0,
                limit: 21,
                now: vendrome_core::time::now(),
            };
            let hits = generation.search(&query)?.len();
            let mut times = Vec::new();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(seconds) / 5 {
                let one = Instant::now();
                generation.search(&query)?;
                times.push(one.elapsed());
            }
            times.sort();
            let at = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
            println!(
                "| {set} | `{q}` | {hits} | {:.3} | {:.3} | {:.0} |",
                at(0.5),
                at(0.99),
                times.len() as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// One query: its text, kind and filters.
type Case = (&'static str, SearchKind, SearchFilters);

/// The search benchmark's query sets (`vendrome-server/examples/search_bench`).
fn query_sets() -> Vec<(&'static str, Vec<Case>)> {
    let posts = SearchKind::Posts;
    let profiles = SearchKind::Profiles;
    let none = SearchFilters::default;
    let of_type = |post_type| SearchFilters {
        post_type: Some(post_type),
        ..SearchFilters::default()
    };
    vec![
        (
            "term",
            vec![
                ("revenue margin ", posts, none()),
                ("pilot ", posts, none()),
                ("supply chain ", posts, none()),
                ("community impact ", posts, none()),
                ("amara okafor ", profiles, none()),
            ],
        ),
        (
            "typo",
            vec![
                ("revenu margn ", posts, none()),
                ("logistcs ", posts, none()),
                ("comunity ", posts, none()),
                ("partnrs quality ", posts, none()),
                ("kwame mensha ", profiles, none()),
            ],
        ),
        (
            "prefix",
            vec![
                ("reve", posts, none()),
                ("supply ch", posts, none()),
                ("commun", posts, none()),
                ("logis", posts, none()),
                ("lindi", profiles, none()),
            ],
        ),
        (
            "filtered",
            vec![
                ("funding ", posts, of_type(PostType::Crowdfunding)),
                ("product quality ", posts, of_type(PostType::Product)),
                ("mentor ", posts, of_type(PostType::MentorshipRequest)),
                (
                    "growth ",
                    posts,
                    SearchFilters {
                        topic: Some("fintech".into()),
                        ..SearchFilters::default()
                    },
                ),
                (
                    "investor ",
                    profiles,
                    SearchFilters {
                        min_verification: Some(VerificationLevel::EmailVerified),
                        ..SearchFilters::default()
                    },
                ),
            ],
        ),
    ]
}
