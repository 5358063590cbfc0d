//! The indexer against a real database (SQLite, and PostgreSQL when reachable): checkpoints
//! survive restarts without loss or duplicates, a rebuild swaps in while the old index serves,
//! and two indexers (two instances) follow one database.

use std::sync::Arc;

use vendrome_core::enums::{PostVisibility, UserRole};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::posts::{Media, NewPost, PostBody, PostPayload, PostRepo as _};
use vendrome_core::search::analysis::parse_query;
use vendrome_core::search::{Audience, Hit, SearchEngine as _, SearchKind, SearchQuery};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_search::{reindex, IndexDir, Indexer, IndexerConfig, Location, SearchIndex};
use vendrome_store::Store;

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = vendrome_store::testing::sqlite().await;
                    super::$name(db.store.clone()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(db) = vendrome_store::testing::postgres().await else { return };
                    super::$name(db.store.clone()).await;
                }
            }
        )*
    };
}

on_both_stores!(
    a_restart_resumes_from_the_checkpoint,
    a_rebuild_swaps_in_without_going_offline,
    a_rebuild_adds_each_document_once_and_deletes_nothing,
    two_indexers_follow_one_database,
    an_index_built_by_another_version_is_rebuilt,
);

/// A transaction that has taken an outbox seq but not committed leaves a gap; later events
/// must still be indexed at once, even when more of them wait than one batch holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_does_not_hold_back_later_events() {
    let Some(db) = vendrome_store::testing::postgres().await else {
        return;
    };
    let store = db.store.clone();
    let writer = author(&store).await;
    let shared = Arc::new(store.clone());
    let index = SearchIndex::new();
    let mut indexer = Indexer::start(
        index.clone(),
        Location::Memory,
        shared.clone(),
        shared,
        IndexerConfig {
            batch: 2,
            ..IndexerConfig::default()
        },
    )
    .await
    .unwrap();
    indexer.catch_up().await.unwrap();
    let vendrome_store::Db::Postgres(pool) = store.db() else {
        unreachable!("a PostgreSQL test store")
    };
    let mut open = pool.begin().await.unwrap();
    sqlx::query("SELECT nextval(pg_get_serial_sequence('outbox_events', 'id'))")
        .execute(&mut *open)
        .await
        .unwrap();
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(post(&store, writer, &format!("Beehive report {n}")).await);
    }
    for _ in 0..10 {
        indexer.pass().await.unwrap();
    }
    assert_eq!(posts_found(&index, "beehive").await, sorted(made));
    open.rollback().await.unwrap();
}

async fn author(store: &Store) -> UserId {
    let id = UserId::new();
    let new = NewUser {
        email: Email::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
        display_name: DisplayName::parse("Index Author").unwrap(),
        handle: None,
        password_hash: None,
        role: UserRole::Member,
    };
    store.create_user(new).await.unwrap().id
}

async fn post(store: &Store, author: UserId, body: &str) -> PostId {
    store
        .create_post(NewPost {
            author_id: author,
            body: PostBody::parse(body).unwrap(),
            visibility: PostVisibility::Public,
            topics: Vec::new(),
            payload: PostPayload::Text,
            media: Media::default(),
        })
        .await
        .unwrap()
}

fn query(words: &str) -> SearchQuery {
    SearchQuery {
        terms: parse_query(words),
        kind: SearchKind::Posts,
        filters: Default::default(),
        audience: Audience::Public,
        offset: 0,
        limit: 100,
        now: vendrome_core::time::now(),
    }
}

/// Post ids found for `words`, sorted.
async fn posts_found(index: &SearchIndex, words: &str) -> Vec<PostId> {
    let mut ids: Vec<PostId> = index
        .search(&query(words))
        .await
        .unwrap()
        .into_iter()
        .map(|(hit, _)| match hit {
            Hit::Post(id) => id,
            other => panic!("{other:?}"),
        })
        .collect();
    ids.sort();
    ids
}

async fn start(store: &Store, dir: &IndexDir) -> (SearchIndex, Indexer) {
    let index = SearchIndex::new();
    let shared = Arc::new(store.clone());
    let indexer = Indexer::start(
        index.clone(),
        Location::Disk(dir.clone()),
        shared.clone(),
        shared,
        IndexerConfig::default(),
    )
    .await
    .unwrap();
    (index, indexer)
}

fn sorted(mut ids: Vec<PostId>) -> Vec<PostId> {
    ids.sort();
    ids
}

async fn a_restart_resumes_from_the_checkpoint(store: Store) {
    let temp = tempfile::tempdir().unwrap();
    let dir = IndexDir::new(temp.path().join("search"));
    let writer = author(&store).await;
    let first = post(&store, writer, "Orchard report one").await;

    let (index, mut indexer) = start(&store, &dir).await;
    indexer.catch_up().await.unwrap();
    assert_eq!(posts_found(&index, "orchard").await, [first]);
    let checkpoint = indexer.checkpoint();
    assert!(checkpoint > 0);
    drop(indexer);
    drop(index);

    // Down for a while: changes keep coming.
    let second = post(&store, writer, "Orchard report two").await;
    let third = post(&store, writer, "Orchard report three").await;
    use vendrome_core::posts::PostRepo as _;
    store.delete_post(first, writer).await.unwrap();

    let (index, mut indexer) = start(&store, &dir).await;
    assert_eq!(
        indexer.checkpoint(),
        checkpoint,
        "the committed checkpoint is read back"
    );
    assert_eq!(
        posts_found(&index, "orchard").await,
        [first],
        "nothing changed before catching up"
    );
    indexer.catch_up().await.unwrap();
    assert!(indexer.checkpoint() > checkpoint);
    assert_eq!(
        posts_found(&index, "orchard").await,
        sorted(vec![second, third])
    );
    // No duplicates: one document per post, even though events around the restart were
    // applied twice.
    let generation = index.generation().unwrap();
    assert_eq!(generation.num_docs(), 2 + 1, "two posts and one profile");
}

