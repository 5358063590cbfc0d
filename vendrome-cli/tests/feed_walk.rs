//! The home feed on a generated network (`vendrome seed synthetic`, then roughened around the
//! members walked: a followed person blocked, another disabled, posts reposted by two people at
//! once and by the disabled one, posts deleted), on both stores: for random members, the whole
//! feed walked with the home-feed cache on (pages assembled from the sources' windows, at a
//! small window, the default and a large one, or read from the database), with it off, and page by page
//! switching between them at random page sizes (so pages straddle the cache's 100 kept entries
//! and the windows' horizons) is the same sequence every time: the feed read whole in one go,
//! each post once at its newest entry. No page but the last is short.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use vendrome_core::access::Caller;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::posts::feed::{Feed, FeedRepo as _, FeedService};
use vendrome_core::posts::home_cache::{HomeCache, HomeCacheConfig};
use vendrome_core::time::Timestamp;
use vendrome_store::testing::{self, TestStore};
use vendrome_store::{Db, Store};

/// Page sizes every member's feed is walked at, with the cache and without.
const PAGE_SIZES: [u32; 4] = [7, 20, 33, 100];
/// Members walked per store.
const MEMBERS: usize = 6;
/// Source windows the cache is walked with: none (first pages from the database), a small one
/// (most pages meet a horizon), the default (41) and one past the largest page.
const WINDOWS: [u32; 4] = [0, 12, 41, Limit::MAX + 1];

fn seed(url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(["--database-url", url, "seed", "synthetic"])
        .args(["--users", "300", "--posts", "3000", "--seed", "11"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Members who follow someone, in a fixed order the RNG then shuffles.
async fn members(store: &Store) -> Vec<UserId> {
    let sql = "SELECT DISTINCT follower_id FROM user_follows ORDER BY follower_id";
    let ids: Vec<uuid::Uuid> = match store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
    };
    ids.into_iter().map(UserId::from_uuid).collect()
}

/// One entry as the member sees it: the post, and who reposted it.
type Seen = (PostId, Option<UserId>);

/// Walks `member`'s home feed to its end, each page from `pick(page number)`'s service at its
/// size, asserting that every page but the last is full.
async fn walk(
    member: UserId,
    mut pick: impl FnMut(usize) -> (FeedService, u32),
    what: &str,
) -> Vec<Seen> {
    let caller = Caller {
        user_id: member,
        role: UserRole::Member,
    };
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for number in 0.. {
        let (service, size) = pick(number);
        let limit = Limit::parse(size).unwrap();
        let page = service
            .page(Some(&caller), &Feed::Home(member), cursor.as_ref(), limit)
            .await
            .unwrap();
        seen.extend(
            page.items
                .iter()
                .map(|item| (item.post.id, item.repost.as_ref().map(|r| r.by.id))),
        );
        match page.next_cursor {
            Some(next) => {
                assert_eq!(
                    page.items.len(),
                    size as usize,
                    "{what}: page {number} of {member:?} is short but says more follow"
                );
                cursor = Some(next);
            }
            None => return seen,
        }
    }
    unreachable!()
}

/// The whole feed in one read: every source's every entry, newest first, each post once.
async fn everything(store: &Store, member: UserId) -> Vec<PostId> {
    let sources = store
        .feed_entries(&Feed::Home(member), Some(member), None, 1_000_000)
        .await
        .unwrap();
    let mut entries: Vec<_> = sources.into_iter().flatten().collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.key));
    let mut once = HashSet::new();
    entries
        .into_iter()
        .map(|e| e.key.post)
        .filter(|post| once.insert(*post))
        .collect()
}

fn cached(store: &Store, window: u32) -> (FeedService, Arc<HomeCache>) {
    let shared = Arc::new(store.clone());
    let config = HomeCacheConfig {
        window,
        ..HomeCacheConfig::default()
    };
    let cache = Arc::new(HomeCache::new(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        config,
    ));
    let service = FeedService::new(shared.clone(), shared).with_home_cache(cache.clone());
    (service, cache)
}

/// Runs `sql` with `args` (ids and times, in order) on either store.
async fn run(store: &Store, sql: &str, args: &[Value]) {
    macro_rules! bound {
        ($pool:expr) => {{
            let mut query = sqlx::query(sql);
            for arg in args {
                query = match arg {
                    Value::Id(id) => query.bind(*id),
                    Value::At(at) => query.bind(*at),
                };
            }
            query.execute($pool).await.unwrap();
        }};
    }
    match store.db() {
        Db::Postgres(pool) => bound!(pool),
        Db::Sqlite(pool) => bound!(pool),
    }
}

enum Value {
    Id(uuid::Uuid),
    At(Timestamp),
}

async fn column<T>(store: &Store, sql: &str, id: uuid::Uuid) -> Vec<T>
where
    T: Send + Unpin,
    for<'r> (T,):
        sqlx::FromRow<'r, sqlx::postgres::PgRow> + sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    let rows: Vec<(T,)> = match store.db() {
        Db::Postgres(pool) => sqlx::query_as(sql).bind(id).fetch_all(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_as(sql).bind(id).fetch_all(pool).await.unwrap(),
    };
    rows.into_iter().map(|(t,)| t).collect()
}

