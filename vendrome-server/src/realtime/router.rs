//! From outbox events to frames: the conversation events this instance's relay published become
//! one frame each, sent to the conversation's participants wherever they are connected; order
//! and payment events go to the buyer and the seller, booking events to the client and the
//! provider, review events to the author and the reviewed member, mentorship events to both
//! parties (a private note to its writer only); a flag change becomes a `flags.changed`
//! frame for every socket on every instance.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use vendrome_core::events::DomainEvent;
use vendrome_core::ids::{ConversationId, MessageId, UserId};
use vendrome_core::messaging::MessagingRepo;
use vendrome_core::outbox::PublishedEvent;

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
    mut events: broadcast::Receiver<Arc<PublishedEvent>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut workers = Vec::with_capacity(WORKERS);
    for _ in 0..WORKERS {
        let (queue, mut waiting) = tokio::sync::mpsc::channel::<Arc<PublishedEvent>>(WORKER_QUEUE);
        let state = state.clone();
        tokio::spawn(async move {
            while let Some(event) = waiting.recv().await {
                if let Err(error) = route(&state, &event).await {
                    metrics::counter!("realtime_route_failures_total").increment(1);
                    tracing::warn!(error = %error, event = %event.event.event_type(), "could not route an event to sockets");
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

/// What a published event means for sockets.
enum Route {
    /// A message to show, read again from the database (`created`: just sent).
    Message {
        conversation: ConversationId,
        id: MessageId,
        created: bool,
    },
    /// The event's payload as the frame's data, to the participants and to `about` (a member
    /// just removed, say).
    Payload {
        conversation: ConversationId,
        about: Option<UserId>,
    },
    /// The event's payload as the frame's data, to these members (an order's buyer and seller).
    Members(Vec<UserId>),
    /// The frame `kind` with the event's payload, to every socket on every instance.
    Everyone { kind: &'static str },
}

/// Sockets hear of conversation events, and of the orders and payments they are party to.
fn route_of(event: &DomainEvent) -> Option<Route> {
    use DomainEvent as E;
    let payload = |conversation, about| {
        Some(Route::Payload {
            conversation,
            about,
        })
    };
    match event {
        E::MessageCreated(e) => Some(Route::Message {
            conversation: e.conversation_id,
            id: e.message_id,
            created: true,
        }),
        E::MessageUpdated(e) => Some(Route::Message {
            conversation: e.conversation_id,
            id: e.message_id,
            created: false,
        }),
        E::MessageDeleted(e) => payload(e.conversation_id, None),
        E::MessageRead(e) => payload(e.conversation_id, Some(e.user_id)),
        E::ConversationCreated(e) => payload(e.conversation_id, None),
        E::ConversationUpdated(e) => payload(e.conversation_id, None),
        E::ConversationMemberAdded(e) | E::ConversationMemberRemoved(e) => {
            payload(e.conversation_id, Some(e.user_id))
        }
        E::ConversationMemberRoleChanged(e) => payload(e.conversation_id, Some(e.user_id)),
        E::OrderCreated(e)
        | E::OrderPaid(e)
        | E::OrderCancelled(e)
        | E::OrderFulfilled(e)
        | E::OrderCompleted(e)
        | E::OrderRefunded(e) => Some(Route::Members(vec![e.buyer_id, e.seller_id])),
        E::BookingRequested(e)
        | E::BookingConfirmed(e)
        | E::BookingDeclined(e)
        | E::BookingCancelled(e)
        | E::BookingCompleted(e)
        | E::BookingNoShow(e)
        | E::BookingRescheduled(e) => Some(Route::Members(vec![e.client_id, e.provider_id])),
        E::PaymentSucceeded(e) | E::PaymentFailed(e) | E::PaymentRefunded(e) => Some(
            Route::Members(std::iter::once(e.payer_id).chain(e.payee_id).collect()),
        ),
        E::ReviewCreated(e) | E::ReviewUpdated(e) | E::ReviewReplied(e) | E::ReviewDeleted(e) => {
            Some(Route::Members(vec![e.author_id, e.subject_user_id]))
        }
        E::MentorshipRequested(e)
        | E::MentorshipAccepted(e)
        | E::MentorshipDeclined(e)
        | E::MentorshipCancelled(e)
        | E::MentorshipPaused(e)
        | E::MentorshipResumed(e)
        | E::MentorshipCompleted(e) => Some(Route::Members(vec![e.mentor_id, e.mentee_id])),
        E::MentorshipGoalAdded(e)
        | E::MentorshipGoalCompleted(e)
        | E::MentorshipSessionScheduled(e)
        | E::MentorshipSessionRescheduled(e)
        | E::MentorshipSessionCancelled(e)
        | E::MentorshipFeedbackGiven(e) => Some(Route::Members(vec![e.mentor_id, e.mentee_id])),
        // A note is private: only its writer's sockets hear of it.
        E::MentorshipNoteAdded(e) => Some(Route::Members(vec![e.by])),
        // The campaign's owner hears of its moves (funded, started, completed by its budget).
        E::CampaignCreated(e) | E::CampaignUpdated(e) | E::CampaignStatusChanged(e) => {
            Some(Route::Members(vec![e.owner_id]))
        }
        // Clients read their own evaluation again (`GET /v1/flags`).
        E::FlagUpdated(_) => Some(Route::Everyone {
            kind: "flags.changed",
        }),
        // Not about a conversation (bookmarks, being private, are never forwarded).
        E::PostCreated(_)
        | E::PostUpdated(_)
        | E::PostDeleted(_)
        | E::ReactionSet(_)
        | E::ReactionRemoved(_)
        | E::CommentCreated(_)
        | E::CommentUpdated(_)
        | E::CommentDeleted(_)
        | E::RepostCreated(_)
        | E::RepostRemoved(_)
        | E::ShareCreated(_)
        | E::BookmarkSet(_)
        | E::BookmarkRemoved(_)
        | E::UserCreated(_)
        | E::UserUpdated(_)
        | E::UserRoleChanged(_)
        | E::UserVerificationLevelChanged(_)
        | E::UserDisabled(_)
        | E::UserEnabled(_)
        | E::UserMessagingSettingsUpdated(_)
        | E::ProfileUpdated(_)
        | E::UserFollowed(_)
        | E::UserUnfollowed(_)
        | E::UserBlocked(_)
        | E::UserUnblocked(_)
        | E::TopicFollowed(_)
        | E::TopicUnfollowed(_)
        | E::ConnectionRequested(_)
        | E::ConnectionAccepted(_)
        | E::ConnectionDeclined(_)
        | E::ConnectionWithdrawn(_)
        | E::ConnectionRemoved(_) => None,
    }
}

async fn route(state: &AppState, event: &PublishedEvent) -> vendrome_core::Result<()> {
    let Some(route) = route_of(&event.event) else {
        return Ok(());
    };
    let kind = event.event.event_type();
    let payload_frame = || {
        frames::frame(
            event.event_id.as_uuid(),
            kind,
            event.created_at,
            &event.event.payload(),
        )
    };
    let (conversation, about) = match route {
        Route::Members(members) => {
            state.realtime.publish(&members, &payload_frame()).await;
            return Ok(());
        }
        Route::Message { conversation, .. } => (conversation, None),
        Route::Payload {
            conversation,
            about,
        } => (conversation, about),
        Route::Everyone { kind } => {
            let frame = frames::frame(
                event.event_id.as_uuid(),
                kind,
                event.created_at,
                &event.event.payload(),
            );
            state.realtime.publish_to_all(&frame).await;
            return Ok(());
        }
    };
    let mut audience = state.store.participants(conversation).await?;
    if let Some(user) = about.filter(|user| !audience.contains(user)) {
        audience.push(user);
    }
    let frame = match route {
        Route::Message { id, created, .. } => {
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
            if let (Some(sender), true) = (sender, created) {
                stop_typing(state, conversation, sender).await;
            }
            return Ok(());
        }
        Route::Payload { .. } | Route::Members(_) | Route::Everyone { .. } => payload_frame(),
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
