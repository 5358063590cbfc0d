//! The realtime gateway over real sockets: authentication, live delivery of messages, deliveries
//! and reads, typing that expires, presence, resume after a reconnect, slow consumers and dead
//! sockets.

use std::time::Duration;

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::UserId;
use vendrome_core::realtime::Frame;
use vendrome_server::realtime::RealtimeConfig;

use crate::support::{expect_error, expect_status, spawn_with, Backend, Setup, TestApp};
use crate::ws_client::Ws;

both_stores!(
    sockets_need_a_token,
    messages_deliveries_and_reads_arrive_live,
    typing_ends_by_itself,
    presence_follows_sockets,
    a_reconnecting_socket_gets_what_it_missed,
);

/// Sockets with short timings, so expiry can be watched within a test.
async fn app(backend: Backend) -> Option<TestApp> {
    let mut setup = Setup::new(backend);
    setup.background = true;
    setup.config.realtime = RealtimeConfig {
        auth_deadline: Duration::from_millis(1_500),
        typing_ttl: Duration::from_millis(1_500),
        resume_grace: Duration::ZERO,
        ..RealtimeConfig::default()
    };
    spawn_with(setup).await
}

/// Two members with a direct conversation: (a, a's token, b, b's token, conversation id).
async fn pair(app: &TestApp) -> (UserId, String, UserId, String, String) {
    let (a_id, a) = app.user(UserRole::Member).await;
    let (b_id, b) = app.user(UserRole::Member).await;
    let id = app.start_conversation(&a, b_id).await;
    (a_id, a, b_id, b, id)
}

async fn send(app: &TestApp, token: &str, conversation: &str, body: &str) -> Value {
    expect_status(
        app.post(&format!("/v1/conversations/{conversation}/messages"))
            .bearer_auth(token)
            .json(&json!({ "body": body })),
        201,
    )
    .await["data"]
        .clone()
}

async fn sockets_need_a_token(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    // Not an upgrade: the envelope, 426.
    expect_error(
        app.get("/v1/ws").send().await.unwrap(),
        426,
        "websocket_required",
    )
    .await;
    // Silence past the deadline, a wrong first frame, a bad token: each closes with 4401.
    let mut silent = Ws::anonymous(&app).await;
    assert_eq!(silent.close_code().await, 4401);
    let mut wrong = Ws::anonymous(&app).await;
    wrong.send(json!({ "type": "ping" })).await;
    assert_eq!(wrong.close_code().await, 4401);
    let mut forged = Ws::anonymous(&app).await;
    forged
        .send(json!({ "type": "auth", "token": "not-a-token" }))
        .await;
    assert_eq!(forged.close_code().await, 4401);
    // A valid first frame signs the socket in; a bad client frame is answered, not fatal.
    let token = app.token(UserRole::Member).await;
    let mut ws = Ws::signed_in(&app, &token).await;
    ws.send(json!({ "type": "typing.start" })).await;
    assert_eq!(ws.expect("error").await["data"]["code"], "invalid_frame");
    ws.send(json!({ "type": "ping" })).await;
    ws.expect("pong").await;
}

