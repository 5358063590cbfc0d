//! One WebSocket: authentication (header or first frame), registration with the hub, resume,
//! then one loop that writes queued frames, reads client frames, pings, and closes with the
//! documented codes.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::json;
use vendrome_core::ids::{MessageId, UserId};
use vendrome_core::realtime::{Frame, PresenceStatus};

use super::frames::{self, ClientFrame, PresenceView};
use super::throttle::Bucket;
use super::{close, Realtime};
use crate::auth::{authenticate, Authenticated};
use crate::error::ApiError;
use crate::routes::messaging::MessageView;
use crate::state::AppState;

type Writer = SplitSink<WebSocket, Message>;
type Reader = SplitStream<WebSocket>;

/// What becomes of a client frame (see [`Connection::admit`]).
enum Admit {
    Yes,
    /// Over budget: answered `error` `rate_limited` and dropped.
    Refuse,
    /// Over budget once too often: the socket is closed with 4429.
    Close,
}

/// Why a socket's loop ended.
enum End {
    /// The client went away, or writing failed: nothing more can be said.
    Gone,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

/// Runs one socket to its end. `auth` is set when the upgrade request carried a valid token.
pub(crate) async fn serve(
    socket: WebSocket,
    state: AppState,
    auth: Option<Authenticated>,
    resume: Option<uuid::Uuid>,
) {
    let (mut writer, mut reader) = socket.split();
    let (auth, resume) = match auth {
        Some(auth) => (auth, resume),
        None => match first_frame(&state, &mut reader).await {
            Ok((auth, from_frame)) => (auth, from_frame.or(resume)),
            Err(reason) => {
                finish(&mut writer, End::Close(close::UNAUTHORIZED, reason)).await;
                return;
            }
        },
    };
    let realtime = state.realtime.clone();
    let user = auth.caller.user_id;
    // Registered before subscribing, so a frame that arrives as the subscription starts has a
    // queue to go to.
    let registration = realtime.hub.register(user, realtime.config.queue);
    if let Err(error) = realtime.fanout.subscribe(user).await {
        tracing::warn!(error = %format!("{error:#}"), "realtime fanout unavailable");
        realtime.hub.unregister(user, registration.id);
        finish(&mut writer, End::Close(1011, "realtime unavailable")).await;
        return;
    }
    let mut connection = Connection {
        key: format!("{}:{}", realtime.instance, registration.id),
        socket: registration.id,
        state,
        realtime: realtime.clone(),
        auth,
        status: PresenceStatus::Online,
        recent: Recent::default(),
        last_heard: Instant::now(),
        frames: Bucket::new(
            realtime.config.frame_burst,
            realtime.config.frames_per_second,
            Instant::now(),
        ),
        refusals: Bucket::new(
            realtime.config.refused_frames_before_close,
            0.1,
            Instant::now(),
        ),
        presence_sent: Instant::now(),
        presence_due: None,
    };
    let end = connection
        .run(&mut writer, &mut reader, registration, resume)
        .await;
    realtime.hub.unregister(user, connection.socket);
    finish(&mut writer, end).await;
    realtime.fanout.unsubscribe(user).await;
    connection.leave().await;
}

/// Waits for the `auth` frame; the reason to give when it does not come or does not hold.
async fn first_frame(
    state: &AppState,
    reader: &mut Reader,
) -> Result<(Authenticated, Option<uuid::Uuid>), &'static str> {
    let deadline = state.realtime.config.auth_deadline;
    let first = tokio::time::timeout(deadline, async {
        loop {
            match reader.next().await {
                Some(Ok(Message::Text(text))) => return Some(text),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return None,
            }
        }
    })
    .await
    .map_err(|_| "auth_timeout")?
    .ok_or("auth_missing")?;
    match serde_json::from_str::<ClientFrame>(&first) {
        Ok(ClientFrame::Auth {
            token,
            last_event_id,
        }) => authenticate(state, &token)
            .await
            .map(|auth| (auth, last_event_id))
            .map_err(|_| "auth_invalid"),
        _ => Err("auth_missing"),
    }
}

/// Sends the closing frame, if there is one to send, without waiting long.
async fn finish(writer: &mut Writer, end: End) {
    if let End::Close(code, reason) = end {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(2), writer.send(frame)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), writer.close()).await;
}

/// The ids of the frames a socket was sent last, so a frame that arrives twice (a retried
/// relay, a resume that overlaps live delivery) is written once.
#[derive(Default)]
struct Recent {
    ids: std::collections::VecDeque<uuid::Uuid>,
}

impl Recent {
    const KEEP: usize = 32;

