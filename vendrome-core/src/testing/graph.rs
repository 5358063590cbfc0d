//! [`GraphRepo`] and [`BlockRepo`] in memory.

use async_trait::async_trait;

use super::{page_of, InMemory, World};
use crate::enums::ConnectionStatus;
use crate::graph::blocks::{BlockEntry, BlockRepo};
use crate::graph::{
    Connection, ConnectionAction, ConnectionEntry, ConnectionFilter, Direction, FollowEntry,
    GraphCounts, GraphRepo, NewConnection, Suggestion, Topic, TopicSlug, UserSummary,
};
use crate::ids::{ConnectionId, UserId};
use crate::page::{Cursor, Limit, Page};
use crate::time::{self, Timestamp};
use crate::{Error, Result};

fn open(status: ConnectionStatus) -> bool {
    matches!(
        status,
        ConnectionStatus::Pending | ConnectionStatus::Accepted
    )
}

/// A row of a list of pairs (follows, blocks): who, whom, since when.
type PairRow = (UserId, UserId, Timestamp);

/// Removes the row `(a, b, _)`; whether there was one.
fn remove_pair(rows: &mut Vec<PairRow>, a: UserId, b: UserId) -> bool {
    let before = rows.len();
    rows.retain(|r| (r.0, r.1) != (a, b));
    rows.len() < before
}

impl World {
    /// The member `pick` names in each row, newest row first, with the row's time.
    fn people<'a>(
        &'a self,
        rows: &'a [PairRow],
        pick: impl Fn(&PairRow) -> Option<UserId> + 'a,
    ) -> impl Iterator<Item = (UserSummary, Timestamp)> + 'a {
        rows.iter()
            .rev()
            .filter_map(move |r| Some((self.summary(pick(r)?)?, r.2)))
    }
}

fn pair(c: &Connection, a: UserId, b: UserId) -> bool {
    (c.requester_id, c.addressee_id) == (a, b) || (c.requester_id, c.addressee_id) == (b, a)
}

#[async_trait]
impl GraphRepo for InMemory {
    async fn user_summary(&self, id: UserId) -> Result<Option<UserSummary>> {
        Ok(self.world().summary(id))
    }

    async fn is_blocked(&self, a: UserId, b: UserId) -> Result<bool> {
        Ok(self.world().blocked(a, b))
    }

    async fn graph_counts(&self, user: UserId) -> Result<GraphCounts> {
        let world = self.world();
        let count = |n: usize| n as i64;
        Ok(GraphCounts {
            followers: count(world.follows.iter().filter(|f| f.1 == user).count()),
            following: count(world.follows.iter().filter(|f| f.0 == user).count()),
            connections: count(
                world
                    .connections
                    .iter()
                    .filter(|c| c.status == ConnectionStatus::Accepted && c.party(user).is_some())
                    .count(),
            ),
        })
    }

    async fn create_connection(&self, new: NewConnection) -> Result<Connection> {
        let mut world = self.world();
        if world
            .connections
            .iter()
            .any(|c| open(c.status) && pair(c, new.requester_id, new.addressee_id))
        {
            return Err(crate::graph::connection_exists());
        }
        let now = time::now();
        let connection = Connection {
            id: ConnectionId::new(),
            requester_id: new.requester_id,
            addressee_id: new.addressee_id,
            status: ConnectionStatus::Pending,
            note: new.note.map(|n| n.as_str().to_owned()),
            created_at: now,
            updated_at: now,
            responded_at: None,
        };
        world.connections.push(connection.clone());
        world.announce("connection.requested");
        Ok(connection)
    }

    async fn connection(&self, id: ConnectionId) -> Result<Option<Connection>> {
        Ok(self
            .world()
            .connections
            .iter()
            .find(|c| c.id == id)
            .cloned())
    }

    async fn open_connection(&self, a: UserId, b: UserId) -> Result<Option<Connection>> {
        let world = self.world();
        Ok(world
            .connections
            .iter()
            .find(|c| open(c.status) && pair(c, a, b))
            .cloned())
    }

    async fn apply_transition(
        &self,
        current: &Connection,
        to: ConnectionStatus,
        action: ConnectionAction,
        actor: UserId,
    ) -> Result<Connection> {
        let mut world = self.world();
        let now = time::now();
        let row = world
            .connections
            .iter_mut()
            .find(|c| c.id == current.id && c.status == current.status)
            .ok_or_else(|| {
                Error::conflict(
                    "invalid_transition",
                    "the connection changed meanwhile; reload it",
                )
            })?;
        if row.status == ConnectionStatus::Pending {
            row.responded_at = Some(now);
        }
        row.status = to;
        row.updated_at = now;
        let row = row.clone();
        let event = action.event(crate::events::ConnectionChanged {
            connection_id: row.id,
            requester_id: row.requester_id,
            addressee_id: row.addressee_id,
            actor_id: actor,
        });
        world.announce(event.event_type());
        Ok(row)
    }

