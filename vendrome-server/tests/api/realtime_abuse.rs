//! The realtime gateway under abuse: typing and presence never cross a block, a client's frames
//! are budgeted (refused with `rate_limited`, then closed with 4429), and presence changes are
//! announced at most once per interval.

use std::time::Duration;

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_server::realtime::RealtimeConfig;

use crate::support::{expect_status, spawn_with, Backend, Setup, TestApp};
use crate::ws_client::Ws;

both_stores!(typing_and_presence_never_cross_a_block);

async fn app(backend: Backend, realtime: RealtimeConfig) -> Option<TestApp> {
    let mut setup = Setup::new(backend);
    setup.background = true;
    setup.config.realtime = realtime;
    spawn_with(setup).await
}

/// Every frame before the answer to a `ping`. A frame published for this socket before the ping
/// was sent is written before the pong: the socket empties its queue before it reads.
async fn until_pong(ws: &mut Ws) -> Vec<Value> {
    ws.send(json!({ "type": "ping" })).await;
    let mut frames = Vec::new();
    loop {
        let frame = ws.next().await.expect("the socket stays open");
        if frame["type"] == "pong" {
            return frames;
        }
        frames.push(frame);
    }
}

async fn typing_and_presence_never_cross_a_block(backend: Backend) {
    let Some(app) = app(backend, RealtimeConfig::default()).await else {
        return;
    };
    let (a_id, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    let (c_id, c) = app.user(UserRole::Member).await;
    let created = expect_status(
        app.post("/v1/conversations/groups")
            .bearer_auth(&a)
            .json(&json!({ "title": "Crew", "member_ids": [b_id, c_id] })),
        201,
    )
    .await;
    let group = created["data"]["id"].as_str().unwrap().to_owned();
    // b blocks a after the three met in the group.
    expect_status(
        app.put(&format!("/v1/users/{a_id}/block")).bearer_auth(&b),
        200,
    )
    .await;
    let mut b_ws = Ws::signed_in(&app, &b).await;
    let mut c_ws = Ws::signed_in(&app, &c).await;
    // a comes online: c hears of it, b does not.
    let mut a_ws = Ws::signed_in(&app, &a).await;
    // (b's own announcement may reach c first.)
    while c_ws.expect("presence.updated").await["data"]["user_id"] != json!(a_id) {}
    // a types: c sees it, b does not.
    a_ws.send(json!({ "type": "typing.start", "conversation_id": group }))
        .await;
    let typing = c_ws.expect("typing.started").await;
    assert_eq!(typing["data"]["user_id"], json!(a_id));
    let seen_by_b = until_pong(&mut b_ws).await;
    assert!(
        !seen_by_b
            .iter()
            .any(|f| f["data"]["user_id"] == json!(a_id)),
        "{seen_by_b:?}"
    );
    // b types: a does not see it, c does.
    b_ws.send(json!({ "type": "typing.start", "conversation_id": group }))
        .await;
    assert_eq!(
        c_ws.expect("typing.started").await["data"]["user_id"],
        json!(b_id)
    );
    let seen_by_a = until_pong(&mut a_ws).await;
    assert!(
        !seen_by_a
            .iter()
            .any(|f| f["data"]["user_id"] == json!(b_id)),
        "{seen_by_a:?}"
    );
    // Neither may ask for the other's presence.
    a_ws.send(json!({ "type": "presence.query", "user_ids": [b_id, c_id] }))
        .await;
    let state = a_ws.expect("presence.state").await;
    assert_eq!(
        state["data"]["members"],
        json!([{ "user_id": c_id, "status": "online" }])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_refused_then_closed_with_4429() {
    let realtime = RealtimeConfig {
        frame_burst: 5,
        frames_per_second: 0.0,
        refused_frames_before_close: 3,
        ..RealtimeConfig::default()
    };
    let app = app(Backend::Sqlite, realtime).await.unwrap();
    let token = app.token(UserRole::Member).await;
    let mut ws = Ws::signed_in(&app, &token).await;
    for _ in 0..5 {
        ws.send(json!({ "type": "ping" })).await;
        ws.expect("pong").await;
    }
    // Past the budget: told, and the frame is dropped.
    ws.send(json!({ "type": "ping" })).await;
    let refused = ws.next().await.unwrap();
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["data"]["code"], "rate_limited");
    // Going on regardless ends the socket.
    for _ in 0..10 {
        ws.send(json!({ "type": "presence.set", "status": "away" }))
            .await;
    }
    assert_eq!(ws.close_code().await, 4429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_changes_are_coalesced() {
    // An interval longer than the test: every change after the first is held back.
    let realtime = RealtimeConfig {
        presence_coalesce: Duration::from_secs(3600),
        ..RealtimeConfig::default()
    };
    let app = app(Backend::Sqlite, realtime).await.unwrap();
    let (_, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    app.start_conversation(&a, b_id).await;
    let mut a_ws = Ws::signed_in(&app, &a).await;
    let mut b_ws = Ws::signed_in(&app, &b).await;
    a_ws.expect("presence.updated").await;
    for status in ["away", "online", "away", "online", "away"] {
        b_ws.send(json!({ "type": "presence.set", "status": status }))
            .await;
    }
    until_pong(&mut b_ws).await;
    let told = until_pong(&mut a_ws).await;
    assert!(
        told.iter().all(|f| f["type"] != "presence.updated"),
        "{told:?}"
    );

    // With a short interval the last change is announced at its end, once.
    let realtime = RealtimeConfig {
        presence_coalesce: Duration::from_millis(300),
        ..RealtimeConfig::default()
    };
    let app = self::app(Backend::Sqlite, realtime).await.unwrap();
    let (_, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    app.start_conversation(&a, b_id).await;
    let mut a_ws = Ws::signed_in(&app, &a).await;
    let mut b_ws = Ws::signed_in(&app, &b).await;
    a_ws.expect("presence.updated").await;
    for status in ["away", "online", "away"] {
        b_ws.send(json!({ "type": "presence.set", "status": status }))
            .await;
    }
    let away = a_ws.expect("presence.updated").await;
    assert_eq!(away["data"]["status"], "away");
}
