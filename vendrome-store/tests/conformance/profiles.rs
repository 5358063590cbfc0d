//! The `ProfileRepo` port on both stores: empty profiles, changes and their event, and the
//! directory's filters, orders, cursor and relations to the viewer.

use std::sync::Arc;

use vendrome_core::enums::LookingFor;
use vendrome_core::graph::GraphService;
use vendrome_core::ids::UserId;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::profiles::{
    DirectoryFilter, DirectorySort, ProfileChanges, ProfileRepo as _, RawProfileChanges, Relation,
    Skill,
};
use vendrome_core::Error;
use vendrome_store::{Db, Store};

use crate::graph::{caller, connect, user};

conformance!(
    profiles_change_and_say_so,
    the_directory_filters_orders_and_relates
);

async fn execute(store: &Store, sql: &str) {
    match store.db() {
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
    }
    .unwrap();
}

/// Runs `sql` with the member's id as `$1`.
async fn execute_for(store: &Store, sql: &str, member: UserId) {
    match store.db() {
        Db::Postgres(pool) => sqlx::query(sql)
            .bind(member.as_uuid())
            .execute(pool)
            .await
            .map(drop),
        Db::Sqlite(pool) => sqlx::query(sql)
            .bind(member.as_uuid())
            .execute(pool)
            .await
            .map(drop),
    }
    .unwrap();
}

async fn count(store: &Store, sql: &str) -> i64 {
    match store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

fn text(value: &str) -> Option<Option<String>> {
    Some(Some(value.to_owned()))
}

fn changes(raw: RawProfileChanges) -> ProfileChanges {
    ProfileChanges::parse(raw).unwrap()
}

async fn profiles_change_and_say_so(store: Store) {
    let member = user(&store).await;
    let empty = store.profile(member).await.unwrap().unwrap();
    assert_eq!(
        (empty.card.company.as_deref(), empty.skills.len()),
        (None, 0)
    );
    assert_eq!(empty.completeness().missing.len(), 12);

    store
        .update_profile(
            member,
            &changes(RawProfileChanges {
                company: text("Kijani Foods"),
                job_title: text("Founder"),
                industry: text("agritech"),
                country_code: text("KE"),
                city: text("Nairobi"),
                skills: Some(vec!["Logistics".into(), "cold chain".into()]),
                looking_for: Some(vec![LookingFor::Talent, LookingFor::Investors]),
                ..RawProfileChanges::default()
            }),
        )
        .await
        .unwrap();
    let profile = store.profile(member).await.unwrap().unwrap();
    assert_eq!(profile.card.company.as_deref(), Some("Kijani Foods"));
    assert_eq!(profile.skills, ["cold chain", "logistics"]);
    assert_eq!(
        profile.looking_for,
        [LookingFor::Investors, LookingFor::Talent]
    );
    assert_eq!(profile.completeness().percent, 58);

    // A later change touches only what it names; null clears; lists are replaced.
    store
        .update_profile(
            member,
            &changes(RawProfileChanges {
                city: Some(None),
                skills: Some(vec!["export".into()]),
                ..RawProfileChanges::default()
            }),
        )
        .await
        .unwrap();
    let profile = store.profile(member).await.unwrap().unwrap();
    assert_eq!(profile.card.city, None);
    assert_eq!(profile.card.company.as_deref(), Some("Kijani Foods"));
    assert_eq!(profile.skills, ["export"]);
    assert_eq!(profile.looking_for.len(), 2);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'profile.updated'"
        )
        .await,
        2
    );
    assert!(matches!(
        store
            .update_profile(UserId::new(), &ProfileChanges::default())
            .await,
        Err(Error::NotFound { what: "user" })
    ));

    // Concurrent changes all land (on SQLite too, where a transaction that read first could not
    // then write).
    let writers = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .update_profile(
                    member,
                    &changes(RawProfileChanges {
                        about: text(&format!("version {n}")),
                        ..RawProfileChanges::default()
                    }),
                )
                .await
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.unwrap().unwrap();
    }

    execute(&store, "UPDATE users SET disabled_at = created_at").await;
    assert!(store.profile(member).await.unwrap().is_none());
}

