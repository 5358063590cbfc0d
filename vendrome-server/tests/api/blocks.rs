//! Blocks over HTTP: what a block ends, what it forbids, what it hides, and lifting it.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::events::DomainEvent;
use vendrome_core::outbox::OutboxRepo as _;

use crate::support::{expect_error, json, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    a_block_ends_forbids_and_hides,
    blocks_are_listed_and_validated
);

async fn counts(app: &TestApp, token: &str, user: impl std::fmt::Display) -> Value {
    // Following oneself is refused, so read the counters from a follow answer instead: the
    // follower list's length is the truth the counters must match.
    let (_, body) = json(
        app.get(&format!("/v1/users/{user}/followers?limit=100"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    body["data"].clone()
}

async fn a_block_ends_forbids_and_hides(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (me_id, me) = app.user(UserRole::Member).await;
    let (them_id, them) = app.user(UserRole::Member).await;

    // Connected, and following each other.
    let body = succeed(
        app.post("/v1/connections")
            .bearer_auth(&me)
            .json(&json!({ "user_id": them_id })),
    )
    .await;
    let connection = body["data"]["id"].as_str().unwrap().to_owned();
    succeed(
        app.post(&format!("/v1/connections/{connection}/accept"))
            .bearer_auth(&them),
    )
    .await;
    let followed = succeed(
        app.put(&format!("/v1/users/{them_id}/follow"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(followed["data"]["follower_count"], 1, "{followed}");
    succeed(
        app.put(&format!("/v1/users/{me_id}/follow"))
            .bearer_auth(&them),
    )
    .await;
    let post = succeed(
        app.post("/v1/posts")
            .bearer_auth(&them)
            .json(&json!({ "body": "For my connections", "visibility": "connections" })),
    )
    .await;
    let post_id = post["data"]["id"].as_str().unwrap().to_owned();
    let public = succeed(
        app.post("/v1/posts")
            .bearer_auth(&them)
            .json(&json!({ "body": "For everyone" })),
    )
    .await;
    let public_id = public["data"]["id"].as_str().unwrap().to_owned();

    let blocked = succeed(
        app.put(&format!("/v1/users/{them_id}/block"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(
        blocked["data"],
        json!({ "user_id": them_id, "blocked": true })
    );
    // Twice changes nothing.
    succeed(
        app.put(&format!("/v1/users/{them_id}/block"))
            .bearer_auth(&me),
    )
    .await;

    // Everything between them has ended, counters with it.
    assert_eq!(counts(&app, &me, them_id).await, json!([]));
    assert_eq!(counts(&app, &them, me_id).await, json!([]));
    let (_, mine) = json(
        app.get("/v1/me/connections?status=accepted")
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mine["data"], json!([]));

    // Neither may follow or ask to connect; the blocked one is told no more than `blocked`.
    for (token, other) in [(&me, them_id), (&them, me_id)] {
        let follow = app
            .put(&format!("/v1/users/{other}/follow"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        expect_error(follow, 403, "blocked").await;
        let connect = app
            .post("/v1/connections")
            .bearer_auth(token)
            .json(&json!({ "user_id": other }))
            .send()
            .await
            .unwrap();
        expect_error(connect, 403, "blocked").await;
    }

    // Their posts are gone from every read, both ways.
    let lookup = app
        .get(&format!("/v1/posts/{public_id}"))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    expect_error(lookup, 404, "not_found").await;
    for path in [
        format!("/v1/users/{them_id}/posts"),
        "/v1/posts".to_owned(),
        "/v1/feed".to_owned(),
    ] {
        let (status, body) = json(app.get(&path).bearer_auth(&me).send().await.unwrap()).await;
        assert_eq!(status, 200, "{path}: {body}");
        let ids: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["post"]["id"].as_str().unwrap())
            .collect();
        assert!(
            !ids.contains(&public_id.as_str()) && !ids.contains(&post_id.as_str()),
            "{path}"
        );
    }

    // The event says what the block ended.
    let events = app
        .state
        .store
        .claim("test", 1000, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let blocked = events
        .iter()
        .find_map(|e| match &e.event {
            Ok(DomainEvent::UserBlocked(blocked)) => Some(blocked),
            _ => None,
        })
        .expect("a user.blocked event");
    assert_eq!(blocked.follows_ended, 2);
    assert!(blocked.connection_ended);

    // Unblocked: following works again, nothing came back by itself, public posts show again.
    let lifted = succeed(
        app.delete(&format!("/v1/users/{them_id}/block"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(lifted["data"]["blocked"], false);
    succeed(
        app.delete(&format!("/v1/users/{them_id}/block"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(counts(&app, &me, them_id).await, json!([]));
    succeed(
        app.put(&format!("/v1/users/{them_id}/follow"))
            .bearer_auth(&me),
    )
    .await;
    let (status, _) = json(
        app.get(&format!("/v1/posts/{public_id}"))
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let hidden = app
        .get(&format!("/v1/posts/{post_id}"))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    expect_error(hidden, 404, "not_found").await;
}

async fn blocks_are_listed_and_validated(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (me_id, me) = app.user(UserRole::Member).await;
    let mut blocked = Vec::new();
    for _ in 0..3 {
        let (id, _) = app.user(UserRole::Member).await;
        succeed(app.put(&format!("/v1/users/{id}/block")).bearer_auth(&me)).await;
        blocked.push(id.to_string());
    }
    blocked.reverse();
    let mut seen = Vec::new();
    let mut path = "/v1/me/blocks?limit=2".to_owned();
    loop {
        let body = succeed(app.get(&path).bearer_auth(&me)).await;
        for item in body["data"].as_array().unwrap() {
            seen.push(item["user"]["id"].as_str().unwrap().to_owned());
        }
        match body["meta"]["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/me/blocks?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, blocked);

    let myself = app
        .put(&format!("/v1/users/{me_id}/block"))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    let body = expect_error(myself, 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"]["id"][0]["code"],
        "self_block"
    );
    let unknown = app
        .put(&format!("/v1/users/{}/block", uuid::Uuid::now_v7()))
        .bearer_auth(&me)
        .send()
        .await
        .unwrap();
    expect_error(unknown, 404, "not_found").await;
    let anonymous = app
        .put(&format!("/v1/users/{me_id}/block"))
        .send()
        .await
        .unwrap();
    expect_error(anonymous, 401, "token_missing").await;
    let anonymous = app.get("/v1/me/blocks").send().await.unwrap();
    expect_error(anonymous, 401, "token_missing").await;
}
