//! The social graph: connections (a state machine, see [`connection`]), follows, topic follows
//! and "people you may know", with the [`GraphRepo`] port and the [`GraphService`] that applies
//! the rules (who may act, no self-connection or self-follow, blocks).
//!
//! # Outbox events
//!
//! Every graph change writes one event in the same transaction as the change.
//!
//! | event type | aggregate | payload |
//! |---|---|---|
//! | `connection.requested` | `connection` / id | `{connection_id, requester_id, addressee_id, note}` (`note` may be null) |
//! | `connection.accepted` | `connection` / id | `{connection_id, requester_id, addressee_id, actor_id}` |
//! | `connection.declined` | `connection` / id | same as `connection.accepted` |
//! | `connection.withdrawn` | `connection` / id | same as `connection.accepted` |
//! | `connection.removed` | `connection` / id | same as `connection.accepted` |
//! | `user.followed` | `user` / followee id | `{follower_id, followee_id}` |
//! | `user.unfollowed` | `user` / followee id | `{follower_id, followee_id}` |
//! | `topic.followed` | `topic` / topic id | `{user_id, topic_id, slug}` |
//! | `topic.unfollowed` | `topic` / topic id | `{user_id, topic_id, slug}` |
//!
//! Following twice or unfollowing what is not followed changes nothing and writes no event.
//!
//! # Crossed requests
//!
//! When B asks to connect with A while A's request to B is pending, the service accepts A's
//! request instead (B clearly wants the connection); any other open connection between the two
//! is a 409 `connection_exists`.

pub mod blocks;
pub mod connection;
pub mod topics;

use std::sync::Arc;

use async_trait::async_trait;

use crate::access::Caller;
use crate::enums::{ConnectionStatus, VerificationLevel};
use crate::ids::{ConnectionId, UserId};
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::{Error, Result};

pub use connection::{
    transition, Connection, ConnectionAction, ConnectionNote, Direction, NewConnection, Party,
};
pub use topics::{Topic, TopicSlug};

/// How a member appears in graph lists.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSummary {
    pub id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub verification_level: VerificationLevel,
}

/// A connection as one of its parties sees it, with the other party.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionEntry {
    pub connection: Connection,
    pub other: UserSummary,
}

/// One follower or followee, with when the follow began.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowEntry {
    pub user: UserSummary,
    pub since: Timestamp,
}

/// A person the caller may know, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub user: UserSummary,
    pub mutual_connections: i64,
    pub shared_topics: i64,
    /// The rank: mutual connections weigh 100 shared topics.
    pub score: i64,
}

/// The graph counters of a member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphCounts {
    pub followers: i64,
    pub following: i64,
    pub connections: i64,
}

/// Filter of [`GraphRepo::list_connections`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionFilter {
    pub status: ConnectionStatus,
    pub direction: Option<Direction>,
}

/// Storage of the graph. Counters (on `business_profiles`, created on demand) and the outbox event
/// change in the same transaction as the row they describe.
#[async_trait]
pub trait GraphRepo: Send + Sync {
    /// The member's summary, or `None` when there is no such user.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// user is `Ok(None)`.
    async fn user_summary(&self, id: UserId) -> Result<Option<UserSummary>>;

    /// Whether either of the two has blocked the other.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn is_blocked(&self, a: UserId, b: UserId) -> Result<bool>;

    /// The follower, following and connection counts of a member (zeros when none).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// user has zero counts.
    async fn graph_counts(&self, user: UserId) -> Result<GraphCounts>;

