//! The PostgreSQL full-text search path's own rules (the shared search tests live with the API).

use std::sync::Arc;
use std::time::Duration;

use vendrome_core::access::Caller;
use vendrome_core::enums::UserRole;
use vendrome_core::graph::{ConnectionAction, GraphService};
use vendrome_core::ids::UserId;
use vendrome_core::profiles::{ProfileChanges, ProfileRepo, RawProfileChanges};
use vendrome_core::search::analysis::parse_query;
use vendrome_core::search::{Audience, Hit, SearchEngine as _, SearchKind, SearchQuery};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo};
use vendrome_core::Error;
use vendrome_store::testing::TestStore;
use vendrome_store::{Db, PgSearch, Store};

/// A PostgreSQL test store and its search path; `None` (said loudly) without PostgreSQL.
async fn postgres() -> Option<(TestStore, PgSearch)> {
    let db = vendrome_store::testing::postgres().await?;
    let search = PgSearch::new(db.store.clone()).unwrap();
    Some((db, search))
}

fn pool(store: &Store) -> &sqlx::PgPool {
    let Db::Postgres(pool) = store.db() else {
        unreachable!("a PostgreSQL test store")
    };
    pool
}

#[tokio::test]
async fn refuses_sqlite() {
    let db = vendrome_store::testing::sqlite().await;
    assert!(PgSearch::new(db.store.clone()).is_err());
}

#[tokio::test]
async fn a_search_past_the_statement_timeout_is_unavailable_not_a_failure() {
    let Some((db, search)) = postgres().await else {
        return;
    };
    let search = search.with_statement_timeout(Duration::from_millis(200));
    // Another session holds the members table: the search waits on its lock, and waiting
    // counts against the statement timeout.
    let pool = pool(&db.store);
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

fn profiles(words: &str) -> SearchQuery {
    SearchQuery {
        terms: parse_query(words),
        kind: SearchKind::Profiles,
        filters: Default::default(),
        audience: Audience::Public,
        offset: 0,
        limit: 10,
        now: vendrome_core::time::now(),
    }
}

async fn found(search: &PgSearch, words: &str) -> Vec<UserId> {
    let hits = search.search(&profiles(words)).await.unwrap();
    let mut members: Vec<UserId> = hits
        .into_iter()
        .map(|(hit, _)| match hit {
            Hit::Profile(member) => member,
            other => panic!("{other:?}"),
        })
        .collect();
    members.sort();
    members
}

async fn execute(pool: &sqlx::PgPool, sql: &str, member: UserId) {
    sqlx::query(sql)
        .bind(member.as_uuid())
        .execute(pool)
        .await
        .unwrap();
}

async fn member(store: &Store, name: &str) -> UserId {
    let id = UserId::new();
    let new = NewUser {
        email: Email::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
        display_name: DisplayName::parse(name).unwrap(),
        handle: None,
        password_hash: None,
        role: UserRole::Member,
    };
    UserRepo::create_user(store, new).await.unwrap().id
}

#[tokio::test]
async fn profile_documents_follow_names_profiles_skills_and_removals() {
    let Some((db, search)) = postgres().await else {
        return;
    };
    let (store, pool) = (&db.store, pool(&db.store));
    let amara = member(store, "Amara Okafor").await;
    let kwame = member(store, "Kwame Mensah").await;
    assert_eq!(found(&search, "okafor ").await, [amara]);

    // Counters make empty profile rows; the document is unchanged and still found.
    let graph = GraphService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let request = graph.request(&caller(amara), kwame, None).await.unwrap();
    let accept = ConnectionAction::Accept;
    graph
        .act(&caller(kwame), request.connection.id, accept)
        .await
        .unwrap();
    assert_eq!(found(&search, "mensah ").await, [kwame]);

    // A profile change: its columns and skills are found, titles by their stems.
    let changes = ProfileChanges::parse(RawProfileChanges {
        company: Some(Some("Kijani Foods".into())),
        city: Some(Some("Nairobi".into())),
        skills: Some(vec!["cold chain".into(), "exporting".into()]),
        ..RawProfileChanges::default()
    })
    .unwrap();
    ProfileRepo::update_profile(store, amara, &changes)
        .await
        .unwrap();
    assert_eq!(found(&search, "kijani food ").await, [amara]);
    assert_eq!(found(&search, "nairobi export ").await, [amara]);

    // Skills replaced; a rename made by any writer.
    let changes = ProfileChanges::parse(RawProfileChanges {
        skills: Some(vec!["packaging".into()]),
        ..RawProfileChanges::default()
    })
    .unwrap();
    ProfileRepo::update_profile(store, amara, &changes)
        .await
        .unwrap();
    assert!(found(&search, "export ").await.is_empty());
    assert_eq!(found(&search, "packaging ").await, [amara]);
    execute(
        pool,
        "UPDATE users SET display_name = 'Amara Obi' WHERE id = $1",
        amara,
    )
    .await;
    assert!(found(&search, "okafor ").await.is_empty());
    assert_eq!(found(&search, "obi kijani ").await, [amara]);

    // Members added in one statement each get a document.
    sqlx::query(
        "INSERT INTO users (id, email, display_name, created_at, updated_at) \
         SELECT gen_random_uuid(), 'bulk' || n || '@example.com', 'Zanele Bulk', now(), now() \
         FROM generate_series(1, 3) n",
    )
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(found(&search, "zanele ").await.len(), 3);

    // A removed profile takes its text with it; a removed member their document.
    execute(
        pool,
        "DELETE FROM business_profiles WHERE user_id = $1",
        amara,
    )
    .await;
    assert!(found(&search, "kijani ").await.is_empty());
    assert_eq!(found(&search, "obi ").await, [amara]);
    execute(pool, "DELETE FROM users WHERE id = $1", amara).await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM profile_search WHERE user_id = $1")
        .bind(amara.as_uuid())
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// Two transactions change one member's name and company at once: the document written last
/// holds both (the second waits for the first and reads what it committed).
#[tokio::test]
async fn concurrent_changes_to_one_member_both_reach_the_document() {
    let Some((db, search)) = postgres().await else {
        return;
    };
    let (store, pool) = (&db.store, pool(&db.store));
    let amara = member(store, "Amara Okafor").await;
    execute(
        pool,
        "INSERT INTO business_profiles (user_id, created_at, updated_at) VALUES ($1, now(), now())",
        amara,
    )
    .await;

    let mut rename = pool.begin().await.unwrap();
    sqlx::query("UPDATE users SET display_name = 'Amara Obi' WHERE id = $1")
        .bind(amara.as_uuid())
        .execute(&mut *rename)
        .await
        .unwrap();
    let company = {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query(
                "UPDATE business_profiles SET company_name = 'Kijani Foods' WHERE user_id = $1",
            )
            .bind(amara.as_uuid())
            .execute(&pool)
            .await
            .unwrap();
        })
    };
    // The company's statement waits on the document the rename holds.
    let waiting = async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the second change waits for the first");
    rename.commit().await.unwrap();
    company.await.unwrap();

    assert_eq!(found(&search, "obi kijani ").await, [amara]);
    assert!(found(&search, "okafor ").await.is_empty());
}

fn caller(user_id: UserId) -> Caller {
    Caller {
        user_id,
        role: UserRole::Member,
    }
}
