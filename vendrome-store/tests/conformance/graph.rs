use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::enums::{ConnectionStatus, UserRole};
use vendrome_core::graph::{ConnectionAction, GraphRepo, GraphService, NewConnection};
use vendrome_core::ids::UserId;
use vendrome_core::page::Limit;
use vendrome_core::users::UserRepo;
use vendrome_core::Error;
use vendrome_store::{Db, Store};

use crate::users::new_user;

conformance!(
    connection_lifecycle_counts_and_events,
    one_open_connection_per_pair_under_concurrency,
    follow_counters_are_exact_under_concurrency,
    topic_follow_counters_are_exact_under_concurrency,
    a_block_ends_everything_between_two_with_exact_counters,
    suggestions_rank_mutual_connections
);

/// A new member with a unique address (shared by the messaging tests).
pub async fn user(store: &Store) -> UserId {
    let id = UserId::new();
    let email = format!("{}@example.com", id.as_uuid().simple());
    store.create_user(new_user(&email)).await.unwrap().id
}

pub fn caller(user_id: UserId) -> Caller {
    Caller {
        user_id,
        role: UserRole::Member,
    }
}

async fn events(store: &Store, kind: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM outbox_events WHERE event_type = $1";
    match store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(kind).fetch_one(pool).await,
        Db::Sqlite(pool) => sqlx::query_scalar(sql).bind(kind).fetch_one(pool).await,
    }
    .unwrap()
}

pub async fn connect(service: &GraphService, a: UserId, b: UserId) {
    let id = service
        .request(&caller(a), b, None)
        .await
        .unwrap()
        .connection
        .id;
    service
        .act(&caller(b), id, ConnectionAction::Accept)
        .await
        .unwrap();
}

async fn connection_lifecycle_counts_and_events(store: Store) {
    let service = GraphService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let (a, b, stranger) = (user(&store).await, user(&store).await, user(&store).await);

    let requested = service.request(&caller(a), b, None).await.unwrap();
    assert!(requested.created);
    let id = requested.connection.id;
    assert!(matches!(
        service.request(&caller(a), b, None).await,
        Err(Error::Conflict {
            code: "connection_exists",
            ..
        })
    ));
    assert!(matches!(
        store
            .create_connection(NewConnection {
                requester_id: b,
                addressee_id: a,
                note: None
            })
            .await,
        Err(Error::Conflict {
            code: "connection_exists",
            ..
        })
    ));
    assert!(matches!(
        service
            .act(&caller(stranger), id, ConnectionAction::Accept)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        service.act(&caller(a), id, ConnectionAction::Accept).await,
        Err(Error::Conflict {
            code: "invalid_transition",
            ..
        })
    ));

    // B asking A while A's request is pending accepts it.
    let crossed = service.request(&caller(b), a, None).await.unwrap();
    assert!(!crossed.created);
    assert_eq!(crossed.connection.status, ConnectionStatus::Accepted);
    assert_eq!(store.graph_counts(a).await.unwrap().connections, 1);
    assert_eq!(store.graph_counts(b).await.unwrap().connections, 1);

    let removed = service
        .act(&caller(b), id, ConnectionAction::Remove)
        .await
        .unwrap();
    assert_eq!(removed.status, ConnectionStatus::Removed);
    assert_eq!(store.graph_counts(a).await.unwrap().connections, 0);

    // A fresh request after removal is a new row; withdraw and decline end it.
    let again = service
        .request(&caller(a), b, None)
        .await
        .unwrap()
        .connection;
    service
        .act(&caller(a), again.id, ConnectionAction::Withdraw)
        .await
        .unwrap();
    let third = service
        .request(&caller(b), a, None)
        .await
        .unwrap()
        .connection;
    service
        .act(&caller(a), third.id, ConnectionAction::Decline)
        .await
        .unwrap();

    assert_eq!(events(&store, "connection.requested").await, 3);
    assert_eq!(events(&store, "connection.accepted").await, 1);
    assert_eq!(events(&store, "connection.removed").await, 1);
    assert_eq!(events(&store, "connection.withdrawn").await, 1);
    assert_eq!(events(&store, "connection.declined").await, 1);
}

