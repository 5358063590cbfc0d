//! [`GraphRepo`] on both databases: connections, follows and blocks checks. Topic follows and
//! suggestions are in `graph_topics.rs`.
//!
//! Counters live on `business_profiles`, whose row is made on demand by an upsert that adds to
//! the counters (`ON CONFLICT … DO UPDATE SET n = n + excluded.n`); decrements are plain updates
//! (the row exists, since the matching increment made it). Both parties' rows are always written
//! in id order, so concurrent writers lock them in the same order and never deadlock.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::{ConnectionStatus, VerificationLevel};
use vendrome_core::events::{ConnectionChanged, ConnectionRequested, DomainEvent, FollowChanged};
use vendrome_core::graph::{
    connection_exists, Connection, ConnectionAction, ConnectionEntry, ConnectionFilter, Direction,
    FollowEntry, GraphCounts, GraphRepo, NewConnection, Suggestion, Topic, TopicSlug, UserSummary,
};
use vendrome_core::ids::{ConnectionId, UserId};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::{time, Error, Result};

use crate::error::{unique_violation, SqlxResultExt as _};
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

const RETURNING_CONNECTION: &str = "RETURNING id, requester_id, addressee_id, status, message, \
     created_at, updated_at, responded_at";

const CONNECTION_COLUMNS: &str = "c.id, c.requester_id, c.addressee_id, c.status, c.message, \
     c.created_at, c.updated_at, c.responded_at";

pub(crate) const SUMMARY_COLUMNS: &str =
    "u.id AS user_id, u.display_name, u.handle, u.avatar_url, u.verification_level";

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: Uuid,
    requester_id: Uuid,
    addressee_id: Uuid,
    status: DbEnum<ConnectionStatus>,
    message: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    responded_at: Option<Timestamp>,
}