async fn a_rebuild_swaps_in_without_going_offline(store: Store) {
    let temp = tempfile::tempdir().unwrap();
    let dir = IndexDir::new(temp.path().join("search"));
    let writer = author(&store).await;
    let before = post(&store, writer, "Vineyard harvest").await;
    let (index, mut indexer) = start(&store, &dir).await;
    indexer.catch_up().await.unwrap();
    let old = dir.current().unwrap().unwrap();

    let report = reindex(&dir, &store, &store, &IndexerConfig::default(), &|_, _| {})
        .await
        .unwrap();
    assert_ne!(report.generation, old);
    assert_eq!(report.documents, 2, "one post and one profile");
    assert_eq!(dir.current().unwrap().unwrap(), report.generation);
    // The serving index still answers from the old generation until the indexer's next pass.
    assert_eq!(posts_found(&index, "vineyard").await, [before]);
    let during = post(&store, writer, "Vineyard tasting").await;
    indexer.pass().await.unwrap();
    indexer.catch_up().await.unwrap();
    assert_eq!(
        posts_found(&index, "vineyard").await,
        sorted(vec![before, during])
    );
    assert!(
        !dir.path(&old).exists(),
        "the old generation is removed after the switch"
    );
    assert!(dir.path(&report.generation).exists());
}

/// A rebuild writes into an empty generation and its scans read each document once, so it adds
/// them and queues no delete: tantivy holds each queued delete (about 1.2 KB) until the next
/// commit, and a rebuild commits once, at its end (1M posts held 1.2 GB of deletes). A commit's
/// opstamp counts the operations before it: an add per document, a delete per replaced one,
/// and one each time the writer looks for merges (once per segment written).
async fn a_rebuild_adds_each_document_once_and_deletes_nothing(store: Store) {
    let temp = tempfile::tempdir().unwrap();
    let dir = IndexDir::new(temp.path().join("search"));
    let writer = author(&store).await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(post(&store, writer, &format!("Orchard note {n}")).await);
    }
    // Batches of two: the scan's keyset pages join without repeating a document.
    let config = IndexerConfig {
        rebuild_batch: 2,
        ..IndexerConfig::default()
    };
    let report = reindex(&dir, &store, &store, &config, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.documents, 6, "five posts and one profile");
    let metas = tantivy::Index::open_in_dir(dir.path(&report.generation))
        .unwrap()
        .load_metas()
        .unwrap();
    let segments = metas.segments.len();
    assert!(
        metas.opstamp < 2 * report.documents,
        "{} operations for {} documents in {segments} segments: deletes were queued",
        metas.opstamp,
        report.documents
    );
    let (index, _indexer) = start(&store, &dir).await;
    assert_eq!(posts_found(&index, "orchard").await, sorted(made));
}

/// A generation whose fields are not this version's (an upgrade changed them) is never opened
/// with the wrong fields: the indexer builds a new one at start and serves that.
async fn an_index_built_by_another_version_is_rebuilt(store: Store) {
    let temp = tempfile::tempdir().unwrap();
    let dir = IndexDir::new(temp.path().join("search"));
    let writer = author(&store).await;
    let found = post(&store, writer, "Greenhouse report").await;
    let mut fields = tantivy::schema::Schema::builder();
    fields.add_text_field("body", tantivy::schema::TEXT);
    std::fs::create_dir_all(dir.path("gen-old")).unwrap();
    tantivy::Index::create_in_dir(dir.path("gen-old"), fields.build()).unwrap();
    dir.publish("gen-old").unwrap();
    assert!(!vendrome_search::Generation::has_current_schema(
        &dir.path("gen-old")
    ));

    let (index, mut indexer) = start(&store, &dir).await;
    indexer.catch_up().await.unwrap();
    let current = dir.current().unwrap().unwrap();
    assert_ne!(current, "gen-old");
    assert!(vendrome_search::Generation::has_current_schema(
        &dir.path(&current)
    ));
    assert_eq!(posts_found(&index, "greenhouse").await, [found]);
    assert!(
        vendrome_search::Generation::open(&dir.path("gen-old")).is_err()
            || !dir.path("gen-old").exists(),
        "the old generation is never opened with this version's fields"
    );
}

async fn two_indexers_follow_one_database(store: Store) {
    let temp = tempfile::tempdir().unwrap();
    let writer = author(&store).await;
    let (a_dir, b_dir) = (
        IndexDir::new(temp.path().join("a")),
        IndexDir::new(temp.path().join("b")),
    );
    let (a, mut indexer_a) = start(&store, &a_dir).await;
    let (b, mut indexer_b) = start(&store, &b_dir).await;
    let made = post(&store, writer, "Greenhouse sensors").await;
    indexer_a.catch_up().await.unwrap();
    indexer_b.catch_up().await.unwrap();
    assert_eq!(posts_found(&a, "greenhouse").await, [made]);
    assert_eq!(posts_found(&b, "greenhouse").await, [made]);
    use vendrome_core::posts::PostRepo as _;
    store.delete_post(made, writer).await.unwrap();
    indexer_a.catch_up().await.unwrap();
    indexer_b.catch_up().await.unwrap();
    assert!(posts_found(&a, "greenhouse").await.is_empty());
    assert!(posts_found(&b, "greenhouse").await.is_empty());
}
