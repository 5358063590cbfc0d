//! The domain events: every state change others must hear about, as one enum.
//!
//! [`DomainEvent`] has one variant per event type, each with a typed payload. The store writes
//! events only through it (in the transaction of the change, see
//! [`crate::outbox::NewEvent`]); rows are parsed back into it once, when they are read
//! ([`DomainEvent::parse`]), and consumers `match` on it exhaustively, so a new variant does not
//! compile until each consumer has decided what it means for them.
//!
//! Stored form: the `event_type` column holds the variant's wire name (`post.created`), the
//! `payload` column the payload's JSON object plus `"v"`, the payload's schema version. Rows
//! written before versioning have no `"v"` and read as version 1. A payload that changes shape
//! raises its [`EventPayload::VERSION`] and upgrades older rows in [`EventPayload::upgrade`].
//!
//! To add an event: add its payload struct to the area's file here (or reuse one), one line to
//! the `domain_events!` list below, and a row to ARCHITECTURE.md's events table (a test checks
//! the table against [`DomainEvent::TYPES`]).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

mod bookings;
mod commerce;
mod graph;
mod marketing;
mod messaging;
mod posts;
mod reviews;
mod users;

pub use bookings::BookingChanged;
pub use commerce::{OrderChanged, PaymentChanged};
pub use graph::{
    BlockEnded, ConnectionChanged, ConnectionRequested, FollowChanged, TopicFollowChanged,
    UserBlocked,
};
pub use marketing::CampaignChanged;
pub use messaging::{
    ConversationCreated, ConversationUpdated, MemberChanged, MemberRoleChanged, MessageChanged,
    MessageCreated, MessageRead,
};
pub use posts::{
    CommentCreated, CommentDeleted, CommentUpdated, PostCreated, PostDeleted, PostUpdated,
    ReactionRemoved, ReactionSet, RepostCreated, ShareCreated, UserOnPost,
};
pub use reviews::{MentorshipActivity, MentorshipChanged, ReviewChanged};
pub use users::{
    AccountChange, DisabledChange, FieldsChanged, FlagUpdated, LevelChange,
    MessagingSettingsUpdated, RoleChange, UserCreated,
};

/// The key under which a stored payload carries its schema version.
pub const VERSION_KEY: &str = "v";

/// The thing an event is about: its kind (`post`, `user`, `conversation`) and id. The relay
/// keeps each aggregate's events in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub kind: &'static str,
    pub id: String,
}

impl Aggregate {
    pub fn new(kind: &'static str, id: impl ToString) -> Self {
        Self {
            kind,
            id: id.to_string(),
        }
    }
}

/// A payload of a [`DomainEvent`] variant.
pub trait EventPayload: Serialize + DeserializeOwned {
    /// The schema version written with new events.
    const VERSION: u32 = 1;

    /// What the event is about.
    fn aggregate(&self) -> Aggregate;

    /// Brings a stored payload of an older `version` (always below [`Self::VERSION`]) to the
    /// current shape. The default knows no older version.
    fn upgrade(version: u32, payload: Value) -> Result<Value, String> {
        let _ = payload;
        Err(format!("no upgrade from version {version}"))
    }
}

/// Implements [`EventPayload`] for payloads about the `$kind` named by their `$field`.
macro_rules! about {
    ($kind:literal by $field:ident: $($payload:ty),+ $(,)?) => {$(
        impl $crate::events::EventPayload for $payload {
            fn aggregate(&self) -> $crate::events::Aggregate {
                $crate::events::Aggregate::new($kind, &self.$field)
            }
        }
    )+};
}
use about;

/// A stored event that could not be read into a [`DomainEvent`]: a type this version does not
/// know (written by a newer one, say), a newer schema version, or a payload of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable `{event_type}` event: {reason}")]
pub struct UnreadableEvent {
    pub event_type: String,
    pub reason: String,
}

/// Reads one stored payload of type `P`.
fn decode<P: EventPayload>(event_type: &str, stored: &Value) -> Result<P, UnreadableEvent> {
    let unreadable = |reason: String| UnreadableEvent {
        event_type: event_type.to_owned(),
        reason,
    };
    let mut payload = stored.clone();
    let version = match &mut payload {
        Value::Object(map) => match map.remove(VERSION_KEY) {
            None => 1,
            Some(v) => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| unreadable(format!("schema version {v} is not a number")))?,
        },
        _ => return Err(unreadable("the payload is not an object".into())),
    };
    if version > P::VERSION {
        return Err(unreadable(format!(
            "schema version {version} is newer than this version reads ({})",
            P::VERSION
        )));
    }
    if version < P::VERSION {
        payload = P::upgrade(version, payload).map_err(unreadable)?;
    }
    serde_json::from_value(payload).map_err(|error| unreadable(error.to_string()))
}