impl From<ConnectionRow> for Connection {
    fn from(row: ConnectionRow) -> Self {
        Connection {
            id: ConnectionId::from_uuid(row.id),
            requester_id: UserId::from_uuid(row.requester_id),
            addressee_id: UserId::from_uuid(row.addressee_id),
            status: row.status.0,
            note: row.message,
            created_at: row.created_at,
            updated_at: row.updated_at,
            responded_at: row.responded_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    user_id: Uuid,
    display_name: String,
    handle: Option<String>,
    avatar_url: Option<String>,
    verification_level: DbEnum<VerificationLevel>,
}

impl From<SummaryRow> for UserSummary {
    fn from(row: SummaryRow) -> Self {
        UserSummary {
            id: UserId::from_uuid(row.user_id),
            display_name: row.display_name,
            handle: row.handle,
            avatar_url: row.avatar_url,
            verification_level: row.verification_level.0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ConnectionEntryRow {
    #[sqlx(flatten)]
    connection: ConnectionRow,
    #[sqlx(flatten)]
    other: SummaryRow,
}

#[derive(sqlx::FromRow)]
struct FollowRow {
    #[sqlx(flatten)]
    user: SummaryRow,
    since: Timestamp,
}

#[derive(sqlx::FromRow)]
struct CountsRow {
    follower_count: i64,
    following_count: i64,
    connection_count: i64,
}

/// Adds to counters of two members in one statement, making their rows when missing. `deltas`
/// are (followers, following, connections) per member; both are written in id order.
const ADD_COUNTS: &str = "INSERT INTO business_profiles \
    (user_id, follower_count, following_count, connection_count, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $9, $9), ($5, $6, $7, $8, $9, $9) \
    ON CONFLICT (user_id) DO UPDATE SET \
    follower_count = business_profiles.follower_count + excluded.follower_count, \
    following_count = business_profiles.following_count + excluded.following_count, \
    connection_count = business_profiles.connection_count + excluded.connection_count, \
    updated_at = excluded.updated_at";

pub(crate) const SUB_COUNTS: &str = "UPDATE business_profiles SET follower_count = follower_count - $2, \
    following_count = following_count - $3, connection_count = connection_count - $4, updated_at = $5 \
    WHERE user_id = $1";

/// Two members' counter changes, in id order.
pub(crate) fn ordered(a: (UserId, [i64; 3]), b: (UserId, [i64; 3])) -> [(Uuid, [i64; 3]); 2] {
    let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
    [(first.0.as_uuid(), first.1), (second.0.as_uuid(), second.1)]
}

macro_rules! add_counts {
    ($tx:expr, $pair:expr, $now:expr) => {{
        let [(a, da), (b, db)] = $pair;
        sqlx::query(ADD_COUNTS)
            .bind(a)
            .bind(da[0])
            .bind(da[1])
            .bind(da[2])
            .bind(b)
            .bind(db[0])
            .bind(db[1])
            .bind(db[2])
            .bind($now)
            .execute(&mut *$tx)
            .await
    }};
}

macro_rules! sub_counts {
    ($tx:expr, $pair:expr, $now:expr) => {{
        let mut result = Ok(());
        for (user, delta) in $pair {
            if let Err(e) = sqlx::query($crate::graph::SUB_COUNTS)
                .bind(user)
                .bind(delta[0])
                .bind(delta[1])
                .bind(delta[2])
                .bind($now)
                .execute(&mut *$tx)
                .await
            {
                result = Err(e);
                break;
            }
        }
        result
    }};
}
pub(crate) use sub_counts;

/// `(created_at, id)` of the last item of a page, newest first.
type TimeKey = (Timestamp, Uuid);

pub(crate) fn time_key(after: Option<&Cursor>) -> Result<(Option<Timestamp>, Option<Uuid>)> {
    Ok(match after {
        Some(cursor) => {
            let (at, id): TimeKey = cursor.decode()?;
            (Some(at), Some(id))
        }
        None => (None, None),
    })
}

#[async_trait]
impl GraphRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn user_summary(&self, id: UserId) -> Result<Option<UserSummary>> {
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM users u WHERE u.id = $1");
        let row: Option<SummaryRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(UserSummary::from))
    }

    #[tracing::instrument(skip(self))]
    async fn is_blocked(&self, a: UserId, b: UserId) -> Result<bool> {
        let found: Option<i32> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT 1 FROM user_blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
                 OR (blocker_id = $2 AND blocked_id = $1) LIMIT 1",
            )
            .bind(a.as_uuid())
            .bind(b.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(found.is_some())
    }

    #[tracing::instrument(skip(self))]
    async fn graph_counts(&self, user: UserId) -> Result<GraphCounts> {
        let row: Option<CountsRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT follower_count, following_count, connection_count FROM business_profiles WHERE user_id = $1",
            )
            .bind(user.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(row
            .map(|r| GraphCounts {
                followers: r.follower_count,
                following: r.following_count,
                connections: r.connection_count,
            })
            .unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(requester = %new.requester_id, addressee = %new.addressee_id))]
    async fn create_connection(&self, new: NewConnection) -> Result<Connection> {
        let now = time::now();
        let id = ConnectionId::new();
        let note = new.note.as_ref().map(|n| n.as_str().to_owned());
        let sql = format!(
            "INSERT INTO connections (id, requester_id, addressee_id, status, message, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', $4, $5, $5) {RETURNING_CONNECTION}"
        );
        let row: ConnectionRow = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: ConnectionRow = sqlx::query_as(&sql)
                .bind(id.as_uuid())
                .bind(new.requester_id.as_uuid())
                .bind(new.addressee_id.as_uuid())
                .bind(note.as_deref())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let event = NewEvent::new(DomainEvent::ConnectionRequested(ConnectionRequested {
                connection_id: id,
                requester_id: new.requester_id,
                addressee_id: new.addressee_id,
                note: note.clone(),
            }));
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })
        .map_err(|e| match unique_violation(&e) {
            Some(_) => connection_exists(),
            None => crate::error::unexpected(e),
        })?;
        Ok(row.into())
    }

    #[tracing::instrument(skip(self))]
    async fn connection(&self, id: ConnectionId) -> Result<Option<Connection>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections c WHERE c.id = $1");
        let row: Option<ConnectionRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Connection::from))
    }

    #[tracing::instrument(skip(self))]
    async fn open_connection(&self, a: UserId, b: UserId) -> Result<Option<Connection>> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections c WHERE c.status IN ('pending', 'accepted') \
             AND ((c.requester_id = $1 AND c.addressee_id = $2) OR (c.requester_id = $2 AND c.addressee_id = $1)) LIMIT 1"
        );
        let row: Option<ConnectionRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(a.as_uuid()).bind(b.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Connection::from))
    }

    #[tracing::instrument(skip(self, current), fields(id = %current.id))]
    async fn apply_transition(
        &self,
        current: &Connection,
        to: ConnectionStatus,
        action: ConnectionAction,
        actor: UserId,
    ) -> Result<Connection> {
        let now = time::now();
        let sql = format!(
            "UPDATE connections SET status = $2, updated_at = $3, \
             responded_at = CASE WHEN status = 'pending' THEN $3 ELSE responded_at END \
             WHERE id = $1 AND status = $4 {RETURNING_CONNECTION}"
        );
        let delta = match action {
            ConnectionAction::Accept | ConnectionAction::Remove => [0, 0, 1],
            ConnectionAction::Decline | ConnectionAction::Withdraw => [0, 0, 0],
        };
        let pair = ordered((current.requester_id, delta), (current.addressee_id, delta));
        let event = NewEvent::new(action.event(ConnectionChanged {
            connection_id: current.id,
            requester_id: current.requester_id,
            addressee_id: current.addressee_id,
            actor_id: actor,
        }));
        let row: Option<ConnectionRow> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<ConnectionRow> = sqlx::query_as(&sql)
                .bind(current.id.as_uuid())
                .bind(DbEnum(to))
                .bind(now)
                .bind(DbEnum(current.status))
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_some() {
                match action {
                    ConnectionAction::Accept => {
                        add_counts!(tx, pair, now)?;
                    }
                    ConnectionAction::Remove => sub_counts!(tx, pair, now)?,
                    _ => {}
                }
                tx.append_event(&event, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        row.map(Connection::from).ok_or_else(|| {
            Error::conflict(
                "invalid_transition",
                "the connection changed meanwhile; reload it",
            )
        })
    }

    #[tracing::instrument(skip(self, after))]
    async fn list_connections(
        &self,
        user: UserId,
        filter: ConnectionFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<ConnectionEntry>> {
        let after: Option<Uuid> = after.map(|c| c.decode()).transpose()?;
        let side = match filter.direction {
            None => "(c.requester_id = $1 OR c.addressee_id = $1)",
            Some(Direction::Incoming) => "c.addressee_id = $1",
            Some(Direction::Outgoing) => "c.requester_id = $1",
        };
        // Ids are UUIDv7, so id order is creation order.
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS}, {SUMMARY_COLUMNS} FROM connections c \
             JOIN users u ON u.id = CASE WHEN c.requester_id = $1 THEN c.addressee_id ELSE c.requester_id END \
             WHERE {side} AND c.status = $2 AND ($3 IS NULL OR c.id < $3) \
             ORDER BY c.id DESC LIMIT $4"
        );
        let rows: Vec<ConnectionEntryRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(user.as_uuid())
                .bind(DbEnum(filter.status))
                .bind(after)
                .bind(limit.probe())
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        let entries = rows
            .into_iter()
            .map(|r| ConnectionEntry {
                connection: r.connection.into(),
                other: r.other.into(),
            })
            .collect();
        Ok(Page::from_probe(entries, limit, |e| {
            e.connection.id.as_uuid()
        }))
    }

    #[tracing::instrument(skip(self))]
    async fn follow(&self, follower: UserId, followee: UserId) -> Result<bool> {
        let now = time::now();
        let pair = ordered((follower, [0, 1, 0]), (followee, [1, 0, 0]));
        let event = follow_event(DomainEvent::UserFollowed, follower, followee);
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO user_follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (follower_id, followee_id) DO NOTHING",
            )
            .bind(follower.as_uuid())
            .bind(followee.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                add_counts!(tx, pair, now)?;
                tx.append_event(&event, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(inserted)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn unfollow(&self, follower: UserId, followee: UserId) -> Result<bool> {
        let now = time::now();
        let pair = ordered((follower, [0, 1, 0]), (followee, [1, 0, 0]));
        let event = follow_event(DomainEvent::UserUnfollowed, follower, followee);
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let deleted = sqlx::query("DELETE FROM user_follows WHERE follower_id = $1 AND followee_id = $2")
                .bind(follower.as_uuid())
                .bind(followee.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if deleted {
                sub_counts!(tx, pair, now)?;
                tx.append_event(&event, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(deleted)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, after))]
    async fn followers(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>> {
        self.follow_list(user, "followee_id", "follower_id", after, limit)
            .await
    }

    #[tracing::instrument(skip(self, after))]
    async fn following(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>> {
        self.follow_list(user, "follower_id", "followee_id", after, limit)
            .await
    }

    async fn list_topics(&self, after: Option<&Cursor>, limit: Limit) -> Result<Page<Topic>> {
        self.topics_page(None, after, limit).await
    }

    async fn topic_by_slug(&self, slug: &TopicSlug) -> Result<Option<Topic>> {
        self.topic_row(slug).await
    }

    async fn follow_topic(&self, user: UserId, topic: &Topic) -> Result<bool> {
        self.set_topic_follow(user, topic, true).await
    }

    async fn unfollow_topic(&self, user: UserId, topic: &Topic) -> Result<bool> {
        self.set_topic_follow(user, topic, false).await
    }

    async fn followed_topics(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Topic>> {
        self.topics_page(Some(user), after, limit).await
    }

    async fn suggestions(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Suggestion>> {
        self.suggestions_page(user, after, limit).await
    }
}

fn follow_event(
    kind: fn(FollowChanged) -> DomainEvent,
    follower: UserId,
    followee: UserId,
) -> NewEvent {
    NewEvent::new(kind(FollowChanged {
        follower_id: follower,
        followee_id: followee,
    }))
}

impl Store {
    /// Followers (`key` = followee_id, `other` = follower_id) or followees, newest first.
    async fn follow_list(
        &self,
        user: UserId,
        key: &str,
        other: &str,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>> {
        let page = self
            .people_list("user_follows", user, key, other, after, limit)
            .await?;
        Ok(page.map(|(user, since)| FollowEntry { user, since }))
    }

    /// The members `user` is linked to through `table` (`key` is `user`'s column, `other` the
    /// linked member's), with when the link was made, newest first. Serves follows and blocks.
    pub(crate) async fn people_list(
        &self,
        table: &str,
        user: UserId,
        key: &str,
        other: &str,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<(UserSummary, Timestamp)>> {
        let (at, id) = time_key(after)?;
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, f.created_at AS since FROM {table} f \
             JOIN users u ON u.id = f.{other} \
             WHERE f.{key} = $1 AND ($2 IS NULL OR f.created_at < $2 OR (f.created_at = $2 AND f.{other} < $3)) \
             ORDER BY f.created_at DESC, f.{other} DESC LIMIT $4"
        );
        let rows: Vec<FollowRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(user.as_uuid())
                .bind(at)
                .bind(id)
                .bind(limit.probe())
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        let entries = rows.into_iter().map(|r| (r.user.into(), r.since)).collect();
        Ok(Page::from_probe(
            entries,
            limit,
            |(user, since): &(UserSummary, Timestamp)| (*since, user.id.as_uuid()),
        ))
    }
}
