//! `GET /v1/search` over HTTP. One set of tests, run on every query path: the embedded index on
//! SQLite and on PostgreSQL, and PostgreSQL full-text search.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

/// Runs a test body on each search path.
macro_rules! search_paths {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded_sqlite() {
                    super::$name(crate::support::Backend::Sqlite, false).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded_postgres() {
                    super::$name(crate::support::Backend::Postgres, false).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_fulltext() {
                    super::$name(crate::support::Backend::Postgres, true).await;
                }
            }
        )*
    };
}

search_paths!(
    words_typos_prefixes_stems_and_synonyms,
    filters_and_kinds,
    connections_only_posts_stay_with_connections,
    deleted_posts_and_disabled_members_leave,
    pages_cover_every_result_once,
    engagement_ranks_equal_matches,
    exact_matches_rank_before_typos_across_pages,
    profile_hits_show_each_viewers_relation_and_fresh_cards,
);

#[tokio::test]
async fn before_the_index_is_built_search_says_so() {
    let app = crate::support::spawn_app().await;
    // No indexer has run yet: the embedded index has no generation.
    expect_error(
        app.get("/v1/search?q=anything").send().await.unwrap(),
        503,
        "search_unavailable",
    )
    .await;
    app.sync_search().await;
    assert!(found(&app, None, "q=anything").await.is_empty());
}

async fn app(backend: Backend, fulltext: bool) -> Option<TestApp> {
    spawn_with(Setup {
        fulltext,
        ..Setup::new(backend)
    })
    .await
}

async fn publish(app: &TestApp, token: &str, post: Value) -> String {
    let created = expect_status(app.post("/v1/posts").bearer_auth(token).json(&post), 201).await;
    created["data"]["id"].as_str().unwrap().to_owned()
}

async fn text(app: &TestApp, token: &str, body: &str) -> String {
    publish(app, token, json!({ "type": "text", "body": body })).await
}

