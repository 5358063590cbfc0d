//! Business profiles and the directory over HTTP.

use serde_json::json;
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, Backend, Setup};

both_stores!(profiles_and_the_directory);

async fn profiles_and_the_directory(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (ana_id, ana) = app.user(UserRole::Member).await;
    let (ben_id, ben) = app.user(UserRole::Member).await;
    expect_status(
        app.patch("/v1/me")
            .bearer_auth(&ana)
            .json(&json!({ "handle": "kijani" })),
        200,
    )
    .await;

    // Every broken field named at once; nothing changed.
    let bad = app.patch("/v1/me/profile").bearer_auth(&ana).json(&json!({
        "country_code": "Kenya",
        "website_url": "kijani.example",
        "skills": ["", "ok"],
    }));
    let error = expect_error(bad.send().await.unwrap(), 422, "validation_failed").await;
    let fields = error["error"]["details"]["fields"].as_object().unwrap();
    for field in ["country_code", "website_url", "skills.0"] {
        assert!(fields.contains_key(field), "{field} in {fields:?}");
    }
    let updated = expect_status(
        app.patch("/v1/me/profile").bearer_auth(&ana).json(&json!({
            "company": "Kijani Foods",
            "job_title": "Founder",
            "industry": "AgriTech",
            "country_code": "ke",
            "city": "Nairobi",
            "skills": ["Cold Chain"],
            "looking_for": ["investors"],
        })),
        200,
    )
    .await;
    assert_eq!(updated["data"]["industry"], "agritech");
    assert_eq!(updated["data"]["country_code"], "KE");
    assert_eq!(updated["data"]["skills"], json!(["cold chain"]));
    assert_eq!(updated["data"]["completeness"]["percent"], 58);
    assert!(updated["data"]["completeness"]["missing"]
        .as_array()
        .unwrap()
        .contains(&json!("website_url")));

    // By id or handle, signed in or not.
    let by_handle = expect_status(app.get("/v1/profiles/@kijani"), 200).await;
    assert_eq!(by_handle["data"]["user"]["id"], json!(ana_id));
    let by_id = expect_status(app.get(&format!("/v1/profiles/{ana_id}")), 200).await;
    assert_eq!(by_id["data"]["company"], "Kijani Foods");
    expect_error(
        app.get("/v1/profiles/nobody").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;

    // The directory: filters, and the relation to a signed-in viewer.
    let agritech = expect_status(app.get("/v1/profiles?industry=agritech&country=ke"), 200).await;
    let listed: Vec<&serde_json::Value> = agritech["data"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["connection"], "none");
    expect_status(
        app.post("/v1/connections")
            .bearer_auth(&ben)
            .json(&json!({ "user_id": ana_id })),
        201,
    )
    .await;
    let seen_by_ben = expect_status(
        app.get("/v1/profiles?skill=cold%20chain").bearer_auth(&ben),
        200,
    )
    .await;
    assert_eq!(seen_by_ben["data"][0]["connection"], "request_sent");
    let all = expect_status(
        app.get("/v1/profiles?sort=connected").bearer_auth(&ben),
        200,
    )
    .await;
    let me = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user"]["id"] == json!(ben_id))
        .unwrap();
    assert_eq!(me["connection"], "self");
    expect_error(
        app.get("/v1/profiles?sort=best").send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
}