    async fn list_connections(
        &self,
        user: UserId,
        filter: ConnectionFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<ConnectionEntry>> {
        let world = self.world();
        let entries: Vec<ConnectionEntry> = world
            .connections
            .iter()
            .rev()
            .filter(|c| c.status == filter.status)
            .filter(|c| match filter.direction {
                None => c.party(user).is_some(),
                Some(Direction::Incoming) => c.addressee_id == user,
                Some(Direction::Outgoing) => c.requester_id == user,
            })
            .filter_map(|c| {
                Some(ConnectionEntry {
                    connection: c.clone(),
                    other: world.summary(c.other(user))?,
                })
            })
            .collect();
        page_of(entries, after, limit)
    }

    async fn follow(&self, follower: UserId, followee: UserId) -> Result<bool> {
        let mut world = self.world();
        if world
            .follows
            .iter()
            .any(|f| (f.0, f.1) == (follower, followee))
        {
            return Ok(false);
        }
        world.follows.push((follower, followee, time::now()));
        world.announce("user.followed");
        Ok(true)
    }

    async fn unfollow(&self, follower: UserId, followee: UserId) -> Result<bool> {
        let mut world = self.world();
        let ended = remove_pair(&mut world.follows, follower, followee);
        if ended {
            world.announce("user.unfollowed");
        }
        Ok(ended)
    }

    async fn followers(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>> {
        let world = self.world();
        let entries = world
            .people(&world.follows, |f| (f.1 == user).then_some(f.0))
            .map(|(user, since)| FollowEntry { user, since })
            .collect();
        page_of(entries, after, limit)
    }

    async fn following(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FollowEntry>> {
        let world = self.world();
        let entries = world
            .people(&world.follows, |f| (f.0 == user).then_some(f.1))
            .map(|(user, since)| FollowEntry { user, since })
            .collect();
        page_of(entries, after, limit)
    }

    async fn list_topics(&self, after: Option<&Cursor>, limit: Limit) -> Result<Page<Topic>> {
        let mut topics = self.world().topics.clone();
        topics.sort_by(|a, b| a.slug.cmp(&b.slug));
        page_of(topics, after, limit)
    }

    async fn topic_by_slug(&self, slug: &TopicSlug) -> Result<Option<Topic>> {
        let world = self.world();
        Ok(world
            .topics
            .iter()
            .find(|t| t.slug == slug.as_str())
            .cloned())
    }

    async fn follow_topic(&self, user: UserId, topic: &Topic) -> Result<bool> {
        let mut world = self.world();
        if world.topic_follows.contains(&(user, topic.id)) {
            return Ok(false);
        }
        world.topic_follows.push((user, topic.id));
        if let Some(t) = world.topics.iter_mut().find(|t| t.id == topic.id) {
            t.follower_count += 1;
        }
        world.announce("topic.followed");
        Ok(true)
    }

    async fn unfollow_topic(&self, user: UserId, topic: &Topic) -> Result<bool> {
        let mut world = self.world();
        let before = world.topic_follows.len();
        world.topic_follows.retain(|f| *f != (user, topic.id));
        if world.topic_follows.len() == before {
            return Ok(false);
        }
        if let Some(t) = world.topics.iter_mut().find(|t| t.id == topic.id) {
            t.follower_count -= 1;
        }
        world.announce("topic.unfollowed");
        Ok(true)
    }

    async fn followed_topics(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Topic>> {
        let world = self.world();
        let mut topics: Vec<Topic> = world
            .topics
            .iter()
            .filter(|t| world.topic_follows.contains(&(user, t.id)))
            .cloned()
            .collect();
        topics.sort_by(|a, b| a.slug.cmp(&b.slug));
        page_of(topics, after, limit)
    }

    async fn suggestions(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Suggestion>> {
        let world = self.world();
        let connections = |of: UserId| -> Vec<UserId> {
            world
                .connections
                .iter()
                .filter(|c| c.status == ConnectionStatus::Accepted && c.party(of).is_some())
                .map(|c| c.other(of))
                .collect()
        };
        let mine = connections(user);
        let mut suggestions: Vec<Suggestion> = world
            .users
            .iter()
            .map(|(u, _)| u.id)
            .filter(|&other| other != user && !world.blocked(user, other))
            .filter(|&other| {
                !world
                    .connections
                    .iter()
                    .any(|c| open(c.status) && pair(c, user, other))
            })
            .filter_map(|other| {
                let mutual = connections(other)
                    .iter()
                    .filter(|p| mine.contains(p))
                    .count() as i64;
                (mutual > 0).then(|| {
                    Some(Suggestion {
                        user: world.summary(other)?,
                        mutual_connections: mutual,
                        shared_topics: 0,
                        score: mutual * 100,
                    })
                })?
            })
            .collect();
        suggestions.sort_by_key(|s| std::cmp::Reverse(s.score));
        page_of(suggestions, after, limit)
    }
}

#[async_trait]
impl BlockRepo for InMemory {
    async fn block(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        use crate::graph::{transition, Party};
        let mut world = self.world();
        if world
            .blocks
            .iter()
            .any(|b| (b.0, b.1) == (blocker, blocked))
        {
            return Ok(false);
        }
        let now = time::now();
        world.blocks.push((blocker, blocked, now));
        world
            .follows
            .retain(|f| (f.0, f.1) != (blocker, blocked) && (f.0, f.1) != (blocked, blocker));
        for c in world
            .connections
            .iter_mut()
            .filter(|c| pair(c, blocker, blocked))
        {
            let (action, party) = match (c.status, c.requester_id == blocker) {
                (ConnectionStatus::Accepted, _) => (ConnectionAction::Remove, Party::Requester),
                (ConnectionStatus::Pending, true) => (ConnectionAction::Withdraw, Party::Requester),
                (ConnectionStatus::Pending, false) => (ConnectionAction::Decline, Party::Addressee),
                _ => continue,
            };
            c.status = transition(c.status, action, party)?;
            c.updated_at = now;
        }
        world.announce("user.blocked");
        Ok(true)
    }

    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        let mut world = self.world();
        let lifted = remove_pair(&mut world.blocks, blocker, blocked);
        if lifted {
            world.announce("user.unblocked");
        }
        Ok(lifted)
    }

    async fn blocks(
        &self,
        blocker: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<BlockEntry>> {
        let world = self.world();
        let entries = world
            .people(&world.blocks, |b| (b.0 == blocker).then_some(b.1))
            .map(|(user, since)| BlockEntry { user, since })
            .collect();
        page_of(entries, after, limit)
    }
}