    /// `false` when `id` was sent already.
    fn first_time(&mut self, id: uuid::Uuid) -> bool {
        if self.ids.contains(&id) {
            return false;
        }
        if self.ids.len() == Self::KEEP {
            self.ids.pop_front();
        }
        self.ids.push_back(id);
        true
    }
}

struct Connection {
    /// This socket in shared presence state: the instance and the hub's socket id.
    key: String,
    /// The hub's id of this socket.
    socket: u64,
    state: AppState,
    realtime: Realtime,
    auth: Authenticated,
    status: PresenceStatus,
    recent: Recent,
    last_heard: Instant,
    /// The client's frame budget.
    frames: Bucket,
    /// How many refused frames the client may still send before being closed.
    refusals: Bucket,
    /// When this socket last announced a presence change it was asked for.
    presence_sent: Instant,
    /// When the presence change asked for within the coalescing interval is announced.
    presence_due: Option<Instant>,
}

impl Connection {
    fn user(&self) -> UserId {
        self.auth.caller.user_id
    }

    async fn run(
        &mut self,
        writer: &mut Writer,
        reader: &mut Reader,
        mut registration: super::hub::Registration,
        resume: Option<uuid::Uuid>,
    ) -> End {
        let config = self.realtime.config.clone();
        let ready = frames::ephemeral(
            "ready",
            &json!({ "user_id": self.user(), "heartbeat_seconds": config.heartbeat.as_secs() }),
        );
        if self.send(writer, &ready).await.is_err() {
            return End::Gone;
        }
        self.beat(PresenceStatus::Online).await;
        if let Some(last) = resume {
            if let Err(end) = self.replay(writer, last).await {
                return end;
            }
        }
        let mut closing = self.realtime.closing.subscribe();
        if *closing.borrow_and_update() {
            return End::Close(1001, "server_shutdown");
        }
        let mut ping = tokio::time::interval(config.heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            let presence_due = self.presence_due;
            let due = tokio::time::Instant::from_std(presence_due.unwrap_or_else(Instant::now));
            tokio::select! {
                biased;
                _ = closing.changed() => return End::Close(1001, "server_shutdown"),
                () = tokio::time::sleep_until(due), if presence_due.is_some() => {
                    self.presence_due = None;
                    self.presence_sent = Instant::now();
                    self.beat(self.status).await;
                }
                () = registration.overflow.notified() => {
                    metrics::counter!("realtime_slow_consumer_closes_total").increment(1);
                    return End::Close(close::SLOW_CONSUMER, "slow_consumer");
                }
                queued = registration.queue.recv() => {
                    let Some(frame) = queued else { return End::Gone };
                    let (id, text) = &*frame;
                    if self.recent.first_time(*id)
                        && self.write(writer, Message::Text(text.clone())).await.is_err()
                    {
                        return End::Gone;
                    }
                }
                inbound = reader.next() => {
                    self.last_heard = Instant::now();
                    if matches!(inbound, Some(Ok(Message::Text(_) | Message::Binary(_)))) {
                        match self.admit() {
                            Admit::Yes => {}
                            Admit::Refuse => {
                                let answer = frames::error(
                                    "rate_limited",
                                    "too many frames; slow down",
                                );
                                if self.send(writer, &answer).await.is_err() {
                                    return End::Gone;
                                }
                                continue;
                            }
                            Admit::Close => {
                                metrics::counter!("realtime_rate_limited_closes_total").increment(1);
                                return End::Close(close::RATE_LIMITED, "rate_limited");
                            }
                        }
                    }
                    match inbound {
                        Some(Ok(Message::Text(text))) => {
                            if let Some(answer) = self.handle(&text).await {
                                if self.send(writer, &answer).await.is_err() {
                                    return End::Gone;
                                }
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let answer = frames::error("invalid_frame", "frames are JSON text");
                            if self.send(writer, &answer).await.is_err() {
                                return End::Gone;
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return End::Gone,
                    }
                }
                _ = ping.tick() => {
                    if self.last_heard.elapsed() > config.heartbeat * 2 {
                        return End::Close(close::HEARTBEAT_TIMEOUT, "heartbeat_timeout");
                    }
                    if !self.session_live().await {
                        return End::Close(close::SESSION_ENDED, "session_ended");
                    }
                    if self.write(writer, Message::Ping(Default::default())).await.is_err() {
                        return End::Gone;
                    }
                    self.beat(self.status).await;
                }
            }
        }
    }

    /// Whether a client frame fits the socket's budget.
    fn admit(&mut self) -> Admit {
        let now = Instant::now();
        if self.frames.take(now) {
            Admit::Yes
        } else if self.refusals.take(now) {
            Admit::Refuse
        } else {
            Admit::Close
        }
    }

    async fn write(&self, writer: &mut Writer, message: Message) -> Result<(), ()> {
        match tokio::time::timeout(self.realtime.config.write_timeout, writer.send(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    async fn send(&self, writer: &mut Writer, frame: &Frame) -> Result<(), ()> {
        self.write(writer, Message::Text(Utf8Bytes::from(&*frame.text)))
            .await
    }

    async fn session_live(&self) -> bool {
        match self.auth.session {
            Some(session) => self
                .state
                .session_guard
                .is_live(&self.state.auth, session, self.auth.caller.user_id)
                .await
                .unwrap_or(true),
            None => true,
        }
    }

    /// Sends the messages created since shortly before `last`, oldest first.
    async fn replay(&mut self, writer: &mut Writer, last: uuid::Uuid) -> Result<(), End> {
        let limit = self.realtime.config.replay_limit;
        let since = rewind(last, self.realtime.config.resume_grace);
        let messages = self
            .state
            .messaging
            .messages_since(&self.auth.caller, since, limit + 1)
            .await
            .map_err(|_| End::Close(1011, "resume_failed"))?;
        if messages.len() as i64 > limit {
            let frame = frames::ephemeral("resync.required", &json!({ "reason": "too_many" }));
            return self.send(writer, &frame).await.map_err(|()| End::Gone);
        }
        for message in messages {
            let frame = frames::frame(
                message.id.as_uuid(),
                "message.created",
                message.created_at,
                &MessageView::from(message),
            );
            if self.recent.first_time(frame.id) {
                self.send(writer, &frame).await.map_err(|()| End::Gone)?;
            }
        }
        Ok(())
    }

    /// Answers one client frame: `None` when there is nothing to say back.
    async fn handle(&mut self, text: &str) -> Option<Frame> {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(error) => return Some(frames::error("invalid_frame", &error.to_string())),
        };
        let result = match frame {
            ClientFrame::Auth { .. } => Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "already_authenticated",
                "this socket is signed in already",
            )),
            ClientFrame::Ping => return Some(frames::ephemeral("pong", &json!({}))),
            ClientFrame::TypingStart { conversation_id } => {
                self.typing(conversation_id, true).await
            }
            ClientFrame::TypingStop { conversation_id } => {
                self.typing(conversation_id, false).await
            }
            ClientFrame::Delivered { message_id } => self.delivered(message_id).await,
            ClientFrame::Read {
                conversation_id,
                message_id,
            } => self
                .state
                .messaging
                .mark_read(&self.auth.caller, conversation_id, message_id)
                .await
                .map(|_| self.state.relay_wake.notify_one())
                .map_err(ApiError::from),
            ClientFrame::PresenceSet { status } => {
                if status == PresenceStatus::Offline {
                    return Some(frames::error(
                        "invalid_status",
                        "set online or away; close the socket to go offline",
                    ));
                }
                // Repeating the status costs nothing; changes are announced at most once per
                // coalescing interval (the last one wins).
                if status != self.status {
                    self.status = status;
                    let next = self.presence_sent + self.realtime.config.presence_coalesce;
                    if Instant::now() >= next {
                        self.presence_sent = Instant::now();
                        self.beat(status).await;
                    } else {
                        self.presence_due = Some(next);
                    }
                }
                Ok(())
            }
            ClientFrame::PresenceQuery { user_ids } => return Some(self.presence(user_ids).await),
        };
        result.err().map(|e| frames::error(e.code, &e.message))
    }

    async fn typing(
        &self,
        conversation: vendrome_core::ids::ConversationId,
        start: bool,
    ) -> Result<(), ApiError> {
        // Never across a block: a blocked member does not see the blocker typing, nor the
        // other way round.
        let others = self
            .state
            .messaging
            .typing_audience(&self.auth.caller, conversation)
            .await?;
        let realtime = &self.realtime;
        let ttl = realtime.config.typing_ttl;
        if start {
            let started = realtime
                .presence
                .start_typing(conversation, self.user(), ttl)
                .await?;
            realtime.typing.watch(
                conversation,
                self.user(),
                others.clone(),
                Instant::now() + ttl,
            );
            if started {
                let frame = frames::ephemeral(
                    "typing.started",
                    &json!({
                        "conversation_id": conversation,
                        "user_id": self.user(),
                        "expires_in_ms": ttl.as_millis() as u64,
                    }),
                );
                realtime.publish(&others, &frame).await;
            }
        } else {
            realtime.typing.forget(conversation, self.user());
            if realtime
                .presence
                .stop_typing(conversation, self.user())
                .await?
            {
                super::typing::announce_stop(realtime, conversation, self.user(), &others).await;
            }
        }
        Ok(())
    }

    async fn delivered(&self, message: MessageId) -> Result<(), ApiError> {
        let message = self
            .state
            .messaging
            .message(&self.auth.caller, message)
            .await?;
        if let Some(sender) = message.sender_id.filter(|s| *s != self.user()) {
            let frame = frames::ephemeral(
                "message.delivered",
                &json!({
                    "conversation_id": message.conversation_id,
                    "message_id": message.id,
                    "user_id": self.user(),
                }),
            );
            self.realtime.publish(&[sender], &frame).await;
        }
        Ok(())
    }

    /// Who hears of this member's presence, and whose presence they may ask for: the members
    /// they share a conversation with. Asked for when needed rather than kept, as it changes
    /// and would cost every socket memory.
    async fn partners(&self) -> Vec<UserId> {
        self.state
            .messaging
            .partners(&self.auth.caller, self.realtime.config.partners_limit)
            .await
            .unwrap_or_default()
    }

    /// `presence.state` for the asked members the caller shares a conversation with (others
    /// are left out).
    async fn presence(&mut self, mut users: Vec<UserId>) -> Frame {
        if users.len() > 100 {
            return frames::error("too_many", "ask for at most 100 members at a time");
        }
        let partners = self.partners().await;
        users.retain(|u| partners.contains(u));
        let statuses = match self.realtime.presence.statuses(&users).await {
            Ok(statuses) => statuses,
            Err(_) => return frames::error("unavailable", "presence is unavailable"),
        };
        let members: Vec<PresenceView> = users
            .into_iter()
            .zip(statuses)
            .map(|(user_id, status)| PresenceView { user_id, status })
            .collect();
        frames::ephemeral("presence.state", &json!({ "members": members }))
    }

    /// Refreshes this socket's presence and tells the partners when the member's status changed.
    async fn beat(&self, status: PresenceStatus) {
        let ttl = self.realtime.config.presence_ttl();
        match self
            .realtime
            .presence
            .heartbeat(self.user(), &self.key, status, ttl)
            .await
        {
            Ok(change) => self.announce(change.changed()).await,
            Err(error) => tracing::warn!(error = %error, "presence unavailable"),
        }
    }

    async fn leave(&self) {
        match self.realtime.presence.leave(self.user(), &self.key).await {
            Ok(change) => self.announce(change.changed()).await,
            Err(error) => tracing::warn!(error = %error, "presence unavailable"),
        }
    }

    async fn announce(&self, changed: Option<PresenceStatus>) {
        if let Some(status) = changed {
            let frame = frames::ephemeral(
                "presence.updated",
                &PresenceView {
                    user_id: self.user(),
                    status,
                },
            );
            self.realtime.publish(&self.partners().await, &frame).await;
        }
    }
}

/// The message id just below every message made `grace` before `last` (a UUIDv7's first 48
/// bits are its milliseconds).
fn rewind(last: uuid::Uuid, grace: Duration) -> MessageId {
    if grace.is_zero() {
        return MessageId::from_uuid(last);
    }
    let millis = (last.as_u128() >> 80) as u64;
    let from = millis.saturating_sub(grace.as_millis() as u64);
    MessageId::from_uuid(uuid::Uuid::from_u128(u128::from(from) << 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewinding_keeps_the_order_of_ids() {
        let last = uuid::Uuid::now_v7();
        let earlier = rewind(last, Duration::from_secs(5)).as_uuid();
        assert!(earlier < last);
        let millis = |u: uuid::Uuid| (u.as_u128() >> 80) as u64;
        assert_eq!(millis(last) - millis(earlier), 5000);
        assert_eq!(
            rewind(uuid::Uuid::nil(), Duration::from_secs(5)).as_uuid(),
            uuid::Uuid::nil()
        );
        assert_eq!(
            rewind(last, Duration::ZERO).as_uuid(),
            last,
            "no grace: strictly after"
        );
    }

    #[test]
    fn a_repeated_frame_is_sent_once() {
        let mut recent = Recent::default();
        let id = uuid::Uuid::now_v7();
        assert!(recent.first_time(id));
        assert!(!recent.first_time(id));
        for _ in 0..Recent::KEEP {
            recent.first_time(uuid::Uuid::now_v7());
        }
        assert!(recent.first_time(id), "only the last frames are remembered");
    }
}