/// What the generator never makes, around `member`: one person they follow blocks them (the
/// follow stays), another is disabled; of the first posts of their feed, some are reposted by
/// two of their people at the same moment (the member id decides which repost shows), one later
/// by the disabled person (whose repost is not shown, yet hides the post's older entries, as the
/// store's SQL has it), and some are deleted.
async fn roughen(store: &Store, member: UserId, rng: &mut StdRng) {
    let sql = "SELECT followee_id FROM user_follows WHERE follower_id = $1 ORDER BY followee_id";
    let mut people: Vec<uuid::Uuid> = column(store, sql, member.as_uuid()).await;
    people.shuffle(rng);
    let [blocker, disabled, first, second, ..] = people[..] else {
        return;
    };
    let now = vendrome_core::time::now();
    let sql = "INSERT INTO user_blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    run(
        store,
        sql,
        &[
            Value::Id(blocker),
            Value::Id(member.as_uuid()),
            Value::At(now),
        ],
    )
    .await;
    let sql = "UPDATE users SET disabled_at = $2 WHERE id = $1";
    run(store, sql, &[Value::Id(disabled), Value::At(now)]).await;
    let feed = everything(store, member).await;
    let repost = "INSERT INTO post_reposts (post_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    for (i, post) in feed.iter().take(40).enumerate() {
        let sql = "SELECT created_at FROM posts WHERE id = $1";
        let at: Vec<Timestamp> = column(store, sql, post.as_uuid()).await;
        let later = (at[0] + chrono::Duration::seconds(rng.random_range(1..86_400 * 20))).min(now);
        if later <= at[0] {
            continue;
        }
        let id = post.as_uuid();
        match i % 8 {
            0 | 3 => {
                for person in [first, second] {
                    run(
                        store,
                        repost,
                        &[Value::Id(id), Value::Id(person), Value::At(later)],
                    )
                    .await;
                }
            }
            5 => {
                run(
                    store,
                    repost,
                    &[Value::Id(id), Value::Id(first), Value::At(later)],
                )
                .await;
                let latest = (later + chrono::Duration::seconds(1)).min(now);
                run(
                    store,
                    repost,
                    &[Value::Id(id), Value::Id(disabled), Value::At(latest)],
                )
                .await;
            }
            6 => {
                let sql = "UPDATE posts SET deleted_at = $2 WHERE id = $1";
                run(store, sql, &[Value::Id(id), Value::At(now)]).await;
            }
            _ => {}
        }
    }
}

fn uncached(store: &Store) -> FeedService {
    let shared = Arc::new(store.clone());
    FeedService::new(shared.clone(), shared)
}

async fn walks_agree(db: &TestStore) {
    seed(&db.url);
    let store = &db.store;
    let mut rng = StdRng::seed_from_u64(11);
    let mut members = members(store).await;
    members.shuffle(&mut rng);
    for &member in members.iter().take(MEMBERS) {
        roughen(store, member, &mut rng).await;
    }
    let mut longest = 0;
    let mut assembled = [0; WINDOWS.len()];
    // A cache that read every member's circle and windows first, as the server's does when it
    // starts, kept across the walks (so later walks also meet its kept timelines).
    let (preloaded, cache) = cached(store, 41);
    cache.preload(64).await.unwrap();
    let users = column::<i64>(
        store,
        "SELECT COUNT(*) FROM users WHERE id <> $1",
        uuid::Uuid::nil(),
    )
    .await;
    assert_eq!(
        cache.circles_kept() as i64,
        users[0],
        "every member's circle read"
    );
    assert!(
        cache.sources_size().1 as i64 >= 2 * users[0],
        "every member's windows read"
    );
    for &member in members.iter().take(MEMBERS) {
        let reference = walk(member, |_| (uncached(store), 100), "no cache, 100").await;
        let posts: Vec<PostId> = reference.iter().map(|(post, _)| *post).collect();
        assert_eq!(
            posts,
            everything(store, member).await,
            "the feed read whole"
        );
        longest = longest.max(reference.len());
        for size in PAGE_SIZES {
            let plain = uncached(store);
            let off = walk(member, |_| (plain.clone(), size), "no cache").await;
            assert_eq!(off, reference, "without the cache, {size} a page");
            // A fresh cache: the first page builds the member's timeline (from the sources'
            // windows where they settle it), pages past its 100 entries come from the windows
            // or the database.
            for (i, window) in WINDOWS.into_iter().enumerate() {
                let (service, cache) = cached(store, window);
                let on = walk(member, |_| (service.clone(), size), "cache").await;
                assert_eq!(
                    on, reference,
                    "with the cache, window {window}, {size} a page"
                );
                assembled[i] += cache.stats().assembled;
            }
            let on = walk(member, |_| (preloaded.clone(), size), "preloaded cache").await;
            assert_eq!(on, reference, "with the preloaded cache, {size} a page");
        }
        // Any page from any path, at any size: the cursor of one continues in the others.
        let mut services = vec![uncached(store)];
        services.extend(WINDOWS.map(|w| cached(store, w).0));
        services.push(preloaded.clone());
        let mut choices = StdRng::seed_from_u64(rng.random());
        let mixed = walk(
            member,
            |_| {
                let size = choices.random_range(1..=Limit::MAX);
                let service = services[choices.random_range(0..services.len())].clone();
                (service, size)
            },
            "mixed",
        )
        .await;
        assert_eq!(mixed, reference, "pages mixed from every path");
    }
    assert_eq!(assembled[0], 0, "no window, no page assembled");
    assert!(
        assembled[1..].iter().all(|n| *n > 0),
        "pages were assembled from the windows at every size: {assembled:?}"
    );
    // Each member's first page (7 entries) was assembled from the windows read at the start.
    let stats = cache.stats();
    assert!(
        stats.assembled >= MEMBERS as u64 && stats.windows_read > 0,
        "the preloaded cache assembled every first page: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_feed_walks_are_the_same_from_cache_and_database_sqlite() {
    walks_agree(&testing::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_feed_walks_are_the_same_from_cache_and_database_postgres() {
    let Some(db) = testing::postgres().await else {
        return;
    };
    walks_agree(&db).await;
}