async fn the_directory_filters_orders_and_relates(store: Store) {
    let graph = GraphService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let viewer = user(&store).await;
    let mut members = Vec::new();
    for (industry, country, city, skill) in [
        ("agritech", "KE", "Nairobi", "logistics"),
        ("agritech", "KE", "Mombasa", "export"),
        ("fintech", "NG", "Lagos", "payments"),
        ("agritech", "NG", "Lagos", "logistics"),
    ] {
        let member = user(&store).await;
        store
            .update_profile(
                member,
                &changes(RawProfileChanges {
                    industry: text(industry),
                    country_code: text(country),
                    city: text(city),
                    skills: Some(vec![skill.into()]),
                    ..RawProfileChanges::default()
                }),
            )
            .await
            .unwrap();
        members.push(member);
    }
    let [a, b, c, d] = members[..] else {
        unreachable!()
    };
    // The viewer is connected to a; asked b; c asked the viewer. a also knows d.
    connect(&graph, viewer, a).await;
    connect(&graph, d, a).await;
    graph.request(&caller(viewer), b, None).await.unwrap();
    graph.request(&caller(c), viewer, None).await.unwrap();
    execute_for(
        &store,
        "UPDATE users SET verification_level = 'business_verified' WHERE id = $1",
        d,
    )
    .await;

    let list = |filter: DirectoryFilter, after: Option<Cursor>, limit: u32| {
        let store = store.clone();
        async move {
            store
                .directory(
                    &filter,
                    Some(viewer),
                    after.as_ref(),
                    Limit::parse(limit).unwrap(),
                )
                .await
                .unwrap()
        }
    };
    let ids = |page: &vendrome_core::page::Page<vendrome_core::profiles::DirectoryEntry>| {
        page.items
            .iter()
            .map(|e| e.card.user.id)
            .collect::<Vec<_>>()
    };
    let everyone = list(DirectoryFilter::default(), None, 10).await;
    assert_eq!(ids(&everyone), [d, c, b, a, viewer], "newest first");
    let relations: Vec<Relation> = everyone.items.iter().map(|e| e.relation).collect();
    assert_eq!(
        relations,
        [
            Relation::None,
            Relation::RequestReceived,
            Relation::RequestSent,
            Relation::Connected,
            Relation::Myself
        ]
    );

    let agritech = DirectoryFilter {
        industry: Some("agritech".into()),
        ..DirectoryFilter::default()
    };
    assert_eq!(ids(&list(agritech.clone(), None, 10).await), [d, b, a]);
    let in_lagos = DirectoryFilter {
        country_code: Some("NG".into()),
        city: Some("LAGOS".into()),
        skill: Some(Skill::parse("Logistics").unwrap()),
        ..DirectoryFilter::default()
    };
    assert_eq!(ids(&list(in_lagos, None, 10).await), [d]);
    let verified = DirectoryFilter {
        min_verification: Some(vendrome_core::enums::VerificationLevel::IdentityVerified),
        ..DirectoryFilter::default()
    };
    assert_eq!(ids(&list(verified, None, 10).await), [d]);

    // Most connected first (a has two), then the rest by id; walked two at a time.
    let connected = DirectoryFilter {
        sort: DirectorySort::MostConnected,
        ..agritech
    };
    let first = list(connected.clone(), None, 2).await;
    assert_eq!(first.items[0].card.user.id, a);
    assert_eq!(first.items[0].card.connections, 2);
    let cursor = first.next_cursor.clone().unwrap();
    let second = list(connected, Some(cursor), 2).await;
    assert_eq!(second.items.len(), 1);
    assert!(second.next_cursor.is_none());
    let mut seen = ids(&first);
    seen.extend(ids(&second));
    seen.sort();
    let mut expected = vec![a, b, d];
    expected.sort();
    assert_eq!(seen, expected, "every member once across pages");

    // Disabled members leave the directory.
    execute_for(
        &store,
        "UPDATE users SET disabled_at = created_at WHERE id = $1",
        d,
    )
    .await;
    assert_eq!(
        ids(&list(DirectoryFilter::default(), None, 10).await).len(),
        4
    );
}
