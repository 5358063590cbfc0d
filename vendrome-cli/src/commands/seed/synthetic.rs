//! `vendrome seed synthetic --users N --posts N [--seed S]`: a large, realistic, deterministic
//! network for benchmarks and load tests, loaded in bulk (see [`super::bulk`]).
//!
//! Shape: members joined over two years; follows follow a power law (a few members have
//! thousands of followers, most have a handful); accepted connections, mostly among nearby
//! members; topic follows; posts over the last year from authors who also follow a power law,
//! mostly text, the rest spread over every typed payload, 15 % for connections only, with 0–3
//! topics; reactions, comments, reposts and bookmarks on them. Every denormalised counter
//! (posts' engagement counts, topics' post and follower counts) equals the rows it counts.
//! Post ids are UUIDv7 made from their creation time, as the API makes them. No outbox events
//! are written: this is a bulk load, not activity.

use std::collections::HashSet;

use anyhow::ensure;
use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;
use vendrome_core::time::Timestamp;
use vendrome_store::{Db, Store};

use super::bulk::{load, Val};
use super::synthetic_words::{
    distinct, micros, pick, sentence, skewed, v7_at, FIRST, HEADLINES, LAST, REACTIONS, TOPICS,
};
use crate::output;

/// Every synthetic member's email ends so; a second run into the same database refuses.
pub const EMAIL_DOMAIN: &str = "synthetic.vendrome.test";

/// Sizes of the network to generate.
pub struct Plan {
    pub users: usize,
    pub posts: usize,
    pub seed: u64,
}

/// What was loaded, per table.
#[derive(Default, serde::Serialize)]
pub struct Loaded {
    /// Table, rows, seconds.
    pub rows: Vec<(String, u64, f64)>,
}

/// One post's plan: everything its rows and counters need.
struct PostPlan {
    id: Uuid,
    author: usize,
    at: Timestamp,
    kind: usize,
    topics: Vec<usize>,
    reactions: u32,
    comments: u32,
    reposts: u32,
    bookmarks: u32,
}

/// Refuses when synthetic members are already there.
pub async fn ensure_empty(store: &Store) -> anyhow::Result<()> {
    let sql = "SELECT COUNT(*) FROM users WHERE email LIKE $1";
    let pattern = format!("%@{EMAIL_DOMAIN}");
    let n: i64 = match store.db() {
        Db::Postgres(pool) => {
            sqlx::query_scalar(sql)
                .bind(&pattern)
                .fetch_one(pool)
                .await?
        }
        Db::Sqlite(pool) => {
            sqlx::query_scalar(sql)
                .bind(&pattern)
                .fetch_one(pool)
                .await?
        }
    };
    ensure!(
        n == 0,
        "the database already holds {n} synthetic members: seed a fresh database"
    );
    Ok(())
}

