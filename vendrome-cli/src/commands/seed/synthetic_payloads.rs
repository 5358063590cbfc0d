//! The typed payload rows of the synthetic network's posts, one table per kind.

use chrono::Duration;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;
use vendrome_core::time::Timestamp;
use vendrome_store::Store;

use super::bulk::{load, Val};
use super::synthetic_words::{currency, instrument, stage, title};
use crate::output;

/// Loads one payload row for every typed post (`kind` 1 to 6, in `post_type` order); returns
/// each table's rows and seconds.
pub async fn load_payloads(
    store: &Store,
    posts: &[(Uuid, usize, Timestamp)],
    seed: u64,
) -> anyhow::Result<Vec<(String, u64, f64)>> {
    let mut loaded = Vec::new();
    for kind in 1..=6 {
        let of_kind: Vec<&(Uuid, usize, Timestamp)> =
            posts.iter().filter(|p| p.1 == kind).collect();
        let mut rng = StdRng::seed_from_u64(seed ^ (100 + kind as u64));
        let (table, columns): (&str, &[&str]) = match kind {
            1 => (
                "post_products",
                &[
                    "post_id",
                    "title",
                    "category",
                    "price_amount",
                    "currency",
                    "stock_quantity",
                    "sku",
                ],
            ),
            2 => (
                "post_services",
                &[
                    "post_id",
                    "title",
                    "category",
                    "rate_amount",
                    "currency",
                    "rate_unit",
                    "duration_minutes",
                    "is_remote",
                    "location",
                ],
            ),
            3 => (
                "post_crowdfunding",
                &[
                    "post_id",
                    "title",
                    "goal_amount",
                    "currency",
                    "instrument",
                    "ends_at",
                    "reward_summary",
                ],
            ),
            4 => (
                "post_investment_offers",
                &[
                    "post_id",
                    "title",
                    "ticket_min_amount",
                    "ticket_max_amount",
                    "currency",
                    "instrument",
                    "stage",
                ],
            ),
            5 => (
                "post_investment_requests",
                &[
                    "post_id",
                    "title",
                    "amount_sought",
                    "currency",
                    "instrument",
                    "stage",
                    "use_of_funds",
                ],
            ),
            _ => (
                "post_mentorship_requests",
                &[
                    "post_id",
                    "area",
                    "format",
                    "duration_weeks",
                    "budget_amount",
                    "currency",
                ],
            ),
        };
        let rows = of_kind.into_iter().map(move |(id, _, at)| {
            let id = Val::Uuid(*id);
            let cur = Val::Label(currency(&mut rng));
            match kind {
                1 => vec![
                    id,
                    Val::Text(title(&mut rng)),
                    Val::Label(["home", "kitchen", "office", "crafts"][rng.random_range(0..4)]),
                    Val::Int(rng.random_range(500..500_000)),
                    cur,
                    Val::Int(rng.random_range(0..200)),
                    Val::Null,
                ],
                2 => vec![
                    id,
                    Val::Text(title(&mut rng)),
                    Val::Label(
                        ["design", "legal", "accounting", "marketing"][rng.random_range(0..4)],
                    ),
                    Val::Int(rng.random_range(10_000..2_000_000)),
                    cur,
                    Val::Label(["hourly", "daily", "fixed"][rng.random_range(0..3)]),
                    Val::Int(rng.random_range(1..16) * 30),
                    Val::Bool(rng.random_range(0..2) == 0),
                    Val::Label("Johannesburg"),
                ],
                3 => vec![
                    id,
                    Val::Text(title(&mut rng)),
                    Val::Int(rng.random_range(1_000_000..100_000_000)),
                    cur,
                    Val::Label(["reward", "donation", "equity"][rng.random_range(0..3)]),
                    Val::At(*at + Duration::days(rng.random_range(30..120))),
                    Val::Null,
                ],
                4 => {
                    let min = rng.random_range(100_000..5_000_000);
                    vec![
                        id,
                        Val::Text(title(&mut rng)),
                        Val::Int(min),
                        Val::Int(min * rng.random_range(1..10)),
                        cur,
                        Val::Label(instrument(&mut rng)),
                        Val::Label(stage(&mut rng)),
                    ]
                }
                5 => vec![
                    id,
                    Val::Text(title(&mut rng)),
                    Val::Int(rng.random_range(1_000_000..500_000_000)),
                    cur,
                    Val::Label(instrument(&mut rng)),
                    Val::Label(stage(&mut rng)),
                    Val::Null,
                ],
                _ => {
                    let paid = rng.random_range(0..2) == 0;
                    vec![
                        id,
                        Val::Text(title(&mut rng)),
                        Val::Label(["virtual", "in_person", "hybrid"][rng.random_range(0..3)]),
                        Val::Int(rng.random_range(1..26)),
                        if paid {
                            Val::Int(rng.random_range(10_000..500_000))
                        } else {
                            Val::Null
                        },
                        if paid { cur } else { Val::Null },
                    ]
                }
            }
        });
        let total = posts.iter().filter(|p| p.1 == kind).count();
        let bar = output::progress(total as u64, table);
        let started = std::time::Instant::now();
        let count = load(store, table, columns, rows, &bar).await?;
        bar.finish_and_clear();
        loaded.push((table.to_owned(), count, started.elapsed().as_secs_f64()));
    }
    Ok(loaded)
}
