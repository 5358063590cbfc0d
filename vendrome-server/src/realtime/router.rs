//! From outbox events to frames: the conversation events this instance's relay published become
//! one frame each, sent to the conversation's participants wherever they are connected.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use vendrome_core::ids::{ConversationId, MessageId, UserId};
use vendrome_core::messaging::MessagingRepo;
use vendrome_core::outbox::OutboxEvent;

use super::{frames, typing};
use crate::routes::messaging::MessageView;
use crate::state::AppState;

/// How many conversations' events are routed at once. Each conversation's events stay in order:
/// they always go to the same worker.
const WORKERS: usize = 8;

/// Events one worker may have waiting before the router waits for it.
const WORKER_QUEUE: usize = 1024;

/// Routes events from `events` until `stop`. Events missed while lagging behind are left to
/// clients' resume (they are in the database).
pub(crate) async fn run(
    state: AppState,
    mut events: broadcast::Receiver<Arc<OutboxEvent>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut workers = Vec::with_capacity(WORKERS);
    for _ in 0..WORKERS {
        let (queue, mut waiting) = tokio::sync::mpsc::channel::<Arc<OutboxEvent>>(WORKER_QUEUE);
        let state = state.clone();
        tokio::spawn(async move {
            while let Some(event) = waiting.recv().await {
                if let Err(error) = route(&state, &event).await {
                    metrics::counter!("realtime_route_failures_total").increment(1);
                    tracing::warn!(error = %error, event = %event.event_type, "could not route an event to sockets");
                }
            }
        });
        workers.push(queue);
    }
    while !*stop.borrow() {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = stop.changed() => continue,
        };
        match event {
            Ok(event) => {
                let worker = &workers[shard(&event.aggregate_id)];
                if worker.send(event).await.is_err() {
                    break;
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                metrics::counter!("realtime_events_missed_total").increment(missed);
                tracing::warn!(missed, "the realtime router fell behind the relay");
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// The worker for an aggregate (a conversation): the same one every time.
fn shard(aggregate: &str) -> usize {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    aggregate.hash(&mut hasher);
    (hasher.finish() % WORKERS as u64) as usize
}

fn id_field<T: std::str::FromStr>(event: &OutboxEvent, field: &str) -> Option<T> {
    event.payload.get(field)?.as_str()?.parse().ok()
}

async fn route(state: &AppState, event: &OutboxEvent) -> vendrome_core::Result<()> {
    let kind = event.event_type.as_str();
    if !(kind.starts_with("message.") || kind.starts_with("conversation.")) {
        return Ok(());
    }
    let Some(conversation) = id_field::<ConversationId>(event, "conversation_id") else {
        return Ok(());
    };
    let mut audience = state.store.participants(conversation).await?;
    // Whoever the event is about hears of it too (a member just removed, say).
    for field in ["user_id", "member_id"] {
        if let Some(user) = id_field::<UserId>(event, field) {
            if !audience.contains(&user) {
                audience.push(user);
            }
        }
    }
    let frame = match kind {
        "message.created" | "message.updated" => {
            let Some(id) = id_field::<MessageId>(event, "message_id") else {
                return Ok(());
            };
            // A message deleted since has nothing left to show.
            let Some(message) = state.store.message_by_id(id).await? else {
                return Ok(());
            };
            let sender = message.sender_id;
            let frame = frames::frame(
                event.event_id.as_uuid(),
                kind,
                event.created_at,
                &MessageView::from(message),
            );
            state.realtime.publish(&audience, &frame).await;
            if let (Some(sender), "message.created") = (sender, kind) {
                stop_typing(state, conversation, sender).await;
            }
            return Ok(());
        }
        _ => frames::frame(
            event.event_id.as_uuid(),
            kind,
            event.created_at,
            &event.payload,
        ),
    };
    state.realtime.publish(&audience, &frame).await;
    Ok(())
}

/// A sent message ends its sender's typing indicator.
async fn stop_typing(state: &AppState, conversation: ConversationId, sender: UserId) {
    let realtime = &state.realtime;
    realtime.typing.forget(conversation, sender);
    if let Ok(true) = realtime.presence.stop_typing(conversation, sender).await {
        // Typing is never told across a block.
        let others = match state.store.unblocked_others(conversation, sender).await {
            Ok(others) => others,
            Err(_) => return,
        };
        typing::announce_stop(realtime, conversation, sender, &others).await;
    }
}