/// The ids found (posts, profiles or topic slugs), best first.
async fn found(app: &TestApp, token: Option<&str>, query: &str) -> Vec<String> {
    let mut request = app.get(&format!("/v1/search?{query}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body = succeed(request).await;
    ids(&body)
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r["kind"].as_str().unwrap() {
            "post" => r["post"]["id"].as_str().unwrap().to_owned(),
            "profile" => r["profile"]["user"]["id"].as_str().unwrap().to_owned(),
            _ => r["topic"]["slug"].as_str().unwrap().to_owned(),
        })
        .collect()
}

async fn words_typos_prefixes_stems_and_synonyms(backend: Backend, fulltext: bool) {
    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let author = app.token(UserRole::Member).await;
    let solar = text(
        &app,
        &author,
        "Solar panels for rural clinics, installed in a day",
    )
    .await;
    let workshop = text(&app, &author, "Investment readiness workshop for founders").await;
    let cold = text(&app, &author, "Cold chain logistics across the region").await;
    let cofounder = text(&app, &author, "Looking for a technical cofounder").await;
    app.sync_search().await;

    assert_eq!(found(&app, None, "q=solar").await, [solar.as_str()]);
    // Stems: "clinic" finds "clinics"; every word must match somewhere.
    assert_eq!(
        found(&app, None, "q=rural%20clinic").await,
        [solar.as_str()]
    );
    assert!(found(&app, None, "q=solar%20logistics%20").await.is_empty());
    // Typos: two edits in a long word, one in a medium one; none in short words.
    assert_eq!(found(&app, None, "q=investmnt").await, [workshop.as_str()]);
    assert_eq!(
        found(&app, None, "q=readines%20").await,
        [workshop.as_str()]
    );
    assert!(found(&app, None, "q=sola%20").await.is_empty());
    // The last word is a prefix while typing.
    assert_eq!(found(&app, None, "q=logis").await, [cold.as_str()]);
    assert_eq!(found(&app, None, "q=cold%20cha").await, [cold.as_str()]);
    // Synonyms: a founder search finds a cofounder.
    let founders = found(&app, None, "q=founder%20").await;
    assert!(
        founders.contains(&cofounder) && founders.contains(&workshop),
        "{founders:?}"
    );
    assert!(found(&app, None, "q=zzzzqqq").await.is_empty());

    let body = succeed(app.get("/v1/search?q=panel")).await;
    let highlight = &body["data"][0]["highlight"];
    assert_eq!(highlight["field"], "body");
    let hits: Vec<&str> = highlight["fragments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["hit"] == true)
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(hits, ["panels"]);
    assert_eq!(
        body["data"][0]["post"]["body"],
        "Solar panels for rural clinics, installed in a day"
    );

    for (query, field) in [
        ("", "q"),
        ("q=", "q"),
        ("q=solar&kind=people", "kind"),
        ("q=solar&cursor=nope", "cursor"),
        ("q=solar&limit=0", "limit"),
    ] {
        let error = expect_error(
            app.get(&format!("/v1/search?{query}"))
                .send()
                .await
                .unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert!(
            error["error"]["details"]["fields"][field].is_array(),
            "{query}: {error}"
        );
    }
    let long = "a".repeat(201);
    expect_error(
        app.get(&format!("/v1/search?q={long}"))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
}

async fn filters_and_kinds(backend: Backend, fulltext: bool) {
    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let (farmer_id, farmer) = app.user(UserRole::Member).await;
    let (trader_id, trader) = app.user(UserRole::Member).await;
    for (token, profile) in [
        (
            &farmer,
            json!({ "company": "Green Harvest", "industry": "agritech", "country_code": "KE", "city": "Nairobi", "skills": ["irrigation"] }),
        ),
        (
            &trader,
            json!({ "company": "Harvest Traders", "industry": "logistics", "country_code": "NG", "city": "Lagos", "skills": ["export"] }),
        ),
    ] {
        succeed(
            app.patch("/v1/me/profile")
                .bearer_auth(token)
                .json(&profile),
        )
        .await;
    }
    let product = publish(
        &app,
        &farmer,
        json!({ "type": "product", "body": "Harvest crates for sale", "topics": ["farming"],
        "payload": { "title": "Harvest crates", "price_minor": 1500, "currency": "KES" } }),
    )
    .await;
    let note = publish(
        &app,
        &trader,
        json!({ "type": "text", "body": "Harvest season update", "topics": ["trade"] }),
    )
    .await;
    app.sync_search().await;

    let all = found(&app, None, "q=harvest").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        found(&app, None, "q=harvest&type=product").await,
        [product.as_str()]
    );
    assert_eq!(
        found(&app, None, "q=harvest&topic=trade").await,
        [note.as_str()]
    );
    assert!(
        found(&app, None, "q=harvest&verification=identity_verified")
            .await
            .is_empty()
    );

    let people = found(&app, None, "q=harvest&kind=profiles").await;
    assert_eq!(people.len(), 2, "{people:?}");
    assert_eq!(
        found(&app, None, "q=harvest&kind=profiles&country=ke").await,
        [farmer_id.to_string()]
    );
    assert_eq!(
        found(&app, None, "q=harvest&kind=profiles&industry=logistics").await,
        [trader_id.to_string()]
    );
    assert_eq!(
        found(
            &app,
            None,
            "q=harvest&kind=profiles&city=LAGOS&skill=export"
        )
        .await,
        [trader_id.to_string()]
    );
    // The directory orders a search by relevance, with its own filters.
    let directory = succeed(app.get("/v1/profiles?q=green%20harvest")).await;
    assert_eq!(
        directory["data"][0]["user"]["id"],
        json!(farmer_id.to_string())
    );
    expect_error(
        app.get("/v1/profiles?sort=relevance").send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    expect_error(
        app.get("/v1/profiles?q=harvest&sort=newest")
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;

    assert_eq!(found(&app, None, "q=farm&kind=topics").await, ["farming"]);
}

async fn connections_only_posts_stay_with_connections(backend: Backend, fulltext: bool) {
    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let (author_id, author) = app.user(UserRole::Member).await;
    let (friend_id, friend) = app.user(UserRole::Member).await;
    let stranger = app.token(UserRole::Member).await;
    app.connect(&author, friend_id, &friend).await;
    let private = publish(&app, &author, json!({ "type": "text", "body": "Quarterly numbers for my network", "visibility": "connections" })).await;
    let public = text(&app, &author, "Quarterly numbers for everyone").await;
    app.sync_search().await;

    assert_eq!(found(&app, None, "q=quarterly").await, [public.as_str()]);
    assert_eq!(
        found(&app, Some(&stranger), "q=quarterly").await,
        [public.as_str()]
    );
    for viewer in [&friend, &author] {
        let mut seen = found(&app, Some(viewer), "q=quarterly").await;
        seen.sort();
        let mut both = vec![private.clone(), public.clone()];
        both.sort();
        assert_eq!(seen, both);
    }
    let _ = author_id;
}

async fn deleted_posts_and_disabled_members_leave(backend: Backend, fulltext: bool) {
    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let admin = app.token(UserRole::Admin).await;
    let (author_id, author) = app.user(UserRole::Member).await;
    succeed(
        app.patch("/v1/me/profile")
            .bearer_auth(&author)
            .json(&json!({ "company": "Zebra Mills" })),
    )
    .await;
    let kept = text(&app, &author, "Zebra mill tour on Friday").await;
    let gone = text(&app, &author, "Zebra mill open day cancelled").await;
    app.sync_search().await;
    assert_eq!(found(&app, None, "q=zebra").await.len(), 2);

    expect_status(
        app.delete(&format!("/v1/posts/{gone}"))
            .bearer_auth(&author),
        200,
    )
    .await;
    app.sync_search().await;
    assert_eq!(found(&app, None, "q=zebra").await, [kept.as_str()]);
    assert_eq!(
        found(&app, None, "q=zebra&kind=profiles").await,
        [author_id.to_string()]
    );

    succeed(
        app.put(&format!("/v1/admin/users/{author_id}/disabled"))
            .bearer_auth(&admin)
            .json(&json!({ "disabled": true })),
    )
    .await;
    app.sync_search().await;
    assert!(found(&app, None, "q=zebra").await.is_empty());
    assert!(found(&app, None, "q=zebra&kind=profiles").await.is_empty());
    if let Some((index, _)) = &app.state.search_index {
        // Gone from the index itself, not only filtered out on the way.
        let generation = index.generation().unwrap();
        let query = vendrome_core::search::SearchQuery {
            terms: vendrome_core::search::analysis::parse_query("zebra "),
            kind: vendrome_core::search::SearchKind::Posts,
            filters: Default::default(),
            audience: vendrome_core::search::Audience::Public,
            offset: 0,
            limit: 10,
            now: vendrome_core::time::now(),
        };
        assert!(generation.search(&query).unwrap().is_empty());
    }
}

async fn pages_cover_every_result_once(backend: Backend, fulltext: bool) {
    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let author = app.token(UserRole::Member).await;
    let mut made = Vec::new();
    for n in 0..23 {
        made.push(text(&app, &author, &format!("Greenhouse diary, day {n}")).await);
    }
    app.sync_search().await;
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/v1/search?q=greenhouse&limit=10".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let body = succeed(app.get(&path)).await;
        seen.extend(ids(&body));
        pages += 1;
        match body["meta"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    made.sort();
    assert_eq!(seen, made, "every result once");
}

async fn engagement_ranks_equal_matches(backend: Backend, fulltext: bool) {
    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let author = app.token(UserRole::Member).await;
    let quiet = text(&app, &author, "Drip irrigation kits").await;
    let liked = text(&app, &author, "Drip irrigation kits").await;
    for _ in 0..3 {
        let fan = app.token(UserRole::Member).await;
        succeed(
            app.put(&format!("/v1/posts/{liked}/reaction"))
                .bearer_auth(&fan)
                .json(&json!({ "kind": "like" })),
        )
        .await;
    }
    app.sync_search().await;
    assert_eq!(found(&app, None, "q=irrigation").await, [liked, quiet]);
}

async fn exact_matches_rank_before_typos_across_pages(backend: Backend, fulltext: bool) {
    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let author = app.token(UserRole::Member).await;
    // The misspelt one is newer and more engaged: still, the exact match comes first.
    let exact = text(&app, &author, "Warehouse for rent").await;
    let misspelt = text(&app, &author, "Warehuose for rent near the port").await;
    let fan = app.token(UserRole::Member).await;
    succeed(
        app.put(&format!("/v1/posts/{misspelt}/reaction"))
            .bearer_auth(&fan)
            .json(&json!({ "kind": "like" })),
    )
    .await;
    app.sync_search().await;
    assert_eq!(
        found(&app, None, "q=warehouse%20").await,
        [exact.as_str(), misspelt.as_str()]
    );
    let first = succeed(app.get("/v1/search?q=warehouse%20&limit=1")).await;
    assert_eq!(ids(&first), [exact.as_str()]);
    let cursor = first["meta"]["next_cursor"].as_str().unwrap();
    let second = succeed(app.get(&format!(
        "/v1/search?q=warehouse%20&limit=1&cursor={cursor}"
    )))
    .await;
    assert_eq!(ids(&second), [misspelt.as_str()]);
    assert!(second["meta"]["next_cursor"].is_null());
}

/// The profiles a search of `company` finds, as (company, connections, relation) by member id.
async fn profile_hits(
    app: &TestApp,
    token: &str,
    company: &str,
) -> std::collections::HashMap<String, (String, i64, String)> {
    let body = succeed(
        app.get(&format!("/v1/search?q={company}%20&kind=profiles"))
            .bearer_auth(token),
    )
    .await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let p = &r["profile"];
            (
                p["user"]["id"].as_str().unwrap().to_owned(),
                (
                    p["company"].as_str().unwrap_or_default().to_owned(),
                    p["connections"].as_i64().unwrap(),
                    p["connection"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

/// Profile hits are read through the server's cache when it has one: each viewer still sees
/// their own relation to every member found, and a card changed through this instance or
/// elsewhere shows changed.
async fn profile_hits_show_each_viewers_relation_and_fresh_cards(backend: Backend, fulltext: bool) {
    use vendrome_core::profiles::{ProfileChanges, ProfileRepo as _};

    let Some(app) = app(backend, fulltext).await else {
        return;
    };
    let (asker_id, asker) = app.user(UserRole::Member).await;
    let (asked_id, asked) = app.user(UserRole::Member).await;
    for token in [&asker, &asked] {
        succeed(
            app.patch("/v1/me/profile")
                .bearer_auth(token)
                .json(&json!({ "company": "Quillfeather" })),
        )
        .await;
    }
    app.sync_search().await;
    let (asker_id, asked_id) = (asker_id.to_string(), asked_id.to_string());
    let relation = |hits: &std::collections::HashMap<String, (String, i64, String)>, id: &str| {
        hits[id].2.clone()
    };

    let hits = profile_hits(&app, &asker, "quillfeather").await;
    assert_eq!(relation(&hits, &asker_id), "self");
    assert_eq!(relation(&hits, &asked_id), "none");

    let request = succeed(
        app.post("/v1/connections")
            .bearer_auth(&asker)
            .json(&json!({ "user_id": asked_id })),
    )
    .await;
    let hits = profile_hits(&app, &asker, "quillfeather").await;
    assert_eq!(relation(&hits, &asked_id), "request_sent");
    let hits = profile_hits(&app, &asked, "quillfeather").await;
    assert_eq!(relation(&hits, &asker_id), "request_received");
    assert_eq!(relation(&hits, &asked_id), "self");

    let id = request["data"]["id"].as_str().unwrap();
    succeed(
        app.post(&format!("/v1/connections/{id}/accept"))
            .bearer_auth(&asked),
    )
    .await;
    let hits = profile_hits(&app, &asker, "quillfeather").await;
    assert_eq!(hits[&asked_id].1, 1, "the connection count: {hits:?}");
    assert_eq!(relation(&hits, &asked_id), "connected");

    // Changed elsewhere (another instance): shown once the outbox has been applied.
    let changes = ProfileChanges {
        company: Some(Some("Quillfeather Holdings".to_owned())),
        ..ProfileChanges::default()
    };
    app.db
        .store
        .update_profile(asked_id.parse().unwrap(), &changes)
        .await
        .unwrap();
    app.sync_search().await;
    app.state.home_cache.pass().await.unwrap();
    let hits = profile_hits(&app, &asker, "quillfeather").await;
    assert_eq!(hits[&asked_id].0, "Quillfeather Holdings");
    assert_eq!(hits[&asker_id].0, "Quillfeather");
}