    /// Stores a pending request and writes `connection.requested`.
    ///
    /// MUST return [`Error::Conflict`] with code `connection_exists` when the pair already has a
    /// pending or accepted connection (in either direction).
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) `connection_exists` when the pair has a pending
    /// or accepted connection; [`Error::Unexpected`](crate::Error::Unexpected) when the storage
    /// fails.
    async fn create_connection(&self, new: NewConnection) -> Result<Connection>;

    /// The connection with this id, whatever its state.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown id
    /// is `Ok(None)`.
    async fn connection(&self, id: ConnectionId) -> Result<Option<Connection>>;

    /// The pending or accepted connection between the two, in either direction.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn open_connection(&self, a: UserId, b: UserId) -> Result<Option<Connection>>;

    /// Moves `current` to `to` (computed by [`transition`]) only if it is still in
    /// `current.status`, adjusts both parties' `connection_count` on accept and remove, and writes
    /// `action`'s event with `actor` in its payload.
    ///
    /// MUST return [`Error::Conflict`] with code `invalid_transition` when the row has changed
    /// state meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) `invalid_transition` when the row is no longer
    /// in `current.status`; [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn apply_transition(
        &self,
        current: &Connection,
        to: ConnectionStatus,
        action: ConnectionAction,
        actor: UserId,
    ) -> Result<Connection>;

    /// `user`'s connections in `filter`, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn list_connections(
        &self,
        user: UserId,
        filter: ConnectionFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<ConnectionEntry>>;

    /// Makes `follower` follow `followee`; `false` when it already did (nothing changes then).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. Following
    /// twice is `Ok(false)`.
    async fn follow(&self, follower: UserId, followee: UserId) -> Result<bool>;

    /// Ends the follow; `false` when there was none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. No follow is
    /// `Ok(false)`.
    async fn unfollow(&self, follower: UserId, followee: UserId) -> Result<bool>;

    /// Who follows `user`, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn followers(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>>;

    /// Whom `user` follows, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn following(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>>;

    /// Every topic, by slug.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn list_topics(&self, after: Option<&Cursor>, limit: Limit) -> Result<Page<Topic>>;

    /// The topic with this slug.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// slug is `Ok(None)`.
    async fn topic_by_slug(&self, slug: &TopicSlug) -> Result<Option<Topic>>;

    /// Makes `user` follow `topic`; `false` when it already did.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn follow_topic(&self, user: UserId, topic: &Topic) -> Result<bool>;

    /// Ends the topic follow; `false` when there was none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn unfollow_topic(&self, user: UserId, topic: &Topic) -> Result<bool>;

    /// The topics `user` follows, by slug.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn followed_topics(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Topic>>;

    /// People `user` may know: second-degree connections and members sharing followed topics,
    /// never `user`, an existing or pending connection, or a blocked pair; by score, best first.
    /// One query per page.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn suggestions(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Suggestion>>;
}

/// The graph's rules over a [`GraphRepo`].
#[derive(Clone)]
pub struct GraphService {
    repo: Arc<dyn GraphRepo>,
    blocks: Arc<dyn blocks::BlockRepo>,
}

/// The outcome of a connection request.
#[derive(Debug, Clone)]
pub struct Requested {
    pub connection: Connection,
    /// `false` when the request accepted the other side's pending request instead.
    pub created: bool,
}

impl GraphService {
    pub fn new(repo: Arc<dyn GraphRepo>, blocks: Arc<dyn blocks::BlockRepo>) -> Self {
        Self { repo, blocks }
    }

    async fn existing_user(&self, id: UserId) -> Result<UserSummary> {
        self.repo
            .user_summary(id)
            .await?
            .ok_or(Error::not_found("user"))
    }

    /// Asks `to` to connect.
    ///
    /// MUST return [`Error::Invalid`] for oneself (field `user_id`), [`Error::NotFound`] for an
    /// unknown user, [`Error::Forbidden`] with code `blocked` when either blocked the other, and
    /// [`Error::Conflict`] with code `connection_exists` when a connection is open (a pending
    /// request from `to` is accepted instead, see the module docs).
    pub async fn request(
        &self,
        caller: &Caller,
        to: UserId,
        note: Option<ConnectionNote>,
    ) -> Result<Requested> {
        let me = caller.user_id;
        if to == me {
            return Err(ValidationErrors::single(
                "user_id",
                "self_connection",
                "you cannot connect with yourself",
            )
            .into());
        }
        self.existing_user(to).await?;
        if self.repo.is_blocked(me, to).await? {
            return Err(blocked());
        }
        if let Some(open) = self.repo.open_connection(me, to).await? {
            if open.status == ConnectionStatus::Pending && open.addressee_id == me {
                let connection = self.act(caller, open.id, ConnectionAction::Accept).await?;
                return Ok(Requested {
                    connection,
                    created: false,
                });
            }
            return Err(connection_exists());
        }
        let connection = self
            .repo
            .create_connection(NewConnection {
                requester_id: me,
                addressee_id: to,
                note,
            })
            .await?;
        Ok(Requested {
            connection,
            created: true,
        })
    }

