//! What the index holds, and which documents an outbox event touches.

use crate::enums::{LookingFor, PostType, PostVisibility, VerificationLevel};
use crate::events::DomainEvent;
use crate::ids::{PostId, UserId};
use crate::time::Timestamp;

/// A live post as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostDoc {
    pub id: PostId,
    pub author_id: UserId,
    pub author_level: VerificationLevel,
    pub post_type: PostType,
    pub visibility: PostVisibility,
    pub body: String,
    /// Slugs.
    pub topics: Vec<String>,
    /// Reactions + 3 × comments + 4 × reposts + 5 × shares (the trending weights).
    pub engagement: i64,
    pub created_at: Timestamp,
}

/// A member who is not disabled, as the index sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDoc {
    pub user_id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub headline: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub industry: Option<String>,
    pub country_code: Option<String>,
    pub city: Option<String>,
    pub about: Option<String>,
    pub skills: Vec<String>,
    pub looking_for: Vec<LookingFor>,
    pub verification_level: VerificationLevel,
    pub connections: i64,
    pub joined_at: Timestamp,
}

/// A document of the index, by what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKey {
    Post(PostId),
    Profile(UserId),
    /// Every post by this author (their verification level changed, or they were disabled or
    /// enabled).
    PostsBy(UserId),
    /// By slug.
    Topic(String),
}

