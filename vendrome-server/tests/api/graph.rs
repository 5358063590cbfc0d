use serde_json::json;
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, json, spawn_with, Backend, Setup};

both_stores!(connections_over_http, follows_are_idempotent_over_http);

async fn connections_over_http(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (a, a_token) = app.user(UserRole::Member).await;
    let (b, b_token) = app.user(UserRole::Member).await;
    let (_, stranger) = app.user(UserRole::Member).await;

    let (status, body) = json(
        app.post("/v1/connections")
            .bearer_auth(&a_token)
            .json(&json!({ "user_id": b, "note": "Hello" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["status"], "pending");

    let again = app
        .post("/v1/connections")
        .bearer_auth(&a_token)
        .json(&json!({ "user_id": b }))
        .send()
        .await
        .unwrap();
    expect_error(again, 409, "connection_exists").await;
    let myself = app
        .post("/v1/connections")
        .bearer_auth(&a_token)
        .json(&json!({ "user_id": a }))
        .send()
        .await
        .unwrap();
    expect_error(myself, 422, "validation_failed").await;
    let long = app
        .post("/v1/connections")
        .bearer_auth(&a_token)
        .json(&json!({ "user_id": b, "note": "x".repeat(301) }))
        .send()
        .await
        .unwrap();
    expect_error(long, 422, "validation_failed").await;
    let bad_id = app
        .post("/v1/connections/not-a-uuid/accept")
        .bearer_auth(&b_token)
        .send()
        .await
        .unwrap();
    expect_error(bad_id, 404, "not_found").await;

    let peek = app
        .post(&format!("/v1/connections/{id}/accept"))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    expect_error(peek, 404, "not_found").await;
    let own = app
        .post(&format!("/v1/connections/{id}/accept"))
        .bearer_auth(&a_token)
        .send()
        .await
        .unwrap();
    expect_error(own, 409, "invalid_transition").await;

    let (status, body) = json(
        app.get("/v1/me/connections?status=pending&direction=incoming")
            .bearer_auth(&b_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], id.as_str());
    assert_eq!(body["data"][0]["user"]["id"], a.to_string());
    assert_eq!(body["data"][0]["direction"], "incoming");

    let (status, body) = json(
        app.post(&format!("/v1/connections/{id}/accept"))
            .bearer_auth(&b_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let (_, body) = json(
        app.get("/v1/me/connections")
            .bearer_auth(&a_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);

    let withdraw = app
        .post(&format!("/v1/connections/{id}/withdraw"))
        .bearer_auth(&a_token)
        .send()
        .await
        .unwrap();
    expect_error(withdraw, 409, "invalid_transition").await;
    let (status, body) = json(
        app.delete(&format!("/v1/connections/{id}"))
            .bearer_auth(&a_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("removed")),
        "{body}"
    );

    // Concurrent crossed requests: exactly one request row is made.
    let sends = [(&a_token, b), (&b_token, a), (&a_token, b), (&b_token, a)].map(|(token, to)| {
        app.post("/v1/connections")
            .bearer_auth(token)
            .json(&json!({ "user_id": to }))
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
}

async fn follows_are_idempotent_over_http(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (a, _) = app.user(UserRole::Member).await;
    let (b, b_token) = app.user(UserRole::Member).await;

    for _ in 0..2 {
        let (status, body) = json(
            app.put(&format!("/v1/users/{a}/follow"))
                .bearer_auth(&b_token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["follower_count"], 1);
    }
    let (status, body) = json(
        app.get(&format!("/v1/users/{a}/followers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["user"]["id"], b.to_string());
    assert_eq!(body["meta"]["has_more"], false);
    let (_, body) = json(
        app.get(&format!("/v1/users/{b}/following"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["data"][0]["user"]["id"], a.to_string());

    let myself = app
        .put(&format!("/v1/users/{b}/follow"))
        .bearer_auth(&b_token)
        .send()
        .await
        .unwrap();
    expect_error(myself, 422, "validation_failed").await;
    let unknown = app
        .put(&format!("/v1/users/{}/follow", uuid::Uuid::now_v7()))
        .bearer_auth(&b_token)
        .send()
        .await
        .unwrap();
    expect_error(unknown, 404, "not_found").await;
    let bad_limit = app
        .get(&format!("/v1/users/{a}/followers?limit=0"))
        .send()
        .await
        .unwrap();
    expect_error(bad_limit, 422, "validation_failed").await;

    for _ in 0..2 {
        let (status, body) = json(
            app.delete(&format!("/v1/users/{a}/follow"))
                .bearer_auth(&b_token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["data"]["follower_count"].as_i64()),
            (200, Some(0)),
            "{body}"
        );
    }
    let missing = app
        .put("/v1/topics/no-such-topic/follow")
        .bearer_auth(&b_token)
        .send()
        .await
        .unwrap();
    expect_error(missing, 404, "not_found").await;
    let (status, _) = json(app.get("/v1/topics").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, _) = json(
        app.get("/v1/me/suggestions")
            .bearer_auth(&b_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
}