    /// Accepts, declines, withdraws or removes a connection as one of its parties.
    ///
    /// MUST return [`Error::NotFound`] when the connection does not exist or the caller is not a
    /// party, and [`Error::Conflict`] with code `invalid_transition` when [`transition`] refuses.
    pub async fn act(
        &self,
        caller: &Caller,
        id: ConnectionId,
        action: ConnectionAction,
    ) -> Result<Connection> {
        let not_found = || Error::not_found("connection");
        let current = self.repo.connection(id).await?.ok_or_else(not_found)?;
        let party = current.party(caller.user_id).ok_or_else(not_found)?;
        let to = transition(current.status, action, party)?;
        self.repo
            .apply_transition(&current, to, action, caller.user_id)
            .await
    }

    /// The caller's connections.
    pub async fn my_connections(
        &self,
        caller: &Caller,
        filter: ConnectionFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<ConnectionEntry>> {
        self.repo
            .list_connections(caller.user_id, filter, after, limit)
            .await
    }

    /// Follows `whom` (idempotent). MUST return [`Error::Invalid`] for oneself (field `id`),
    /// [`Error::NotFound`] for an unknown user and [`Error::Forbidden`] with code `blocked` when
    /// either blocked the other.
    pub async fn follow(&self, caller: &Caller, whom: UserId) -> Result<GraphCounts> {
        self.check_followee(caller, whom).await?;
        if self.repo.is_blocked(caller.user_id, whom).await? {
            return Err(blocked());
        }
        self.repo.follow(caller.user_id, whom).await?;
        self.repo.graph_counts(whom).await
    }

    /// Unfollows `whom` (idempotent); the same errors as [`GraphService::follow`].
    pub async fn unfollow(&self, caller: &Caller, whom: UserId) -> Result<GraphCounts> {
        self.check_followee(caller, whom).await?;
        self.repo.unfollow(caller.user_id, whom).await?;
        self.repo.graph_counts(whom).await
    }

    async fn check_followee(&self, caller: &Caller, whom: UserId) -> Result<()> {
        self.check_other(caller, whom, "self_follow", "you cannot follow yourself")
            .await
    }

    /// Who follows `user`. MUST return [`Error::NotFound`] for an unknown user.
    pub async fn followers(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>> {
        self.existing_user(user).await?;
        self.repo.followers(user, after, limit).await
    }

    /// Whom `user` follows. MUST return [`Error::NotFound`] for an unknown user.
    pub async fn following(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>> {
        self.existing_user(user).await?;
        self.repo.following(user, after, limit).await
    }

    pub async fn topics(&self, after: Option<&Cursor>, limit: Limit) -> Result<Page<Topic>> {
        self.repo.list_topics(after, limit).await
    }

    /// Follows a topic (idempotent). MUST return [`Error::NotFound`] for an unknown slug.
    pub async fn follow_topic(&self, caller: &Caller, slug: &TopicSlug) -> Result<Topic> {
        let topic = self.topic(slug).await?;
        self.repo.follow_topic(caller.user_id, &topic).await?;
        self.topic(slug).await
    }

    /// Unfollows a topic (idempotent). MUST return [`Error::NotFound`] for an unknown slug.
    pub async fn unfollow_topic(&self, caller: &Caller, slug: &TopicSlug) -> Result<Topic> {
        let topic = self.topic(slug).await?;
        self.repo.unfollow_topic(caller.user_id, &topic).await?;
        self.topic(slug).await
    }

    async fn topic(&self, slug: &TopicSlug) -> Result<Topic> {
        self.repo
            .topic_by_slug(slug)
            .await?
            .ok_or(Error::not_found("topic"))
    }

    pub async fn my_topics(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Topic>> {
        self.repo
            .followed_topics(caller.user_id, after, limit)
            .await
    }

    pub async fn suggestions(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Suggestion>> {
        self.repo.suggestions(caller.user_id, after, limit).await
    }
}

/// The conflict of a second open connection between a pair.
/// The answer to following or asking to connect across a block.
pub fn blocked() -> Error {
    Error::forbidden("blocked", "you cannot connect with or follow this member")
}

pub fn connection_exists() -> Error {
    Error::conflict(
        "connection_exists",
        "a connection or pending request already exists between you",
    )
}
