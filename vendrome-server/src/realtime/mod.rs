//! The realtime gateway: `GET /v1/ws` upgrades to a WebSocket that carries events to a signed-in
//! member as they happen (new, edited, deleted and read messages, deliveries, typing, presence,
//! conversation changes) and takes their typing, delivery, read and presence frames. The frame
//! format, close codes and resume rules are documented in `docs/realtime.md`.
//!
//! How an event reaches a socket: a change commits with its outbox event; the relay publishes
//! the event in process; [`router`] turns it into one serialized [`Frame`] and hands it to the
//! [`Fanout`] for its participants; the fanout (in place on one instance, NATS across several)
//! delivers it to the [`Hub`] of every instance where one of them has a socket; the hub puts it
//! in each of their sockets' bounded queues, and [`socket`] writes it out. Typing and presence
//! never touch the database: their state is a [`PresenceRepo`] (memory, or Valkey for several
//! instances) and their frames go straight to the fanout.

use std::sync::Arc;
use std::time::Duration;

use vendrome_core::ids::UserId;
use vendrome_core::realtime::{Fanout, Frame, PresenceRepo};
use vendrome_store::bus::LocalFanout;
use vendrome_store::ephemeral::MemoryPresence;

pub mod frames;
mod hub;
pub(crate) mod router;
pub(crate) mod socket;
mod throttle;
pub(crate) mod typing;

pub use hub::Hub;

/// Close codes the gateway uses besides the standard ones (RFC 6455 §7.4.2 leaves 4000–4999 to
/// applications).
pub mod close {
    /// No valid access token (missing, invalid, expired) before the deadline.
    pub const UNAUTHORIZED: u16 = 4401;
    /// The session behind the token has ended (sign-out, revocation, disabled account).
    pub const SESSION_ENDED: u16 = 4403;
    /// The socket's queue overflowed: the client does not read fast enough.
    pub const SLOW_CONSUMER: u16 = 4408;
    /// No frame, pong included, arrived for two heartbeat intervals.
    pub const HEARTBEAT_TIMEOUT: u16 = 4002;
    /// The client kept sending frames past its budget after being told (`rate_limited`).
    pub const RATE_LIMITED: u16 = 4429;
}

/// How the gateway paces and bounds sockets.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// How long a socket opened without an `Authorization` header has to send its `auth` frame.
    pub auth_deadline: Duration,
    /// How often the server pings; a socket silent for two intervals is closed.
    pub heartbeat: Duration,
    /// Frames waiting for one socket before it counts as a slow consumer and is closed.
    pub queue: usize,
    /// How long writing one frame may take before the socket is dropped.
    pub write_timeout: Duration,
    /// How long a typing indicator lasts without a refresh.
    pub typing_ttl: Duration,
    /// How far before the resume point a reconnecting socket is sent messages again, for
    /// events that committed out of their ids' order.
    pub resume_grace: Duration,
    /// The most messages a reconnecting socket is sent; beyond it, `resync.required`.
    pub replay_limit: i64,
    /// The most members told of one member's presence.
    pub partners_limit: i64,
    /// Frames a client may send at once; beyond it they are refused (`error` `rate_limited`).
    pub frame_burst: u32,
    /// How fast a client's frame budget refills, per second.
    pub frames_per_second: f64,
    /// Refused frames a client may send at once before the socket is closed with 4429 (the
    /// allowance refills at one every ten seconds).
    pub refused_frames_before_close: u32,
    /// At most one presence change of a socket is announced per this interval; changes within it
    /// are announced together (the last one) at its end.
    pub presence_coalesce: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            auth_deadline: Duration::from_secs(5),
            heartbeat: Duration::from_secs(25),
            queue: 256,
            write_timeout: Duration::from_secs(10),
            typing_ttl: Duration::from_secs(6),
            resume_grace: Duration::from_secs(5),
            replay_limit: 500,
            partners_limit: 1000,
            frame_burst: 30,
            frames_per_second: 10.0,
            refused_frames_before_close: 50,
            presence_coalesce: Duration::from_secs(2),
        }
    }
}

impl RealtimeConfig {
    /// How long a socket counts as present after its last heartbeat.
    pub fn presence_ttl(&self) -> Duration {
        self.heartbeat * 3
    }
}

/// The gateway's parts: the local sockets, the fanout between instances, presence and typing
/// state. Cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    pub hub: Arc<Hub>,
    pub fanout: Arc<dyn Fanout>,
    pub presence: Arc<dyn PresenceRepo>,
    pub config: RealtimeConfig,
    pub(crate) typing: Arc<typing::Typists>,
    /// Tells this instance's sockets apart from other instances' in shared presence state.
    pub(crate) instance: Arc<str>,
    /// Set when the server shuts down: every socket closes with 1001.
    pub(crate) closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Realtime {
    /// One process: frames delivered in place, presence in memory.
    pub fn in_process(config: RealtimeConfig) -> Self {
        let hub = Arc::new(Hub::new());
        let fanout = Arc::new(LocalFanout::new(hub.clone()));
        Self::new(hub, fanout, Arc::new(MemoryPresence::new()), config)
    }

    /// The gateway over a hub and the fanout that delivers into it.
    pub fn new(
        hub: Arc<Hub>,
        fanout: Arc<dyn Fanout>,
        presence: Arc<dyn PresenceRepo>,
        config: RealtimeConfig,
    ) -> Self {
        Self {
            hub,
            fanout,
            presence,
            config,
            typing: Arc::new(typing::Typists::default()),
            instance: Arc::from(uuid::Uuid::new_v4().simple().to_string()),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// Closes every socket of this instance with 1001 (going away) and waits, briefly, for them
    /// to be gone.
    pub async fn close_all(&self) {
        self.closing.send_replace(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while self.hub.connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends a frame that is not an outbox event (typing, presence, delivery) to `users`.
    pub(crate) async fn publish(&self, users: &[UserId], frame: &Frame) {
        if users.is_empty() {
            return;
        }
        if let Err(error) = self.fanout.publish(users, frame).await {
            tracing::warn!(error = %format!("{error:#}"), "could not publish a realtime frame");
        }
    }

    /// Sends `frame` to every socket on every instance, best-effort.
    pub(crate) async fn publish_to_all(&self, frame: &Frame) {
        if let Err(error) = self.fanout.broadcast(frame).await {
            tracing::warn!(error = %format!("{error:#}"), "could not broadcast a realtime frame");
        }
    }
}
