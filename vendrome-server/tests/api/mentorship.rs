//! Mentorships over HTTP: direct requests and offers on request posts, who may make each move,
//! goals, sessions and private notes, feedback feeding the mentor's rating, the caller's lists,
//! parties-only reads, blocks, the directory of mentors, and the events both parties hear.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};
use crate::ws_client::Ws;

both_stores!(
    a_direct_request_goes_through_its_life,
    an_offer_on_a_request_post_is_answered_by_its_author,
    only_the_parties_see_a_mentorship_and_blocks_stop_requests,
    mentors_are_listed_by_overlap_with_the_caller,
    mentorship_events_reach_both_parties
);

async fn ask(app: &TestApp, mentee: &str, mentor: impl std::fmt::Display) -> reqwest::Response {
    app.post("/v1/mentorships")
        .bearer_auth(mentee)
        .json(&json!({"mentor_id": mentor.to_string(), "goals": ["Raise a seed round", " Hire a CTO "], "format": "virtual"}))
        .send()
        .await
        .unwrap()
}

async fn requested(app: &TestApp, mentee: &str, mentor: impl std::fmt::Display) -> Value {
    let (status, body) = crate::support::json(ask(app, mentee, mentor).await).await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

fn step(app: &TestApp, token: &str, id: &Value, action: &str) -> reqwest::RequestBuilder {
    app.post(&format!(
        "/v1/mentorships/{}/{action}",
        id.as_str().unwrap()
    ))
    .bearer_auth(token)
}

fn add(app: &TestApp, token: &str, id: &Value, what: &str, body: Value) -> reqwest::RequestBuilder {
    app.post(&format!("/v1/mentorships/{}/{what}", id.as_str().unwrap()))
        .bearer_auth(token)
        .json(&body)
}

async fn detail(app: &TestApp, token: &str, id: &Value) -> Value {
    succeed(
        app.get(&format!("/v1/mentorships/{}", id.as_str().unwrap()))
            .bearer_auth(token),
    )
    .await["data"]
        .clone()
}

async fn a_direct_request_goes_through_its_life(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (mentor_id, mentor) = app.user(UserRole::Member).await;
    let (mentee_id, mentee) = app.user(UserRole::Member).await;
    expect_error(ask(&app, &mentee, mentee_id).await, 422, "own_request").await;
    let bad = app
        .post("/v1/mentorships")
        .bearer_auth(&mentee)
        .json(&json!({"mentor_id": mentor_id, "goals": [], "format": "virtual"}));
    expect_error(bad.send().await.unwrap(), 422, "validation_failed").await;

    let m = requested(&app, &mentee, mentor_id).await;
    let id = &m["id"];
    assert_eq!(m["status"], "requested");
    assert_eq!(m["mentee"], json!(mentee_id));
    assert_eq!(m["requested_by"], json!(mentee_id));
    expect_error(
        ask(&app, &mentee, mentor_id).await,
        409,
        "mentorship_exists",
    )
    .await;

    // Goals wait for an active mentorship; the asker does not accept their own request.
    expect_error(
        add(&app, &mentee, id, "goals", json!({"title": "Early"}))
            .send()
            .await
            .unwrap(),
        409,
        "mentorship_not_active",
    )
    .await;
    expect_error(
        step(&app, &mentee, id, "accept").send().await.unwrap(),
        403,
        "not_mentorship_party_action",
    )
    .await;
    expect_error(
        step(&app, &mentor, id, "resume").send().await.unwrap(),
        409,
        "invalid_mentorship_transition",
    )
    .await;
    let accepted = succeed(step(&app, &mentor, id, "accept")).await["data"].clone();
    assert_eq!(accepted["status"], "active");
    assert!(accepted["started_at"].is_string());

    let goal = expect_status(
        add(
            &app,
            &mentor,
            id,
            "goals",
            json!({"title": "Close the round"}),
        ),
        201,
    )
    .await["data"]
        .clone();
    let session = expect_status(
        add(&app, &mentee, id, "sessions", json!({"starts_at": "2027-01-05T09:00:00Z", "ends_at": "2027-01-05T10:00:00Z", "topic": "Deck"})),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(session["topic"], "Deck");
    expect_error(
        add(
            &app,
            &mentee,
            id,
            "sessions",
            json!({"starts_at": "2027-01-05T10:00:00Z", "ends_at": "2027-01-05T09:00:00Z"}),
        )
        .send()
        .await
        .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    expect_status(
        add(
            &app,
            &mentor,
            id,
            "notes",
            json!({"body": "Strong founder"}),
        ),
        201,
    )
    .await;
    expect_status(
        add(
            &app,
            &mentee,
            id,
            "notes",
            json!({"body": "Ask about pricing"}),
        ),
        201,
    )
    .await;
    let done = succeed(
        app.post(&format!(
            "/v1/mentorships/{}/goals/{}/complete",
            id.as_str().unwrap(),
            goal["id"].as_str().unwrap()
        ))
        .bearer_auth(&mentee),
    )
    .await["data"]
        .clone();
    let goals = done["goal_items"].as_array().unwrap();
    assert_eq!(goals.len(), 3, "{done}");
    assert_eq!(goals[0]["title"], "Raise a seed round");
    assert_eq!(goals[1]["title"], "Hire a CTO");
    assert!(goals[2]["completed_at"].is_string());
    // Each party reads their own notes only.
    let by_mentor = detail(&app, &mentor, id).await;
    assert_eq!(by_mentor["my_notes"].as_array().unwrap().len(), 1);
    assert_eq!(by_mentor["my_notes"][0]["body"], "Strong founder");
    let by_mentee = detail(&app, &mentee, id).await;
    assert_eq!(by_mentee["my_notes"][0]["body"], "Ask about pricing");
    assert_eq!(by_mentee["sessions"].as_array().unwrap().len(), 1);

    succeed(step(&app, &mentee, id, "pause")).await;
    expect_error(
        add(&app, &mentee, id, "goals", json!({"title": "Paused"}))
            .send()
            .await
            .unwrap(),
        409,
        "mentorship_not_active",
    )
    .await;
    succeed(step(&app, &mentor, id, "resume")).await;
    expect_error(
        add(&app, &mentee, id, "feedback", json!({"rating": 5}))
            .send()
            .await
            .unwrap(),
        409,
        "invalid_mentorship_transition",
    )
    .await;
    let completed = succeed(step(&app, &mentee, id, "complete")).await["data"].clone();
    assert_eq!(completed["status"], "completed");
    assert!(completed["ended_at"].is_string());
    expect_error(
        step(&app, &mentor, id, "cancel").send().await.unwrap(),
        409,
        "invalid_mentorship_transition",
    )
    .await;

    expect_error(
        add(&app, &mentee, id, "feedback", json!({"rating": 9}))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    expect_status(
        add(
            &app,
            &mentee,
            id,
            "feedback",
            json!({"rating": 4, "body": "Generous with time"}),
        ),
        201,
    )
    .await;
    expect_error(
        add(&app, &mentee, id, "feedback", json!({"rating": 5}))
            .send()
            .await
            .unwrap(),
        409,
        "feedback_given",
    )
    .await;
    let both = expect_status(
        add(&app, &mentor, id, "feedback", json!({"rating": 5})),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(both["feedback"].as_array().unwrap().len(), 2);
    let ratings = succeed(app.get(&format!("/v1/users/{mentor_id}/ratings"))).await["data"].clone();
    assert_eq!(
        ratings["mentor"],
        json!({"count": 1, "sum": 4, "average": "4.00", "histogram": [0, 0, 0, 1, 0]})
    );
    let mentee_ratings =
        succeed(app.get(&format!("/v1/users/{mentee_id}/ratings"))).await["data"].clone();
    assert_eq!(mentee_ratings["mentor"]["count"], 0);

    let mine = succeed(
        app.get("/v1/me/mentorships?role=mentor&status=completed")
            .bearer_auth(&mentor),
    )
    .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 1, "{mine}");
    let none = succeed(
        app.get("/v1/me/mentorships?role=mentee")
            .bearer_auth(&mentor),
    )
    .await;
    assert!(none["data"].as_array().unwrap().is_empty());
    expect_error(
        app.get("/v1/me/mentorships?role=coach")
            .bearer_auth(&mentor)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    // Ended: the mentee may ask again, and the mentor may decline.
    let again = requested(&app, &mentee, mentor_id).await;
    expect_error(
        step(&app, &mentee, &again["id"], "decline")
            .send()
            .await
            .unwrap(),
        403,
        "not_mentorship_party_action",
    )
    .await;
    let declined = succeed(step(&app, &mentor, &again["id"], "decline")).await["data"].clone();
    assert_eq!(declined["status"], "declined");
}

async fn an_offer_on_a_request_post_is_answered_by_its_author(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (mentee_id, mentee) = app.user(UserRole::Member).await;
    let (mentor_id, mentor) = app.user(UserRole::Member).await;
    let post = expect_status(
        app.post("/v1/posts").bearer_auth(&mentee).json(&json!({
            "type": "mentorship_request",
            "body": "Looking for a fundraising mentor",
            "payload": {"area": "Fundraising", "format": "hybrid", "duration_weeks": 8},
        })),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = expect_status(
        app.post("/v1/posts")
            .bearer_auth(&mentee)
            .json(&json!({"type": "text", "body": "Hello"})),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let offer = |token: &str, post: &str| {
        app.post(&format!("/v1/posts/{post}/mentorship-offers"))
            .bearer_auth(token)
    };
    expect_error(
        offer(&mentee, &post).send().await.unwrap(),
        422,
        "own_request",
    )
    .await;
    expect_error(
        offer(&mentor, &text).send().await.unwrap(),
        422,
        "not_a_mentorship_request",
    )
    .await;
    let m = expect_status(offer(&mentor, &post), 201).await["data"].clone();
    assert_eq!(m["mentor"], json!(mentor_id));
    assert_eq!(m["mentee"], json!(mentee_id));
    assert_eq!(m["requested_by"], json!(mentor_id));
    assert_eq!(m["format"], "hybrid");
    assert_eq!(m["request_post_id"], json!(post));
    assert_eq!(m["goals_summary"], "Fundraising");
    expect_error(
        offer(&mentor, &post).send().await.unwrap(),
        409,
        "mentorship_exists",
    )
    .await;
    // The mentor asked, so the mentee answers; the mentor may withdraw.
    expect_error(
        step(&app, &mentor, &m["id"], "accept")
            .send()
            .await
            .unwrap(),
        403,
        "not_mentorship_party_action",
    )
    .await;
    let accepted = succeed(step(&app, &mentee, &m["id"], "accept")).await["data"].clone();
    assert_eq!(accepted["status"], "active");
}

async fn only_the_parties_see_a_mentorship_and_blocks_stop_requests(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (mentor_id, mentor) = app.user(UserRole::Member).await;
    let mentee = app.token(UserRole::Member).await;
    let stranger = app.token(UserRole::Member).await;
    let m = requested(&app, &mentee, mentor_id).await;
    let id = m["id"].as_str().unwrap();
    for token in [&mentor, &mentee] {
        succeed(app.get(&format!("/v1/mentorships/{id}")).bearer_auth(token)).await;
    }
    expect_error(
        app.get(&format!("/v1/mentorships/{id}"))
            .bearer_auth(&stranger)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        step(&app, &stranger, &m["id"], "accept")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        add(&app, &stranger, &m["id"], "notes", json!({"body": "x"}))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        ask(&app, &mentee, uuid::Uuid::now_v7()).await,
        404,
        "not_found",
    )
    .await;

    let (blocker_id, blocker) = app.user(UserRole::Member).await;
    succeed(
        app.put(&format!("/v1/users/{mentor_id}/block"))
            .bearer_auth(&blocker),
    )
    .await;
    expect_error(ask(&app, &blocker, mentor_id).await, 403, "blocked").await;
    // Either way round.
    expect_error(ask(&app, &mentor, blocker_id).await, 403, "blocked").await;
}

async fn mentors_are_listed_by_overlap_with_the_caller(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let profile = |token: String, body: Value| {
        let app = &app;
        async move { succeed(app.patch("/v1/me/profile").bearer_auth(&token).json(&body)).await }
    };
    profile(
        me.clone(),
        json!({"skills": ["rust", "sales"], "industry": "fintech"}),
    )
    .await;
    let (close_id, close) = app.user(UserRole::Member).await;
    let (far_id, far) = app.user(UserRole::Member).await;
    let (_, not_mentoring) = app.user(UserRole::Member).await;
    profile(
        close.clone(),
        json!({"skills": ["rust", "sales"], "industry": "fintech", "looking_for": ["mentees"]}),
    )
    .await;
    profile(far.clone(), json!({"skills": ["farming"], "industry": "agritech", "looking_for": ["mentees", "investors"]})).await;
    profile(
        not_mentoring,
        json!({"skills": ["rust"], "looking_for": ["investors"]}),
    )
    .await;
    succeed(
        app.put("/v1/me/mentoring")
            .bearer_auth(&far)
            .json(&json!({"formats": ["in_person"]})),
    )
    .await;

    let page = succeed(app.get("/v1/mentors").bearer_auth(&me)).await;
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [close_id.to_string(), far_id.to_string()], "{page}");
    assert_eq!(page["data"][0]["overlap"], 2);
    assert_eq!(page["data"][1]["formats"], json!(["in_person"]));
    let first = succeed(app.get("/v1/mentors?limit=1").bearer_auth(&me)).await;
    let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_owned();
    let second = succeed(
        app.get("/v1/mentors")
            .query(&[("limit", "1"), ("cursor", cursor.as_str())])
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(second["data"][0]["id"], json!(far_id));
    let virtual_only = succeed(app.get("/v1/mentors?format=virtual").bearer_auth(&me)).await;
    assert_eq!(virtual_only["data"].as_array().unwrap().len(), 1);
    let by_skill = succeed(app.get("/v1/mentors?skill=Farming").bearer_auth(&me)).await;
    assert_eq!(by_skill["data"][0]["id"], json!(far_id));
    let by_industry = succeed(app.get("/v1/mentors?industry=fintech").bearer_auth(&me)).await;
    assert_eq!(by_industry["data"].as_array().unwrap().len(), 1);
    expect_status(app.get("/v1/mentors"), 401).await;
}

async fn mentorship_events_reach_both_parties(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.background = true;
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let (mentor_id, mentor) = app.user(UserRole::Member).await;
    let mentee = app.token(UserRole::Member).await;
    let mut mentor_ws = Ws::signed_in(&app, &mentor).await;
    let mut mentee_ws = Ws::signed_in(&app, &mentee).await;
    let m = requested(&app, &mentee, mentor_id).await;
    for ws in [&mut mentor_ws, &mut mentee_ws] {
        let frame = ws.expect("mentorship.requested").await;
        assert_eq!(frame["data"]["mentorship_id"], m["id"], "{frame}");
    }
    succeed(step(&app, &mentor, &m["id"], "accept")).await;
    for ws in [&mut mentor_ws, &mut mentee_ws] {
        let frame = ws.expect("mentorship.accepted").await;
        assert_eq!(frame["data"]["status"], "active", "{frame}");
    }
    // A note is private: only its writer's sockets hear of it, and without its text.
    expect_status(
        add(&app, &mentee, &m["id"], "notes", json!({"body": "secret"})),
        201,
    )
    .await;
    expect_status(
        add(&app, &mentor, &m["id"], "goals", json!({"title": "Ship"})),
        201,
    )
    .await;
    let frame = mentee_ws.expect("mentorship.note_added").await;
    assert!(!frame.to_string().contains("secret"));
    // The mentor's socket hears the goal, added after the note, and never the note.
    loop {
        let frame = mentor_ws.next().await.expect("a frame");
        assert_ne!(frame["type"], "mentorship.note_added", "{frame}");
        if frame["type"] == "mentorship.goal_added" {
            assert_eq!(frame["data"]["mentorship_id"], m["id"]);
            break;
        }
    }
}
