//! One visibility rule, asked of every place that writes it down.
//!
//! Who may see a post is written four times, each where its technology needs it: the store's
//! SQL (`vendrome-store`'s `feeds.rs` `visible()`, behind `posts_by_ids` and the feed sources),
//! the home-feed cache (`Circle::may_see`), the embedded index's collector (`columns.rs`
//! `Columns::visible`) and the PostgreSQL search path (`pg_search.rs`). [`CASES`] is the rule
//! as a table; [`every_path_gives_every_case_the_same_answer`] runs each case through every
//! path, on SQLite and on PostgreSQL (where the PostgreSQL search path runs too), and requires
//! the table's answer from each.
//!
//! The search engines hold no block lists: a block is enforced by the service's re-read of the
//! hits (the index is never the authority, ARCHITECTURE.md). So for a case with a block between
//! reader and author, an engine's own answer is not compared; the search service's is.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::audit::AuditContext;
use vendrome_core::enums::{ConnectionStatus, PostVisibility, UserRole};
use vendrome_core::graph::blocks::BlockRepo as _;
use vendrome_core::graph::{ConnectionAction, GraphRepo as _, NewConnection};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::page::Limit;
use vendrome_core::posts::engagement::EngagementRepo as _;
use vendrome_core::posts::feed::{Feed, FeedService};
use vendrome_core::posts::home_cache::{HomeCache, HomeCacheConfig};
use vendrome_core::posts::{Media, NewPost, PostBody, PostPayload, PostRepo as _};
use vendrome_core::search::analysis::parse_query;
use vendrome_core::search::{
    Audience, Found, Hit, SearchEngine, SearchKind, SearchQuery, SearchRequest, SearchService,
    SearchSource as _,
};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_search::{Indexer, IndexerConfig, Location, SearchIndex};
use vendrome_store::Store;

/// Who reads the post.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reader {
    Anonymous,
    /// The author.
    Author,
    /// A member who follows the author, with no connection.
    Follower,
    /// An accepted connection of the author (who follows them too).
    Connection,
    /// A follower who then blocked the author.
    BlockedTheAuthor,
    /// A follower whom the author then blocked.
    BlockedByTheAuthor,
    /// A connection of the author who then blocked them (the block ends the connection).
    ConnectionThatBlocked,
    /// A member connected to, and following, someone who reposted the post; no relation to
    /// the author.
    FollowerOfAReposter,
}

/// What happened to the post or its author after it was written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Then {
    Nothing,
    PostDeleted,
    AuthorDisabled,
}

/// One case of the rule.
struct Case {
    name: &'static str,
    post: PostVisibility,
    reader: Reader,
    then: Then,
    /// Whether the reader sees the post.
    sees: bool,
}

const fn case(
    name: &'static str,
    post: PostVisibility,
    reader: Reader,
    then: Then,
    sees: bool,
) -> Case {
    Case {
        name,
        post,
        reader,
        then,
        sees,
    }
}

use PostVisibility::{Connections as ConnectionsOnly, Public};
use Reader::*;
use Then::*;

