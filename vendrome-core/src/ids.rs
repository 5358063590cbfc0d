//! Identifiers: UUIDv7 newtypes, so that ids sort by creation time and one kind of id can never
//! be passed where another is expected.

use uuid::Uuid;

macro_rules! id_type {
    ($(#[doc = $doc:expr])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id (UUIDv7: time-ordered).
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A booking of a service.
    BookingId
);
id_type!(
    /// An audit event.
    AuditEventId
);
id_type!(
    /// An outbox event, as consumers see it: the key that makes their handling idempotent.
    EventId
);
id_type!(
    /// A session: one sign-in on one device, as its owner sees it (the family of its rotating
    /// refresh tokens, and the `sid` of its access tokens).
    SessionId
);
id_type!(
    /// One refresh token of a session.
    RefreshTokenId
);
id_type!(
    /// A verification badge.
    BadgeId
);
id_type!(
    /// A post.
    PostId
);
id_type!(
    /// A comment on a post.
    CommentId
);
id_type!(
    /// One recorded share of a post.
    ShareId
);
id_type!(
    /// A connection request between two members (and, once accepted, the connection).
    ConnectionId
);
id_type!(
    /// A topic (`#renewable-energy`).
    TopicId
);
id_type!(
    /// A direct or group conversation.
    ConversationId
);
id_type!(
    /// One message of a conversation. UUIDv7: id order is sending order.
    MessageId
);
id_type!(
    /// A native calendar event (a one-off event, or a whole recurring series).
    CalendarEventId
);
id_type!(
    /// A member's connection to an external calendar (Google, Microsoft, CalDAV).
    CalendarIntegrationId
);
id_type!(
    /// An entry of the calendar sync's conflict log.
    CalendarConflictId
);
id_type!(
    /// A product order.
    OrderId
);
id_type!(
    /// One line of a product order.
    OrderItemId
);
id_type!(
    /// A payment transaction: a charge, a refund or a payout, and the attempt that makes it.
    PaymentId
);
id_type!(
    /// A ledger account.
    LedgerAccountId
);
id_type!(
    /// One balanced ledger posting (a ledger transaction).
    LedgerTransactionId
);
id_type!(
    /// One stored payment webhook delivery.
    WebhookEventId
);
id_type!(
    /// One reconciliation run against a provider.
    ReconciliationRunId
);
id_type!(
    /// A review of a completed order or booking.
    ReviewId
);
id_type!(
    /// A mentor–mentee relationship.
    MentorshipId
);
id_type!(
    /// A goal of a mentorship.
    MentorshipGoalId
);
id_type!(
    /// A scheduled session of a mentorship.
    MentorshipSessionId
);
id_type!(
    /// A private note of one party to a mentorship.
    MentorshipNoteId
);
id_type!(
    /// A marketing campaign.
    CampaignId
);
id_type!(
    /// An investment or crowdfunding campaign.
    InvestmentCampaignId
);
id_type!(
    /// A backer's commitment to a campaign.
    CommitmentId
);
