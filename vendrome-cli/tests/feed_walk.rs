//! The home feed on a generated network (`vendrome seed synthetic`), on both stores: for random
//! members, the whole feed walked with the home-feed cache on, with it off, and page by page
//! switching between the two at random page sizes (so pages straddle the cache's 100 kept
//! entries) is the same sequence every time: the feed read whole in one go, each post once at its
//! newest entry. No page but the last is short.

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
use vendrome_store::testing::{self, TestStore};
use vendrome_store::{Db, Store};

/// Page sizes every member's feed is walked at, with the cache and without.
const PAGE_SIZES: [u32; 4] = [7, 20, 33, 100];
/// Members walked per store.
const MEMBERS: usize = 6;

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

fn cached(store: &Store) -> FeedService {
    let shared = Arc::new(store.clone());
    let cache = HomeCache::new(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        HomeCacheConfig::default(),
    );
    FeedService::new(shared.clone(), shared).with_home_cache(Arc::new(cache))
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
    let mut longest = 0;
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
            // A fresh cache: the first page builds the member's timeline, pages past its 100
            // entries come from the database.
            let cache = cached(store);
            let on = walk(member, |_| (cache.clone(), size), "cache").await;
            assert_eq!(on, reference, "with the cache, {size} a page");
        }
        // Any page from either path, at any size: the cursor of one continues in the other.
        let (plain, cache) = (uncached(store), cached(store));
        let mut choices = StdRng::seed_from_u64(rng.random());
        let mixed = walk(
            member,
            |_| {
                let size = choices.random_range(1..=Limit::MAX);
                let service = if choices.random_bool(0.5) {
                    cache.clone()
                } else {
                    plain.clone()
                };
                (service, size)
            },
            "mixed",
        )
        .await;
        assert_eq!(mixed, reference, "pages mixed from both paths");
    }
    assert!(
        longest > 2 * Limit::MAX as usize,
        "some walked feed runs well past the cache's entries ({longest})"
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