/// The visibility rule: public posts to anyone, connections-only posts to the author and their
/// accepted connections; never across a block either way, never a deleted post, never a
/// disabled member's post; a repost shows nothing its reader could not see.
const CASES: &[Case] = &[
    case("public, anonymous reader", Public, Anonymous, Nothing, true),
    case("public, member", Public, Follower, Nothing, true),
    case("public, the author", Public, Author, Nothing, true),
    case(
        "connections-only, anonymous reader",
        ConnectionsOnly,
        Anonymous,
        Nothing,
        false,
    ),
    case(
        "connections-only, a follower",
        ConnectionsOnly,
        Follower,
        Nothing,
        false,
    ),
    case(
        "connections-only, a connection",
        ConnectionsOnly,
        Connection,
        Nothing,
        true,
    ),
    case(
        "connections-only, the author",
        ConnectionsOnly,
        Author,
        Nothing,
        true,
    ),
    case(
        "public, reader blocked the author",
        Public,
        BlockedTheAuthor,
        Nothing,
        false,
    ),
    case(
        "public, author blocked the reader",
        Public,
        BlockedByTheAuthor,
        Nothing,
        false,
    ),
    case(
        "connections-only, a connection that then blocked",
        ConnectionsOnly,
        ConnectionThatBlocked,
        Nothing,
        false,
    ),
    case(
        "public, deleted, member",
        Public,
        Follower,
        PostDeleted,
        false,
    ),
    case(
        "public, deleted, anonymous reader",
        Public,
        Anonymous,
        PostDeleted,
        false,
    ),
    case(
        "connections-only, deleted, a connection",
        ConnectionsOnly,
        Connection,
        PostDeleted,
        false,
    ),
    case(
        "public, disabled author, member",
        Public,
        Follower,
        AuthorDisabled,
        false,
    ),
    case(
        "public, disabled author, anonymous reader",
        Public,
        Anonymous,
        AuthorDisabled,
        false,
    ),
    case(
        "connections-only, disabled author, a connection",
        ConnectionsOnly,
        Connection,
        AuthorDisabled,
        false,
    ),
    case(
        "connections-only reposted, reposter's follower",
        ConnectionsOnly,
        FollowerOfAReposter,
        Nothing,
        false,
    ),
    case(
        "public reposted, reposter's follower",
        Public,
        FollowerOfAReposter,
        Nothing,
        true,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_gives_every_case_the_same_answer_on_sqlite() {
    let db = vendrome_store::testing::sqlite().await;
    every_path_gives_every_case_the_same_answer(db.store.clone(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_gives_every_case_the_same_answer_on_postgres() {
    let Some(db) = vendrome_store::testing::postgres().await else {
        return;
    };
    every_path_gives_every_case_the_same_answer(db.store.clone(), true).await;
}

/// A case as written to the database.
struct Made {
    post: PostId,
    /// The only word of the post's text: searching it finds this post and no other.
    word: String,
    reader: Option<UserId>,
}

async fn every_path_gives_every_case_the_same_answer(store: Store, postgres: bool) {
    let mut made = Vec::new();
    for case in CASES {
        made.push(write(&store, case).await);
    }

    let shared = Arc::new(store.clone());
    let cache = Arc::new(HomeCache::new(
        shared.clone(),
        shared.clone(),
        shared.clone(),
        HomeCacheConfig::default(),
    ));
    let feeds = FeedService::new(shared.clone(), shared.clone());
    let cached_feeds = feeds.clone().with_home_cache(cache.clone());
    let index = SearchIndex::new();
    let mut indexer = Indexer::start(
        index.clone(),
        Location::Memory,
        shared.clone(),
        shared.clone(),
        IndexerConfig::default(),
    )
    .await
    .unwrap();
    indexer.catch_up().await.unwrap();
    let mut engines: Vec<(&str, Arc<dyn SearchEngine>, SearchService)> = Vec::new();
    let embedded: Arc<dyn SearchEngine> = Arc::new(index);
    engines.push((
        "embedded index",
        embedded.clone(),
        SearchService::new(embedded, shared.clone(), shared.clone(), shared.clone())
            .with_cache(cache.clone()),
    ));
    if postgres {
        let pg: Arc<dyn SearchEngine> =
            Arc::new(vendrome_store::PgSearch::new(store.clone()).unwrap());
        engines.push((
            "PostgreSQL search",
            pg.clone(),
            SearchService::new(pg, shared.clone(), shared.clone(), shared.clone()),
        ));
    }

    let mut wrong = Vec::new();
    for (case, made) in CASES.iter().zip(&made) {
        let viewer = made.reader;
        let caller = viewer.map(|user_id| Caller {
            user_id,
            role: UserRole::Member,
        });
        let ids = [made.post];
        let mut answers: Vec<(String, bool)> = vec![
            (
                "store SQL: posts_by_ids".into(),
                !store.posts_by_ids(&ids, viewer).await.unwrap().is_empty(),
            ),
            (
                "home cache: posts".into(),
                !cache.posts(viewer, &ids).await.unwrap().is_empty(),
            ),
        ];
        if let Some(caller) = &caller {
            // Every member reader follows the author or a reposter, so their home feed holds
            // the post exactly when they may see it.
            for (path, service) in [
                ("store SQL: home feed", &feeds),
                ("home cache: home feed", &cached_feeds),
            ] {
                let page = service
                    .page(
                        Some(caller),
                        &Feed::Home(caller.user_id),
                        None,
                        Limit::parse(100).unwrap(),
                    )
                    .await
                    .unwrap();
                answers.push((
                    path.into(),
                    page.items.iter().any(|i| i.post.id == made.post),
                ));
            }
        }
        let blocked = matches!(
            case.reader,
            BlockedTheAuthor | BlockedByTheAuthor | ConnectionThatBlocked
        );
        for (name, engine, service) in &engines {
            if !blocked {
                let audience = match viewer {
                    Some(v) => Audience::Member(store.audience(v).await.unwrap()),
                    None => Audience::Public,
                };
                let query = SearchQuery {
                    terms: parse_query(&made.word),
                    kind: SearchKind::Posts,
                    filters: Default::default(),
                    audience,
                    offset: 0,
                    limit: 10,
                    now: vendrome_core::time::now(),
                };
                let hits = engine.search(&query).await.unwrap();
                answers.push((
                    format!("{name}: engine"),
                    hits.iter().any(|(hit, _)| *hit == Hit::Post(made.post)),
                ));
            }
            let request = SearchRequest {
                q: made.word.clone(),
                kind: SearchKind::Posts,
                filters: Default::default(),
                offset: 0,
                limit: Limit::parse(10).unwrap(),
            };
            let page = service.search(caller.as_ref(), request).await.unwrap();
            answers.push((
                format!("{name}: search service"),
                page.items
                    .iter()
                    .any(|r| matches!(&r.found, Found::Post(p) if p.id == made.post)),
            ));
        }
        for (path, answer) in answers {
            if answer != case.sees {
                wrong.push(format!(
                    "{}: {path} says {answer}, the rule says {}",
                    case.name, case.sees
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "paths disagree with the visibility rule ({}):\n{}",
        if postgres { "PostgreSQL" } else { "SQLite" },
        wrong.join("\n")
    );
}

/// Writes one case: its members, their relations, the post and what happened after.
async fn write(store: &Store, case: &Case) -> Made {
    let author = member(store).await;
    let reader = match case.reader {
        Anonymous => None,
        Author => Some(author),
        _ => Some(member(store).await),
    };
    let word = word(author);
    let post = store
        .create_post(NewPost {
            author_id: author,
            body: PostBody::parse(&format!("{word} notes")).unwrap(),
            visibility: case.post,
            topics: Vec::new(),
            payload: PostPayload::Text,
            media: Media::default(),
        })
        .await
        .unwrap();
    if let Some(reader) = reader.filter(|r| *r != author) {
        match case.reader {
            FollowerOfAReposter => {
                let reposter = member(store).await;
                connect(store, reposter, author).await;
                connect(store, reader, reposter).await;
                store.follow(reader, reposter).await.unwrap();
                store.set_repost(post, reposter, None).await.unwrap();
            }
            Connection | ConnectionThatBlocked => {
                connect(store, reader, author).await;
                store.follow(reader, author).await.unwrap();
            }
            _ => {
                store.follow(reader, author).await.unwrap();
            }
        }
        match case.reader {
            BlockedTheAuthor | ConnectionThatBlocked => {
                assert!(store.block(reader, author).await.unwrap());
            }
            BlockedByTheAuthor => {
                assert!(store.block(author, reader).await.unwrap());
            }
            _ => {}
        }
    }
    match case.then {
        Nothing => {}
        PostDeleted => store.delete_post(post, author).await.unwrap(),
        AuthorDisabled => {
            store
                .set_disabled(author, true, &AuditContext::default())
                .await
                .unwrap();
        }
    }
    Made { post, word, reader }
}

async fn member(store: &Store) -> UserId {
    let id = UserId::new();
    let new = NewUser {
        email: Email::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
        display_name: DisplayName::parse("Visibility Case").unwrap(),
        handle: None,
        password_hash: None,
        role: UserRole::Member,
    };
    store.create_user(new).await.unwrap().id
}

async fn connect(store: &Store, requester: UserId, addressee: UserId) {
    let pending = store
        .create_connection(NewConnection {
            requester_id: requester,
            addressee_id: addressee,
            note: None,
        })
        .await
        .unwrap();
    store
        .apply_transition(
            &pending,
            ConnectionStatus::Accepted,
            ConnectionAction::Accept,
            addressee,
        )
        .await
        .unwrap();
}

/// A word of letters only, made from `seed`, that no other case's text is a typo or a prefix
/// of.
fn word(seed: UserId) -> String {
    let hex = seed.as_uuid().simple().to_string();
    // A UUIDv7 starts with its time: the random tail tells cases apart.
    "zq".chars()
        .chain(hex[20..].bytes().map(|b| {
            let n = if b.is_ascii_digit() {
                b - b'0'
            } else {
                b - b'a' + 10
            };
            char::from(b'a' + n)
        }))
        .collect()
}