pub async fn generate(store: &Store, plan: &Plan, password_hash: &str) -> anyhow::Result<Loaded> {
    ensure!(plan.users >= 2, "--users must be at least 2");
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let now = micros(Utc::now());
    let n = plan.users;
    let mut loaded = Loaded::default();

    // Members, oldest first, joined over the last two years.
    let joined: Vec<Timestamp> = (0..n)
        .map(|i| {
            micros(
                now - Duration::days(730) + Duration::seconds((i as i64 * 730 * 86_400) / n as i64),
            )
        })
        .collect();
    let users: Vec<Uuid> = joined.iter().map(|at| v7_at(&mut rng, *at)).collect();

    // Topics and who follows them.
    let topic_ids: Vec<Uuid> = TOPICS
        .iter()
        .map(|_| v7_at(&mut rng, now - Duration::days(800)))
        .collect();
    // Borrowed from here on, so the row iterators below can capture them by copy.
    let (users, joined, topic_ids) = (&users, &joined, &topic_ids);
    let mut topic_followers = vec![0i64; TOPICS.len()];
    let topic_follows: Vec<(usize, usize)> = (0..n)
        .flat_map(|u| {
            let k = rng.random_range(0..=5);
            distinct(&mut rng, TOPICS.len() + 1, k, TOPICS.len(), true)
                .into_iter()
                .map(move |t| (u, t))
                .collect::<Vec<_>>()
        })
        .collect();
    for (_, t) in &topic_follows {
        topic_followers[*t] += 1;
    }

    // Posts, with their engagement decided up front so the counters are known.
    let span = 365 * 86_400;
    let mut posts: Vec<PostPlan> = (0..plan.posts)
        .map(|_| {
            let at = micros(
                now - Duration::seconds(rng.random_range(0..span))
                    - Duration::microseconds(rng.random_range(0..1_000_000)),
            );
            let roll = rng.random_range(0..100);
            let kind = if roll < 70 { 0 } else { 1 + (roll - 70) % 6 };
            let k = rng.random_range(0..=3);
            let topics = distinct(&mut rng, TOPICS.len() + 1, k, TOPICS.len(), true);
            let popular = rng.random_range(0..100) < 5;
            PostPlan {
                id: v7_at(&mut rng, at),
                author: skewed(&mut rng, n),
                at,
                kind,
                topics,
                reactions: if popular {
                    rng.random_range(5..40)
                } else {
                    rng.random_range(0..2)
                },
                comments: if rng.random_range(0..4) == 0 {
                    rng.random_range(1..4)
                } else {
                    0
                },
                reposts: u32::from(rng.random_range(0..25) == 0),
                bookmarks: u32::from(rng.random_range(0..10) == 0),
            }
        })
        .collect();
    posts.sort_by_key(|p| p.at);
    let mut topic_posts = vec![0i64; TOPICS.len()];
    for p in &posts {
        for t in &p.topics {
            topic_posts[*t] += 1;
        }
    }

    // Follows: about 20 a member on average, towards the (power-law) popular members.
    let mut follows = Vec::new();
    for u in 0..n {
        let k = 2 + skewed(&mut rng, 60);
        for f in distinct(&mut rng, n, k, u, true) {
            follows.push((u, f));
        }
    }
    // Connections: about five a member, mostly with members who joined around the same time.
    let mut pairs = HashSet::new();
    for u in 0..n {
        for _ in 0..rng.random_range(0..=5) {
            let offset = rng.random_range(1..=200.min(n - 1));
            let v = (u + offset) % n;
            pairs.insert((u.min(v), u.max(v)));
        }
    }
    let mut pairs: Vec<(usize, usize)> = pairs.into_iter().collect();
    pairs.sort_unstable();
    macro_rules! table {
        ($into:ident, $name:expr, $columns:expr, $total:expr, $rows:expr) => {{
            let bar = output::progress($total as u64, $name);
            let started = std::time::Instant::now();
            let count = load(store, $name, $columns, $rows, &bar).await?;
            bar.finish_and_clear();
            $into.push(($name.to_owned(), count, started.elapsed().as_secs_f64()));
        }};
    }

    let mut first = Vec::new();
    table!(
        first,
        "users",
        &[
            "id",
            "email",
            "email_verified_at",
            "password_hash",
            "display_name",
            "handle",
            "headline",
            "role",
            "verification_level",
            "created_at",
            "updated_at"
        ],
        n,
        {
            let mut rng = StdRng::seed_from_u64(plan.seed ^ 1);
            (0..n).map(move |i| {
                let first = pick(&mut rng, &FIRST);
                let last = pick(&mut rng, &LAST);
                let level = match rng.random_range(0..10) {
                    0..=4 => "unverified",
                    5..=7 => "email_verified",
                    8 => "identity_verified",
                    _ => "business_verified",
                };
                vec![
                    Val::Uuid(users[i]),
                    Val::Text(format!("member{i}@{EMAIL_DOMAIN}")),
                    if level == "unverified" {
                        Val::Null
                    } else {
                        Val::At(joined[i])
                    },
                    Val::Text(password_hash.to_owned()),
                    Val::Text(format!("{first} {last}")),
                    // A handle holds letters, digits and underscores only (`Handle::parse`).
                    Val::Text(format!(
                        "{}_{}_{i}",
                        first.to_lowercase(),
                        last.to_lowercase().replace(' ', "_")
                    )),
                    Val::Label(pick(&mut rng, &HEADLINES)),
                    Val::Label("member"),
                    Val::Label(level),
                    Val::At(joined[i]),
                    Val::At(joined[i]),
                ]
            })
        }
    );
    table!(
        first,
        "topics",
        &[
            "id",
            "slug",
            "name",
            "description",
            "follower_count",
            "post_count",
            "created_at"
        ],
        TOPICS.len(),
        (0..TOPICS.len()).map(|t| vec![
            Val::Uuid(topic_ids[t]),
            Val::Label(TOPICS[t]),
            Val::Label(TOPICS[t]),
            Val::Label(""),
            Val::Int(topic_followers[t]),
            Val::Int(topic_posts[t]),
            Val::At(now - Duration::days(800)),
        ])
    );
    // Two groups of tables at a time: on PostgreSQL each loads on its own connection (one server
    // process per core); SQLite takes one writer, so there they run one after the other.
    let parallel = matches!(store.db(), Db::Postgres(_));
    let (mut graph_rows, mut content_rows) = (Vec::new(), Vec::new());
    let graph = async {
        table!(
            graph_rows,
            "user_topic_follows",
            &["user_id", "topic_id", "created_at"],
            topic_follows.len(),
            topic_follows.iter().map(|(u, t)| vec![
                Val::Uuid(users[*u]),
                Val::Uuid(topic_ids[*t]),
                Val::At(joined[*u])
            ])
        );

        table!(
            graph_rows,
            "user_follows",
            &["follower_id", "followee_id", "created_at"],
            follows.len(),
            follows.iter().map(|(a, b)| vec![
                Val::Uuid(users[*a]),
                Val::Uuid(users[*b]),
                Val::At(joined[*a].max(joined[*b]))
            ])
        );

        table!(
            graph_rows,
            "connections",
            &[
                "id",
                "requester_id",
                "addressee_id",
                "status",
                "created_at",
                "updated_at",
                "responded_at"
            ],
            pairs.len(),
            {
                let mut rng = StdRng::seed_from_u64(plan.seed ^ 2);
                pairs.iter().map(move |(a, b)| {
                    let at = joined[*a].max(joined[*b]);
                    vec![
                        Val::Uuid(v7_at(&mut rng, at)),
                        Val::Uuid(users[*a]),
                        Val::Uuid(users[*b]),
                        Val::Label("accepted"),
                        Val::At(at),
                        Val::At(at),
                        Val::At(at),
                    ]
                })
            }
        );

        anyhow::Ok(())
    };
    let content = async {
        table!(
            content_rows,
            "posts",
            &[
                "id",
                "author_id",
                "post_type",
                "visibility",
                "body",
                "reaction_count",
                "comment_count",
                "repost_count",
                "share_count",
                "bookmark_count",
                "created_at",
                "updated_at"
            ],
            posts.len(),
            {
                let mut rng = StdRng::seed_from_u64(plan.seed ^ 3);
                const KINDS: [&str; 7] = [
                    "text",
                    "product",
                    "service",
                    "crowdfunding",
                    "investment_offer",
                    "investment_request",
                    "mentorship_request",
                ];
                posts.iter().map(move |p| {
                    let words = rng.random_range(6..30);
                    vec![
                        Val::Uuid(p.id),
                        Val::Uuid(users[p.author]),
                        Val::Label(KINDS[p.kind]),
                        Val::Label(if rng.random_range(0..100) < 15 {
                            "connections"
                        } else {
                            "public"
                        }),
                        Val::Text(sentence(&mut rng, words)),
                        Val::Int(p.reactions.into()),
                        Val::Int(p.comments.into()),
                        Val::Int(p.reposts.into()),
                        Val::Int(0),
                        Val::Int(p.bookmarks.into()),
                        Val::At(p.at),
                        Val::At(p.at),
                    ]
                })
            }
        );
        anyhow::Ok(())
    };
    both(parallel, graph, content).await?;

    let engagement = |salt: u64, count: fn(&PostPlan) -> u32| {
        let mut rng = StdRng::seed_from_u64(plan.seed ^ salt);
        let posts = &posts;
        posts.iter().flat_map(move |p| {
            let who = distinct(&mut rng, n, count(p) as usize, p.author, false);
            assert_eq!(
                who.len(),
                count(p) as usize,
                "not enough members for the engagement planned"
            );
            let later: Vec<Timestamp> = who
                .iter()
                .map(|_| {
                    micros((p.at + Duration::seconds(rng.random_range(1..86_400 * 3))).min(now))
                })
                .collect();
            let kinds: Vec<&'static str> = who.iter().map(|_| pick(&mut rng, &REACTIONS)).collect();
            let ids: Vec<Uuid> = later.iter().map(|at| v7_at(&mut rng, *at)).collect();
            let bodies: Vec<String> = who.iter().map(|_| sentence(&mut rng, 8)).collect();
            who.into_iter().enumerate().map(move |(i, u)| {
                (
                    p.id,
                    users[u],
                    later[i],
                    kinds[i],
                    ids[i],
                    bodies[i].clone(),
                )
            })
        })
    };
    let total = |f: fn(&PostPlan) -> u32| posts.iter().map(|p| f(p) as usize).sum::<usize>();
    let (mut links_rows, mut reaction_rows) = (Vec::new(), Vec::new());
    let links = async {
        links_rows.extend(
            super::synthetic_payloads::load_payloads(store, &posts_of_kinds(&posts), plan.seed)
                .await?,
        );
        let links: usize = posts.iter().map(|p| p.topics.len()).sum();
        table!(
            links_rows,
            "post_topics",
            &["post_id", "topic_id", "created_at"],
            links,
            posts.iter().flat_map(|p| p.topics.iter().map(move |t| vec![
                Val::Uuid(p.id),
                Val::Uuid(topic_ids[*t]),
                Val::At(p.at)
            ]))
        );

        anyhow::Ok(())
    };
    let reactions = async {
        table!(
            reaction_rows,
            "post_reactions",
            &["post_id", "user_id", "kind", "created_at", "updated_at"],
            total(|p| p.reactions),
            engagement(4, |p| p.reactions).map(|(post, user, at, kind, _, _)| vec![
                Val::Uuid(post),
                Val::Uuid(user),
                Val::Label(kind),
                Val::At(at),
                Val::At(at)
            ])
        );
        table!(
            reaction_rows,
            "post_comments",
            &[
                "id",
                "post_id",
                "author_id",
                "body",
                "created_at",
                "updated_at"
            ],
            total(|p| p.comments),
            engagement(5, |p| p.comments).map(|(post, user, at, _, id, body)| vec![
                Val::Uuid(id),
                Val::Uuid(post),
                Val::Uuid(user),
                Val::Text(body),
                Val::At(at),
                Val::At(at)
            ])
        );
        table!(
            reaction_rows,
            "post_reposts",
            &["post_id", "user_id", "created_at"],
            total(|p| p.reposts),
            engagement(6, |p| p.reposts).map(|(post, user, at, _, _, _)| vec![
                Val::Uuid(post),
                Val::Uuid(user),
                Val::At(at)
            ])
        );
        table!(
            reaction_rows,
            "bookmarks",
            &["user_id", "post_id", "created_at"],
            total(|p| p.bookmarks),
            engagement(7, |p| p.bookmarks).map(|(post, user, at, _, _, _)| vec![
                Val::Uuid(user),
                Val::Uuid(post),
                Val::At(at)
            ])
        );

        anyhow::Ok(())
    };
    both(parallel, links, reactions).await?;
    loaded.rows = [first, graph_rows, content_rows, links_rows, reaction_rows].concat();

    // Statistics for the planner; on PostgreSQL also the visibility map, without which no scan
    // is index-only until autovacuum comes by.
    if let Db::Postgres(pool) = store.db() {
        sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    } else if let Db::Sqlite(pool) = store.db() {
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    Ok(loaded)
}

/// Runs `a` and `b` together when `parallel`, else one after the other.
async fn both(
    parallel: bool,
    a: impl std::future::Future<Output = anyhow::Result<()>>,
    b: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    if parallel {
        let (a, b) = tokio::join!(a, b);
        a.and(b)
    } else {
        a.await?;
        b.await
    }
}

/// The typed posts, by kind (1 to 6), with their times.
fn posts_of_kinds(posts: &[PostPlan]) -> Vec<(Uuid, usize, Timestamp)> {
    posts
        .iter()
        .filter(|p| p.kind > 0)
        .map(|p| (p.id, p.kind, p.at))
        .collect()
}
