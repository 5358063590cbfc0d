//! `GET /v1/trending` over HTTP: lists scored by the service, posts shown as everywhere else.

use serde_json::json;
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, Backend, Setup};

both_stores!(trending_posts_and_topics);

async fn trending_posts_and_topics(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let author = app.token(UserRole::Member).await;
    let mut posts = Vec::new();
    for body in ["Harvest is in", "Cold chain pilot"] {
        let created = expect_status(
            app.post("/v1/posts").bearer_auth(&author).json(&json!({
                "type": "text", "body": body, "topics": ["agritech"],
            })),
            201,
        )
        .await;
        posts.push(created["data"]["id"].as_str().unwrap().to_owned());
    }
    for n in 0..6 {
        let fan = app.token(UserRole::Member).await;
        let post = &posts[usize::from(n >= 5)];
        expect_status(
            app.put(&format!("/v1/posts/{post}/reaction"))
                .bearer_auth(&fan)
                .json(&json!({ "kind": "like" })),
            200,
        )
        .await;
        if n < 5 {
            expect_status(
                app.post(&format!("/v1/posts/{post}/comments"))
                    .bearer_auth(&fan)
                    .json(&json!({ "body": "Well done" })),
                201,
            )
            .await;
        }
    }
    app.state
        .trending
        .refresh(vendrome_core::time::now())
        .await
        .unwrap();

    let hot = expect_status(app.get("/v1/trending?window=1h&kind=posts"), 200).await;
    let list = hot["data"].as_array().unwrap();
    assert_eq!(list.len(), 1, "the second post has one engager");
    assert_eq!(list[0]["rank"], 1);
    assert_eq!(list[0]["engagers"], 5);
    assert_eq!(list[0]["post"]["id"], json!(posts[0]));
    assert_eq!(list[0]["post"]["body"], "Harvest is in");
    let topics = expect_status(app.get("/v1/trending?window=7d&kind=topics"), 200).await;
    assert_eq!(topics["data"][0]["topic"], "agritech");
    assert_eq!(topics["data"][0]["posts"], 2);
    assert_eq!(topics["data"][0]["engagers"], 6);
    for bad in ["window=2h", "kind=people", "limit=0"] {
        expect_error(
            app.get(&format!("/v1/trending?{bad}"))
                .send()
                .await
                .unwrap(),
            422,
            "validation_failed",
        )
        .await;
    }
}
