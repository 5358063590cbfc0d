//! The NATS fanout against the real server at `VENDROME_TEST_NATS_URL` (default
//! `nats://127.0.0.1:4222`; skipped loudly when unreachable, unless `CI=true`): two instances,
//! each with its own connection and sink, as two server processes would have.

#![cfg(feature = "nats")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vendrome_core::ids::UserId;
use vendrome_core::realtime::{Fanout, Frame, FrameSink};
use vendrome_store::bus::NatsFanout;

/// A sink that records what reaches it (frames for everyone under the nil id).
#[derive(Default)]
struct Recorder(Mutex<Vec<(UserId, Frame)>>);

impl FrameSink for Recorder {
    fn deliver(&self, user: UserId, frame: Frame) {
        self.0.lock().unwrap().push((user, frame));
    }

    fn deliver_to_all(&self, frame: Frame) {
        let everyone = UserId::from_uuid(uuid::Uuid::nil());
        self.0.lock().unwrap().push((everyone, frame));
    }
}

impl Recorder {
    fn ids(&self) -> Vec<uuid::Uuid> {
        self.0.lock().unwrap().iter().map(|(_, f)| f.id).collect()
    }
}

async fn instance(prefix: &str) -> Option<(NatsFanout, Arc<Recorder>)> {
    let url = vendrome_store::testing::nats_url();
    let sink = Arc::new(Recorder::default());
    match NatsFanout::connect(&url, prefix, sink.clone()).await {
        Ok(fanout) => Some((fanout, sink)),
        Err(error) => vendrome_store::testing::unreachable(
            "NATS",
            &url,
            "VENDROME_TEST_NATS_URL",
            format!("{error:#}"),
        ),
    }
}

fn frame(text: &str) -> Frame {
    Frame {
        id: uuid::Uuid::now_v7(),
        text: Arc::from(text),
    }
}

/// Waits for in-flight frames to land (where no frame is expected: nothing to wait for).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Waits until `sink` holds `count` frames, for at most 10 s (a loaded machine can take longer
/// than [`settle`] to carry a frame); then as long as [`settle`], so that any extra frame shows.
async fn arrived(sink: &Recorder, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sink.ids().len() < count && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_reaches_the_subscribed_instance_once() {
    // A prefix of this run's own keeps other runs' frames out.
    let prefix = format!("test.{}", uuid::Uuid::new_v4().simple());
    let Some((a, a_sink)) = instance(&prefix).await else {
        return;
    };
    let Some((b, b_sink)) = instance(&prefix).await else {
        return;
    };
    let (member, other) = (UserId::new(), UserId::new());
    b.subscribe(member).await.unwrap();

    let first = frame(r#"{"type":"message.created"}"#);
    a.publish(&[member, other], &first).await.unwrap();
    arrived(&b_sink, 1).await;
    assert_eq!(
        b_sink.ids(),
        vec![first.id],
        "once, on the subscribed instance"
    );
    assert!(
        a_sink.ids().is_empty(),
        "not on an instance without the member"
    );
    let (user, delivered) = b_sink.0.lock().unwrap()[0].clone();
    assert_eq!(user, member);
    assert_eq!(delivered, first, "the id and text arrive unchanged");

    // Counted subscriptions: two sockets, one closes, frames still come; both close, they stop.
    b.subscribe(member).await.unwrap();
    b.unsubscribe(member).await;
    let second = frame("{}");
    a.publish(&[member], &second).await.unwrap();
    arrived(&b_sink, 2).await;
    assert_eq!(b_sink.ids(), vec![first.id, second.id]);
    b.unsubscribe(member).await;
    settle().await;
    a.publish(&[member], &frame("{}")).await.unwrap();
    settle().await;
    assert_eq!(b_sink.ids().len(), 2, "nothing after the last unsubscribe");

    // An instance hears its own publications for its own sockets.
    a.subscribe(other).await.unwrap();
    let third = frame("{}");
    a.publish(&[other], &third).await.unwrap();
    arrived(&a_sink, 1).await;
    assert_eq!(a_sink.ids(), vec![third.id]);
}

/// `subscribe` returns only once the server has the subscription: a frame another instance
/// publishes right after it reaches the member. Many members, so that a window between the
/// subscription leaving this instance and the server taking it would show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_published_right_after_subscribe_arrives() {
    let prefix = format!("test.{}", uuid::Uuid::new_v4().simple());
    let Some((a, _)) = instance(&prefix).await else {
        return;
    };
    let Some((b, b_sink)) = instance(&prefix).await else {
        return;
    };
    const MEMBERS: usize = 300;
    let mut sent = Vec::with_capacity(MEMBERS);
    for _ in 0..MEMBERS {
        let member = UserId::new();
        b.subscribe(member).await.unwrap();
        let frame = frame("{}");
        a.publish(&[member], &frame).await.unwrap();
        sent.push(frame.id);
    }
    arrived(&b_sink, MEMBERS).await;
    let mut got = b_sink.ids();
    got.sort();
    sent.sort();
    assert_eq!(got.len(), MEMBERS, "every frame arrives, once");
    assert_eq!(got, sent);
}

/// A frame for everyone reaches every instance once, the publishing one included, without any
/// member's subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_for_everyone_reaches_every_instance_once() {
    let prefix = format!("test.{}", uuid::Uuid::new_v4().simple());
    let Some((a, a_sink)) = instance(&prefix).await else {
        return;
    };
    let Some((_b, b_sink)) = instance(&prefix).await else {
        return;
    };
    let news = frame(r#"{"type":"flags.changed"}"#);
    a.broadcast(&news).await.unwrap();
    arrived(&a_sink, 1).await;
    arrived(&b_sink, 1).await;
    for sink in [&a_sink, &b_sink] {
        let got = sink.0.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "once per instance");
        assert_eq!(
            got[0].0,
            UserId::from_uuid(uuid::Uuid::nil()),
            "to everyone"
        );
        assert_eq!(got[0].1, news);
    }
}