async fn one_open_connection_per_pair_under_concurrency(store: Store) {
    let (a, b) = (user(&store).await, user(&store).await);
    let attempts = (0..10).map(|i| {
        let store = store.clone();
        let (requester_id, addressee_id) = if i % 2 == 0 { (a, b) } else { (b, a) };
        tokio::spawn(async move {
            store
                .create_connection(NewConnection {
                    requester_id,
                    addressee_id,
                    note: None,
                })
                .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let won = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(won, 1);
    for result in results {
        if let Err(e) = result.unwrap() {
            assert!(
                matches!(
                    e,
                    Error::Conflict {
                        code: "connection_exists",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }
}

async fn follow_counters_are_exact_under_concurrency(store: Store) {
    let star = user(&store).await;
    let mut fans = Vec::new();
    for _ in 0..30 {
        fans.push(user(&store).await);
    }
    let run = |follow: bool| {
        futures::future::join_all(fans.iter().map(|&fan| {
            let store = store.clone();
            tokio::spawn(async move {
                if follow {
                    store.follow(fan, star).await
                } else {
                    store.unfollow(fan, star).await
                }
            })
        }))
    };
    for r in run(true).await {
        assert!(r.unwrap().unwrap());
    }
    assert!(
        !store.follow(fans[0], star).await.unwrap(),
        "following twice changes nothing"
    );
    assert_eq!(store.graph_counts(star).await.unwrap().followers, 30);
    assert_eq!(store.graph_counts(fans[0]).await.unwrap().following, 1);
    let page = store
        .followers(star, None, Limit::parse(20).unwrap())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 20);
    let rest = store
        .followers(star, page.next_cursor.as_ref(), Limit::parse(20).unwrap())
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 10);
    assert!(rest.next_cursor.is_none());

    for r in run(false).await {
        assert!(r.unwrap().unwrap());
    }
    assert!(!store.unfollow(fans[0], star).await.unwrap());
    assert_eq!(store.graph_counts(star).await.unwrap().followers, 0);
    assert_eq!(events(&store, "user.followed").await, 30);
    assert_eq!(events(&store, "user.unfollowed").await, 30);
}

async fn suggestions_rank_mutual_connections(store: Store) {
    let service = GraphService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(user(&store).await);
    }
    let (me, b, c, d, e, pending) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
    connect(&service, me, b).await;
    connect(&service, me, d).await;
    connect(&service, b, c).await;
    connect(&service, d, c).await;
    connect(&service, b, e).await;
    connect(&service, b, pending).await;
    service.request(&caller(me), pending, None).await.unwrap();

    let page = store
        .suggestions(me, None, Limit::parse(1).unwrap())
        .await
        .unwrap();
    assert_eq!(page.items[0].user.id, c);
    assert_eq!(page.items[0].mutual_connections, 2);
    let rest = store
        .suggestions(me, page.next_cursor.as_ref(), Limit::DEFAULT)
        .await
        .unwrap();
    let rest: Vec<UserId> = rest.items.iter().map(|s| s.user.id).collect();
    assert_eq!(
        rest,
        vec![e],
        "connections, pending requests and oneself are excluded"
    );
}

async fn topic_follow_counters_are_exact_under_concurrency(store: Store) {
    use vendrome_core::enums::PostVisibility;
    use vendrome_core::posts::{PostRepo as _, TopicSlug};

    let author = user(&store).await;
    // Topics come to be with the first post that names them (`fintech` here).
    store
        .create_post(crate::posts::new_post(
            author,
            crate::posts::payloads()[0].clone(),
            PostVisibility::Public,
        ))
        .await
        .unwrap();
    let slug = TopicSlug::parse("fintech").unwrap();
    let topic = store.topic_by_slug(&slug).await.unwrap().unwrap();
    assert_eq!(topic.post_count, 1);
    let mut fans = Vec::new();
    for _ in 0..30 {
        fans.push(user(&store).await);
    }
    let run = |follow: bool| {
        futures::future::join_all(fans.iter().map(|&fan| {
            let store = store.clone();
            let topic = topic.clone();
            tokio::spawn(async move {
                if follow {
                    store.follow_topic(fan, &topic).await
                } else {
                    store.unfollow_topic(fan, &topic).await
                }
            })
        }))
    };
    let rows = |store: Store| async move {
        let sql = "SELECT COUNT(*) FROM user_topic_follows";
        match store.db() {
            Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .unwrap(),
            Db::Sqlite(pool) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    };
    for r in run(true).await {
        assert!(r.unwrap().unwrap());
    }
    assert!(!store.follow_topic(fans[0], &topic).await.unwrap());
    let now = store.topic_by_slug(&slug).await.unwrap().unwrap();
    assert_eq!(now.follower_count, 30);
    assert_eq!(rows(store.clone()).await, 30);
    // Half leave while the other half follow again (a no-op): the count follows the rows.
    let (leave, stay) = fans.split_at(15);
    let leaving = futures::future::join_all(leave.iter().map(|&fan| {
        let store = store.clone();
        let topic = topic.clone();
        tokio::spawn(async move { store.unfollow_topic(fan, &topic).await })
    }));
    let staying = futures::future::join_all(stay.iter().map(|&fan| {
        let store = store.clone();
        let topic = topic.clone();
        tokio::spawn(async move { store.follow_topic(fan, &topic).await })
    }));
    let (left, stayed) = tokio::join!(leaving, staying);
    assert!(left.into_iter().all(|r| r.unwrap().unwrap()));
    assert!(stayed.into_iter().all(|r| !r.unwrap().unwrap()));
    let now = store.topic_by_slug(&slug).await.unwrap().unwrap();
    assert_eq!(now.follower_count, 15);
    assert_eq!(rows(store.clone()).await, 15);
    for r in run(false).await {
        r.unwrap().unwrap();
    }
    let now = store.topic_by_slug(&slug).await.unwrap().unwrap();
    assert_eq!(now.follower_count, 0);
    assert_eq!(rows(store.clone()).await, 0);
}

async fn a_block_ends_everything_between_two_with_exact_counters(store: Store) {
    use vendrome_core::graph::blocks::BlockRepo as _;

    let service = GraphService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let (a, b, c) = (user(&store).await, user(&store).await, user(&store).await);
    connect(&service, a, b).await;
    store.follow(a, b).await.unwrap();
    store.follow(b, a).await.unwrap();
    // A pending request from a to c, whom c answers with a block below.
    service.request(&caller(a), c, None).await.unwrap();

    assert!(store.block(a, b).await.unwrap());
    assert!(
        !store.block(a, b).await.unwrap(),
        "blocking twice changes nothing"
    );
    assert!(
        store.is_blocked(b, a).await.unwrap(),
        "a block counts both ways"
    );
    for who in [a, b] {
        let counts = store.graph_counts(who).await.unwrap();
        assert_eq!(
            (counts.followers, counts.following, counts.connections),
            (0, 0, 0)
        );
    }
    assert!(store.open_connection(a, b).await.unwrap().is_none());

    assert!(store.block(c, a).await.unwrap());
    let pending = store.open_connection(a, c).await.unwrap();
    assert!(pending.is_none(), "the pending request was cancelled");
    let sql = "SELECT status FROM connections WHERE requester_id = $1 AND addressee_id = $2";
    let status: String = match store.db() {
        Db::Postgres(pool) => {
            sqlx::query_scalar(&format!("SELECT CAST(status AS TEXT) FROM ({sql}) s"))
                .bind(a.as_uuid())
                .bind(c.as_uuid())
                .fetch_one(pool)
                .await
                .unwrap()
        }
        Db::Sqlite(pool) => sqlx::query_scalar(sql)
            .bind(a.as_uuid())
            .bind(c.as_uuid())
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    assert_eq!(status, "declined", "refused by the one who blocked");

    let page = store
        .blocks(a, None, Limit::parse(10).unwrap())
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|e| e.user.id).collect::<Vec<_>>(),
        [b]
    );
    assert!(store.unblock(a, b).await.unwrap());
    assert!(!store.unblock(a, b).await.unwrap());
    assert!(!store.is_blocked(a, b).await.unwrap());
    assert_eq!(events(&store, "user.blocked").await, 2);
    assert_eq!(events(&store, "user.unblocked").await, 1);
    let cursor = vendrome_core::page::Cursor::from_string("garbage".into());
    assert!(matches!(
        store
            .blocks(a, Some(&cursor), Limit::parse(10).unwrap())
            .await,
        Err(Error::Invalid(_))
    ));
}