/// The payload as JSON, without the version (what realtime frames carry).
fn encode<P: EventPayload>(payload: &P) -> Value {
    // The payloads are plain structs of strings, numbers and lists: they always serialise.
    serde_json::to_value(payload).unwrap_or(Value::Null)
}

macro_rules! domain_events {
    ($( $(#[doc = $doc:literal])* $variant:ident($payload:ty) = $wire:literal, )+) => {
        /// Every event of the domain; see the module documentation.
        #[derive(Debug, Clone, PartialEq)]
        pub enum DomainEvent {
            $( $(#[doc = $doc])* $variant($payload), )+
        }

        impl DomainEvent {
            /// Every wire name, in declaration order.
            pub const TYPES: &'static [&'static str] = &[$($wire),+];

            /// The wire name, stored as `event_type`: `post.created`.
            pub fn event_type(&self) -> &'static str {
                match self { $(Self::$variant(_) => $wire,)+ }
            }

            /// What the event is about.
            pub fn aggregate(&self) -> Aggregate {
                match self { $(Self::$variant(p) => p.aggregate(),)+ }
            }

            /// The payload's current schema version.
            pub fn version(&self) -> u32 {
                match self { $(Self::$variant(_) => <$payload as EventPayload>::VERSION,)+ }
            }

            /// The payload as JSON, without its version.
            pub fn payload(&self) -> Value {
                match self { $(Self::$variant(p) => encode(p),)+ }
            }

            /// Reads a stored event (any schema version this version knows).
            ///
            /// # Errors
            /// [`UnreadableEvent`] for an unknown type, a newer version or a payload that does
            /// not have the type's shape.
            pub fn parse(event_type: &str, stored: &Value) -> Result<Self, UnreadableEvent> {
                match event_type {
                    $($wire => decode::<$payload>(event_type, stored).map(Self::$variant),)+
                    other => Err(UnreadableEvent {
                        event_type: other.to_owned(),
                        reason: "unknown event type".into(),
                    }),
                }
            }
        }
    };
}

impl DomainEvent {
    /// The payload as stored: its JSON object with its schema version under `"v"`.
    pub fn stored_payload(&self) -> Value {
        let mut payload = self.payload();
        if let Value::Object(map) = &mut payload {
            map.insert(VERSION_KEY.into(), Value::from(self.version()));
        }
        payload
    }
}

domain_events! {
    // ---- Posts and engagement ----
    PostCreated(PostCreated) = "post.created",
    PostUpdated(PostUpdated) = "post.updated",
    PostDeleted(PostDeleted) = "post.deleted",
    ReactionSet(ReactionSet) = "reaction.set",
    ReactionRemoved(ReactionRemoved) = "reaction.removed",
    CommentCreated(CommentCreated) = "comment.created",
    CommentUpdated(CommentUpdated) = "comment.updated",
    CommentDeleted(CommentDeleted) = "comment.deleted",
    RepostCreated(RepostCreated) = "repost.created",
    RepostRemoved(UserOnPost) = "repost.removed",
    ShareCreated(ShareCreated) = "share.created",
    /// Bookmarks are private: the realtime layer forwards none of their events.
    BookmarkSet(UserOnPost) = "bookmark.set",
    BookmarkRemoved(UserOnPost) = "bookmark.removed",

    // ---- Accounts, profiles and flags ----
    UserCreated(UserCreated) = "user.created",
    UserUpdated(FieldsChanged) = "user.updated",
    UserRoleChanged(AccountChange<RoleChange>) = "user.role_changed",
    UserVerificationLevelChanged(AccountChange<LevelChange>) = "user.verification_level_changed",
    UserDisabled(AccountChange<DisabledChange>) = "user.disabled",
    UserEnabled(AccountChange<DisabledChange>) = "user.enabled",
    UserMessagingSettingsUpdated(MessagingSettingsUpdated) = "user.messaging_settings_updated",
    ProfileUpdated(FieldsChanged) = "profile.updated",
    FlagUpdated(FlagUpdated) = "flag.updated",

    // ---- The graph ----
    UserFollowed(FollowChanged) = "user.followed",
    UserUnfollowed(FollowChanged) = "user.unfollowed",
    UserBlocked(UserBlocked) = "user.blocked",
    UserUnblocked(BlockEnded) = "user.unblocked",
    TopicFollowed(TopicFollowChanged) = "topic.followed",
    TopicUnfollowed(TopicFollowChanged) = "topic.unfollowed",
    ConnectionRequested(ConnectionRequested) = "connection.requested",
    ConnectionAccepted(ConnectionChanged) = "connection.accepted",
    ConnectionDeclined(ConnectionChanged) = "connection.declined",
    ConnectionWithdrawn(ConnectionChanged) = "connection.withdrawn",
    ConnectionRemoved(ConnectionChanged) = "connection.removed",

    // ---- Messaging ----
    ConversationCreated(ConversationCreated) = "conversation.created",
    ConversationUpdated(ConversationUpdated) = "conversation.updated",
    ConversationMemberAdded(MemberChanged) = "conversation.member_added",
    ConversationMemberRemoved(MemberChanged) = "conversation.member_removed",
    ConversationMemberRoleChanged(MemberRoleChanged) = "conversation.member_role_changed",
    /// Its event id is the message's id (see `MessagingRepo::send_message`).
    MessageCreated(MessageCreated) = "message.created",
    MessageUpdated(MessageChanged) = "message.updated",
    MessageDeleted(MessageChanged) = "message.deleted",
    MessageRead(MessageRead) = "message.read",

    // ---- Commerce ----
    OrderCreated(OrderChanged) = "order.created",
    OrderPaid(OrderChanged) = "order.paid",
    OrderCancelled(OrderChanged) = "order.cancelled",
    OrderFulfilled(OrderChanged) = "order.fulfilled",
    OrderCompleted(OrderChanged) = "order.completed",
    /// A refund, whole or partial: `refunded_amount` says how much so far.
    OrderRefunded(OrderChanged) = "order.refunded",
    PaymentSucceeded(PaymentChanged) = "payment.succeeded",
    PaymentFailed(PaymentChanged) = "payment.failed",
    PaymentRefunded(PaymentChanged) = "payment.refunded",

    // ---- Bookings ----
    BookingRequested(BookingChanged) = "booking.requested",
    BookingConfirmed(BookingChanged) = "booking.confirmed",
    BookingDeclined(BookingChanged) = "booking.declined",
    BookingCancelled(BookingChanged) = "booking.cancelled",
    BookingCompleted(BookingChanged) = "booking.completed",
    BookingNoShow(BookingChanged) = "booking.no_show",
    /// Moved to another time (its status unchanged); its calendar events moved with it.
    BookingRescheduled(BookingChanged) = "booking.rescheduled",
    // ---- Reviews and mentorship ----
    ReviewCreated(ReviewChanged) = "review.created",
    ReviewUpdated(ReviewChanged) = "review.updated",
    ReviewReplied(ReviewChanged) = "review.replied",
    ReviewDeleted(ReviewChanged) = "review.deleted",
    MentorshipRequested(MentorshipChanged) = "mentorship.requested",
    MentorshipAccepted(MentorshipChanged) = "mentorship.accepted",
    MentorshipDeclined(MentorshipChanged) = "mentorship.declined",
    MentorshipCancelled(MentorshipChanged) = "mentorship.cancelled",
    MentorshipPaused(MentorshipChanged) = "mentorship.paused",
    MentorshipResumed(MentorshipChanged) = "mentorship.resumed",
    MentorshipCompleted(MentorshipChanged) = "mentorship.completed",
    MentorshipGoalAdded(MentorshipActivity) = "mentorship.goal_added",
    MentorshipGoalCompleted(MentorshipActivity) = "mentorship.goal_completed",
    MentorshipSessionScheduled(MentorshipActivity) = "mentorship.session_scheduled",
    MentorshipSessionRescheduled(MentorshipActivity) = "mentorship.session_rescheduled",
    MentorshipSessionCancelled(MentorshipActivity) = "mentorship.session_cancelled",
    /// Notes are private: only the writer's sockets hear it, and it carries no text.
    MentorshipNoteAdded(MentorshipActivity) = "mentorship.note_added",
    MentorshipFeedbackGiven(MentorshipActivity) = "mentorship.feedback_given",

    // ---- Marketing ----
    CampaignCreated(CampaignChanged) = "campaign.created",
    CampaignUpdated(CampaignChanged) = "campaign.updated",
    CampaignStatusChanged(CampaignChanged) = "campaign.status_changed",
}

#[cfg(test)]
mod tests;
