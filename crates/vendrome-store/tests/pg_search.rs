//! The PostgreSQL full-text search path's own rules (the shared search tests live with the API).

use std::time::Duration;

use vendrome_core::search::analysis::parse_query;
use vendrome_core::search::{Audience, SearchEngine as _, SearchKind, SearchQuery};
use vendrome_core::Error;
use vendrome_store::PgSearch;

#[tokio::test]
async fn refuses_sqlite() {
    let db = vendrome_store::testing::sqlite().await;
    assert!(PgSearch::new(db.store.clone()).is_err());
}

#[tokio::test]
async fn a_search_past_the_statement_timeout_is_unavailable_not_a_failure() {
    let Some(db) = vendrome_store::testing::postgres().await else {
        return;
    };
    let search = PgSearch::new(db.store.clone())
        .unwrap()
        .with_statement_timeout(Duration::from_millis(200));
    // Another session holds the members table: the search waits on its lock, and waiting
    // counts against the statement timeout.
    let vendrome_store::Db::Postgres(pool) = db.store.db() else {
        unreachable!("a PostgreSQL test store")
    };
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let query = SearchQuery {
        terms: parse_query("logistics warehouse "),
        kind: SearchKind::Profiles,
        filters: Default::default(),
        audience: Audience::Public,
        offset: 0,
        limit: 10,
        now: vendrome_core::time::now(),
    };
    let started = std::time::Instant::now();
    match search.search(&query).await {
        Err(Error::Unavailable { code, .. }) => assert_eq!(code, "search_timeout"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    blocker.rollback().await.unwrap();
    // Once the lock is gone, the same search answers.
    assert!(search.search(&query).await.unwrap().is_empty());
}