async fn messages_deliveries_and_reads_arrive_live(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (a_id, a, b_id, b, conversation) = pair(&app).await;
    let mut a_ws = Ws::signed_in(&app, &a).await;
    let mut b_ws = Ws::with_header(&app, &b, "").await;
    b_ws.expect("ready").await;

    let sent = send(&app, &a, &conversation, "Stand 14 at ten?").await;
    let created = b_ws.expect("message.created").await;
    assert_eq!(created["id"], sent["id"], "the frame's id is the message's");
    assert_eq!(created["data"]["body"], "Stand 14 at ten?");
    assert_eq!(created["data"]["sender_id"], json!(a_id));
    assert_eq!(created["data"]["conversation_id"], json!(conversation));
    // The sender's own socket hears of it too (other tabs).
    assert_eq!(a_ws.expect("message.created").await["id"], sent["id"]);

    b_ws.send(json!({ "type": "message.delivered", "message_id": sent["id"] }))
        .await;
    let delivered = a_ws.expect("message.delivered").await;
    assert_eq!(delivered["data"]["message_id"], sent["id"]);
    assert_eq!(delivered["data"]["user_id"], json!(b_id));

    b_ws.send(json!({
        "type": "message.read",
        "conversation_id": conversation,
        "message_id": sent["id"],
    }))
    .await;
    let read = a_ws.expect("message.read").await;
    assert_eq!(read["data"]["message_id"], sent["id"]);
    assert_eq!(read["data"]["user_id"], json!(b_id));
    let inbox = expect_status(app.get("/v1/conversations").bearer_auth(&b), 200).await;
    assert_eq!(
        inbox["data"][0]["unread"], 0,
        "the socket's read moved the pointer"
    );

    // Edits and deletions follow; someone outside the conversation hears nothing.
    let (_, stranger) = app.user(UserRole::Member).await;
    let mut stranger_ws = Ws::signed_in(&app, &stranger).await;
    let id = sent["id"].as_str().unwrap();
    expect_status(
        app.patch(&format!("/v1/messages/{id}"))
            .bearer_auth(&a)
            .json(&json!({ "body": "Stand 15 at ten?" })),
        200,
    )
    .await;
    assert_eq!(
        b_ws.expect("message.updated").await["data"]["body"],
        "Stand 15 at ten?"
    );
    expect_status(
        app.delete(&format!("/v1/messages/{id}")).bearer_auth(&a),
        200,
    )
    .await;
    assert_eq!(
        b_ws.expect("message.deleted").await["data"]["message_id"],
        id
    );
    assert!(stranger_ws
        .collect("message.created", Duration::from_millis(300))
        .await
        .is_empty());
    // A delivery receipt for a message of someone else's conversation is refused.
    stranger_ws
        .send(json!({ "type": "message.delivered", "message_id": id }))
        .await;
    assert_eq!(
        stranger_ws.expect("error").await["data"]["code"],
        "not_found"
    );
}

async fn typing_ends_by_itself(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (a_id, a, _, b, conversation) = pair(&app).await;
    let mut a_ws = Ws::signed_in(&app, &a).await;
    let mut b_ws = Ws::signed_in(&app, &b).await;

    a_ws.send(json!({ "type": "typing.start", "conversation_id": conversation }))
        .await;
    let started = b_ws.expect("typing.started").await;
    assert_eq!(started["data"]["user_id"], json!(a_id));
    // Refreshed within its time: no second `typing.started`, and it stays on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    a_ws.send(json!({ "type": "typing.start", "conversation_id": conversation }))
        .await;
    assert!(b_ws
        .collect("typing.stopped", Duration::from_millis(450))
        .await
        .is_empty());
    // No refresh: it ends by itself, about 1.5 s after the last one.
    let stopped = b_ws.expect("typing.stopped").await;
    assert_eq!(stopped["data"]["user_id"], json!(a_id));

    // Stopping by hand, and sending a message, end it at once.
    a_ws.send(json!({ "type": "typing.start", "conversation_id": conversation }))
        .await;
    b_ws.expect("typing.started").await;
    a_ws.send(json!({ "type": "typing.stop", "conversation_id": conversation }))
        .await;
    b_ws.expect("typing.stopped").await;
    a_ws.send(json!({ "type": "typing.start", "conversation_id": conversation }))
        .await;
    b_ws.expect("typing.started").await;
    send(&app, &a, &conversation, "done typing").await;
    b_ws.expect("message.created").await;
    b_ws.expect("typing.stopped").await;

    // Only participants may type into a conversation.
    let (_, stranger) = app.user(UserRole::Member).await;
    let mut stranger_ws = Ws::signed_in(&app, &stranger).await;
    stranger_ws
        .send(json!({ "type": "typing.start", "conversation_id": conversation }))
        .await;
    assert_eq!(
        stranger_ws.expect("error").await["data"]["code"],
        "not_found"
    );
}