/// The documents an event may have changed. Indexers re-read them from the database, so this
/// may name more than changed (never less), and replaying an event is harmless.
pub fn keys_for(event: &DomainEvent) -> Vec<DocKey> {
    use DomainEvent as E;
    let post = |id: PostId| vec![DocKey::Post(id)];
    let profiles =
        |ids: &[UserId]| -> Vec<DocKey> { ids.iter().copied().map(DocKey::Profile).collect() };
    match event {
        E::PostCreated(e) => std::iter::once(DocKey::Post(e.post_id))
            .chain(e.topics.iter().map(|slug| DocKey::Topic(slug.clone())))
            .collect(),
        E::PostUpdated(e) => post(e.post_id),
        E::PostDeleted(e) => post(e.post_id),
        // The engagement score.
        E::ReactionSet(e) => post(e.post_id),
        E::ReactionRemoved(e) => post(e.post_id),
        E::CommentCreated(e) => post(e.post_id),
        E::CommentUpdated(e) => post(e.post_id),
        E::CommentDeleted(e) => post(e.post_id),
        E::RepostCreated(e) => post(e.post_id),
        E::RepostRemoved(e) => post(e.post_id),
        E::ShareCreated(e) => post(e.post_id),
        E::UserCreated(e) => profiles(&[e.user_id]),
        E::UserUpdated(e) | E::ProfileUpdated(e) => profiles(&[e.user_id]),
        E::UserRoleChanged(e) => profiles(&[e.user_id]),
        E::UserMessagingSettingsUpdated(e) => profiles(&[e.user_id]),
        // Their posts carry their level, and a disabled member's posts leave the index.
        E::UserVerificationLevelChanged(e) => {
            vec![DocKey::Profile(e.user_id), DocKey::PostsBy(e.user_id)]
        }
        E::UserDisabled(e) | E::UserEnabled(e) => {
            vec![DocKey::Profile(e.user_id), DocKey::PostsBy(e.user_id)]
        }
        // Follower counts.
        E::UserFollowed(e) | E::UserUnfollowed(e) => profiles(&[e.follower_id, e.followee_id]),
        // Connection counts.
        E::ConnectionAccepted(e) | E::ConnectionRemoved(e) => {
            profiles(&[e.requester_id, e.addressee_id])
        }
        E::TopicFollowed(e) | E::TopicUnfollowed(e) => vec![DocKey::Topic(e.slug.clone())],
        // Nothing the index holds.
        E::BookmarkSet(_)
        | E::BookmarkRemoved(_)
        | E::UserBlocked(_)
        | E::UserUnblocked(_)
        | E::ConnectionRequested(_)
        | E::ConnectionDeclined(_)
        | E::ConnectionWithdrawn(_)
        | E::FlagUpdated(_)
        | E::ConversationCreated(_)
        | E::ConversationUpdated(_)
        | E::ConversationMemberAdded(_)
        | E::ConversationMemberRemoved(_)
        | E::ConversationMemberRoleChanged(_)
        | E::MessageCreated(_)
        | E::MessageUpdated(_)
        | E::MessageDeleted(_)
        | E::MessageRead(_)
        | E::OrderCreated(_)
        | E::OrderPaid(_)
        | E::OrderCancelled(_)
        | E::OrderFulfilled(_)
        | E::OrderCompleted(_)
        | E::OrderRefunded(_)
        | E::PaymentSucceeded(_)
        | E::PaymentFailed(_)
        | E::PaymentRefunded(_)
        | E::BookingRequested(_)
        | E::BookingConfirmed(_)
        | E::BookingDeclined(_)
        | E::BookingCancelled(_)
        | E::BookingCompleted(_)
        | E::BookingNoShow(_)
        | E::BookingRescheduled(_)
        | E::ReviewCreated(_)
        | E::ReviewUpdated(_)
        | E::ReviewReplied(_)
        | E::ReviewDeleted(_)
        | E::MentorshipRequested(_)
        | E::MentorshipAccepted(_)
        | E::MentorshipDeclined(_)
        | E::MentorshipCancelled(_)
        | E::MentorshipPaused(_)
        | E::MentorshipResumed(_)
        | E::MentorshipCompleted(_)
        | E::MentorshipGoalAdded(_)
        | E::MentorshipGoalCompleted(_)
        | E::MentorshipSessionScheduled(_)
        | E::MentorshipSessionRescheduled(_)
        | E::MentorshipSessionCancelled(_)
        | E::MentorshipNoteAdded(_)
        | E::MentorshipFeedbackGiven(_)
        | E::CampaignCreated(_)
        | E::CampaignUpdated(_)
        | E::CampaignStatusChanged(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::ReactionKind;
    use crate::events::{
        AccountChange, ConnectionChanged, DisabledChange, MessageCreated, PostCreated, ReactionSet,
    };
    use crate::ids::{ConnectionId, ConversationId, MessageId};

    #[test]
    fn events_name_the_documents_they_touch() {
        let post = PostId::new();
        let (a, b) = (UserId::new(), UserId::new());
        let created = DomainEvent::PostCreated(PostCreated {
            post_id: post,
            author_id: a,
            post_type: PostType::Text,
            visibility: PostVisibility::Public,
            topics: vec!["solar".into()],
        });
        assert_eq!(
            keys_for(&created),
            [DocKey::Post(post), DocKey::Topic("solar".into())]
        );
        let reaction = DomainEvent::ReactionSet(ReactionSet {
            post_id: post,
            user_id: a,
            kind: ReactionKind::Like,
            previous_kind: None,
        });
        assert_eq!(keys_for(&reaction), [DocKey::Post(post)]);
        let disabled = DomainEvent::UserDisabled(AccountChange {
            user_id: a,
            change: DisabledChange { disabled: true },
        });
        assert_eq!(
            keys_for(&disabled),
            [DocKey::Profile(a), DocKey::PostsBy(a)]
        );
        let accepted = DomainEvent::ConnectionAccepted(ConnectionChanged {
            connection_id: ConnectionId::new(),
            requester_id: a,
            addressee_id: b,
            actor_id: b,
        });
        assert_eq!(
            keys_for(&accepted),
            [DocKey::Profile(a), DocKey::Profile(b)]
        );
        let message = DomainEvent::MessageCreated(MessageCreated {
            conversation_id: ConversationId::new(),
            message_id: MessageId::new(),
            sender_id: a,
        });
        assert!(keys_for(&message).is_empty());
    }
}