async fn presence_follows_sockets(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (_, a, b_id, b, _) = pair(&app).await;
    let mut a_ws = Ws::signed_in(&app, &a).await;
    a_ws.send(json!({ "type": "presence.query", "user_ids": [b_id] }))
        .await;
    let state = a_ws.expect("presence.state").await;
    assert_eq!(
        state["data"]["members"],
        json!([{ "user_id": b_id, "status": "offline" }])
    );

    let mut b_ws = Ws::signed_in(&app, &b).await;
    let online = a_ws.expect("presence.updated").await;
    assert_eq!(
        online["data"],
        json!({ "user_id": b_id, "status": "online" })
    );
    b_ws.send(json!({ "type": "presence.set", "status": "away" }))
        .await;
    assert_eq!(
        a_ws.expect("presence.updated").await["data"]["status"],
        "away"
    );
    // A second socket of b's online makes b online; closing it leaves b away, closing both
    // makes b offline.
    let b_phone = Ws::signed_in(&app, &b).await;
    assert_eq!(
        a_ws.expect("presence.updated").await["data"]["status"],
        "online"
    );
    b_phone.close_now().await;
    assert_eq!(
        a_ws.expect("presence.updated").await["data"]["status"],
        "away"
    );
    b_ws.close_now().await;
    assert_eq!(
        a_ws.expect("presence.updated").await["data"]["status"],
        "offline"
    );

    // Someone who shares no conversation is not told, and cannot ask.
    let (stranger_id, stranger) = app.user(UserRole::Member).await;
    let mut stranger_ws = Ws::signed_in(&app, &stranger).await;
    stranger_ws
        .send(json!({ "type": "presence.query", "user_ids": [b_id] }))
        .await;
    assert_eq!(
        stranger_ws.expect("presence.state").await["data"]["members"],
        json!([])
    );
    a_ws.send(json!({ "type": "presence.query", "user_ids": [stranger_id] }))
        .await;
    assert_eq!(
        a_ws.expect("presence.state").await["data"]["members"],
        json!([])
    );
}

async fn a_reconnecting_socket_gets_what_it_missed(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (_, a, _, b, conversation) = pair(&app).await;
    let mut b_ws = Ws::signed_in(&app, &b).await;
    send(&app, &a, &conversation, "one").await;
    let seen = b_ws.expect("message.created").await;
    b_ws.close_now().await;

    let mut missed = Vec::new();
    for body in ["two", "three", "four"] {
        missed.push(send(&app, &a, &conversation, body).await["id"].clone());
    }
    // Resuming from the last id seen: exactly the missed messages, in order.
    let last = seen["id"].as_str().unwrap();
    let mut again = Ws::with_header(&app, &b, &format!("?last_event_id={last}")).await;
    again.expect("ready").await;
    let mut replayed = Vec::new();
    for _ in 0..3 {
        replayed.push(again.expect("message.created").await["id"].clone());
    }
    assert_eq!(replayed, missed);
    assert!(again
        .collect("message.created", Duration::from_millis(300))
        .await
        .is_empty());
    // The same through the `auth` frame, from the first message: the other three.
    let mut third = Ws::anonymous(&app).await;
    third
        .send(json!({ "type": "auth", "token": b, "last_event_id": missed[0] }))
        .await;
    third.expect("ready").await;
    assert_eq!(third.expect("message.created").await["id"], missed[1]);
    assert_eq!(third.expect("message.created").await["id"], missed[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_with_4408() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.realtime = RealtimeConfig {
        queue: 8,
        ..RealtimeConfig::default()
    };
    let app = spawn_with(setup).await.unwrap();
    let (user, token) = app.user(UserRole::Member).await;
    let mut ws = Ws::signed_in(&app, &token).await;
    // The client reads nothing while 64 MiB of frames are published for it: the socket's
    // buffers fill, then its queue of 8, and the server gives up on it.
    let padding = "x".repeat(64 * 1024);
    for _ in 0..1024 {
        let frame = Frame {
            id: uuid::Uuid::now_v7(),
            text: json!({ "type": "test", "data": padding })
                .to_string()
                .into(),
        };
        app.state
            .realtime
            .fanout
            .publish(&[user], &frame)
            .await
            .unwrap();
    }
    assert_eq!(ws.close_code().await, 4408);
    assert_eq!(app.state.realtime.hub.connections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_socket_is_closed_by_the_heartbeat() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.realtime = RealtimeConfig {
        heartbeat: Duration::from_millis(200),
        ..RealtimeConfig::default()
    };
    let app = spawn_with(setup).await.unwrap();
    let token = app.token(UserRole::Member).await;
    let mut ws = Ws::signed_in(&app, &token).await;
    // A client that reads nothing answers no ping: closed after two silent intervals.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(ws.close_code().await, 4002);
    // One that reads (and so answers pings) stays.
    let mut live = Ws::signed_in(&app, &token).await;
    let pings = live.collect("none", Duration::from_millis(900)).await;
    assert!(pings.is_empty());
    live.send(json!({ "type": "ping" })).await;
    live.expect("pong").await;
}
