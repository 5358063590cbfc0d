//! The home-feed cache: each recent reader's first [`HomeCacheConfig::timeline`] entries and
//! [`Circle`], the posts those entries show, and the reader's own state on them, kept in memory
//! so that reading a home feed costs no query until something it shows changes. Search reads
//! its hits through it too: posts, and the directory cards of the members a profile search
//! finds (how each relates to the viewer comes from the viewer's circle).
//!
//! The cache follows the outbox like the search indexer does (each instance has its own, fed by
//! the one outbox, [`Checkpoint`] and all) and drops what an event may have changed:
//!
//! | events | dropped |
//! |---|---|
//! | `post.created`, `repost.created`, `repost.removed` | the timelines of the members whose circle holds the author or reposter, or who follow one of the post's topics; the post |
//! | `post.updated` | the post; every timeline when visibility or topics changed |
//! | `post.deleted` | the post; every timeline holding it |
//! | `reaction.*`, `comment.*`, `share.created`, `bookmark.*` | the post; the actor's state on it |
//! | `user.followed`, `user.unfollowed`, `user.blocked`, `user.unblocked`, `topic.*` | the timelines and circles of the members named |
//! | `connection.*` | the timelines and circles of the two members, and their cards (the connection count shows there) |
//! | other `user.*`, `profile.*` | the member's posts and card, and the timelines whose circle holds them (their name, picture or level shows there) |
//! | an event this version cannot read (written by a newer one) | everything |
//!
//! The sources' windows ([`sources`]: each author's, topic's and reposter's newest entries, the
//! same for every reader) are dropped on the same events: `post.created` drops its author's and
//! its topics' windows, `repost.*` the reposter's, `post.deleted` every window showing the post,
//! a change of visibility or topics, `user.disabled`, `user.enabled` or an unreadable event all
//! of them, and a change to a member their reposts window (their name shows on their reposts).
//!
//! A member's timeline starts as the page they first read (assembled from the windows of their
//! circle's sources where those settle it, else read from the database as that page); a deeper
//! page answered right after the kept entries (from the windows or the database) extends it
//! ([`HomeCache::extend`]), up to [`HomeCacheConfig::timeline`] entries.
//!
//! Dropped parts are read again on the next request, in one query each. A request right after a
//! change made through this instance first applies the pending events (read-your-writes);
//! changes made through another instance show here within one poll of the outbox. Whatever
//! the cache holds, a member's timeline is rebuilt after [`HomeCacheConfig::ttl`], and posts are
//! checked against the reader's circle (visibility, blocks) on every read.
//!
//! A build that raced with an event (the event was applied between the build's reads and its
//! insertion) serves its request but is not kept. When the cache is full, arbitrary members,
//! posts or cards are dropped to make room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod cards;
mod circles;
mod invalidation;
pub mod sources;

use super::feed::{merge, Circle, Feed, FeedEntry, FeedItem, FeedKey, FeedRepo, Merged};
use super::{Post, PostRepo, ViewerState};
use crate::enums::PostVisibility;
use crate::ids::{PostId, UserId};
use crate::outbox::{Checkpoint, OutboxEvent, OutboxRepo, DEFAULT_GRACE};
use crate::page::{Cursor, Limit, Page};
use crate::profiles::ProfileCard;
use crate::Result;
use circles::Circles;
use sources::{Sources, WindowsWanted};

/// Sizes and lifetimes of a [`HomeCache`].
#[derive(Debug, Clone)]
pub struct HomeCacheConfig {
    /// At most how many entries of each member's home feed are kept (the first pages): a
    /// first read keeps its page, deeper pages read right after the kept entries extend them;
    /// pages past them are read from the database.
    pub timeline: u32,
    /// How many members' timelines are kept (the server leaves the cache out when this is 0).
    pub members: usize,
    /// How many posts are kept.
    pub posts: usize,
    /// How many members' directory cards are kept (the profiles search shows).
    pub cards: usize,
    /// How many of each source's newest entries are kept ([`sources`]): an author's posts, a
    /// topic's, a member's reposts; 0 keeps none (first reads then go to the database).
    pub window: u32,
    /// At most how many source entries are kept in all (about 60 bytes each).
    pub sources: usize,
    /// At most how many members' circles [`HomeCache::preload`] keeps (about half a kilobyte
    /// each).
    pub circles: usize,
    /// A timeline older than this is rebuilt, whatever the events said (the sources' windows,
    /// like the posts, are kept until an event drops them).
    pub ttl: Duration,
    /// Outbox events read per query.
    pub batch: u32,
}

impl Default for HomeCacheConfig {
    fn default() -> Self {
        Self {
            timeline: Limit::MAX,
            members: 20_000,
            posts: 100_000,
            cards: 20_000,
            // Twice the default page and one: a first page is settled by its densest source.
            window: 41,
            sources: 2_000_000,
            circles: 200_000,
            ttl: Duration::from_secs(60),
            batch: 1_000,
        }
    }
}

/// See the module documentation.
pub struct HomeCache {
    feeds: Arc<dyn FeedRepo>,
    posts: Arc<dyn PostRepo>,
    outbox: Arc<dyn OutboxRepo>,
    config: HomeCacheConfig,
    state: Mutex<State>,
    /// One pass over the outbox at a time.
    tail: tokio::sync::Mutex<Option<Checkpoint>>,
    /// Changes made through this instance so far, and how many of them the last pass covered.
    written: AtomicU64,
    applied: AtomicU64,
    stats: Counters,
}

/// What the cache has done since it started (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HomeCacheStats {
    /// Home-feed pages answered by the cache.
    pub pages: u64,
    /// Pages past the kept entries, left to the database.
    pub deep_pages: u64,
    /// Timelines (with circles) read from the database.
    pub timelines_read: u64,
    /// Posts read from the database.
    pub posts_read: u64,
    /// Directory cards read from the database.
    pub cards_read: u64,
    /// Outbox events applied.
    pub events: u64,
    /// Home-feed pages (first reads and deeper ones) assembled from the sources' windows.
    pub assembled: u64,
    /// Sources' windows read from the database.
    pub windows_read: u64,
}

#[derive(Default)]
struct Counters {
    assembled: AtomicU64,
    windows_read: AtomicU64,
    pages: AtomicU64,
    deep_pages: AtomicU64,
    timelines_read: AtomicU64,
    posts_read: AtomicU64,
    cards_read: AtomicU64,
    events: AtomicU64,
}

#[derive(Default)]
struct State {
    members: HashMap<UserId, Member>,
    posts: HashMap<PostId, Arc<Post>>,
    cards: HashMap<UserId, Arc<ProfileCard>>,
    /// The sources' newest entries, shared by every reader.
    sources: Sources,
    /// Every member's circle, compact, once read at start.
    circles: Circles,
    /// Bumped whenever an event drops anything: a build that saw it change keeps nothing.
    epoch: u64,
}

struct Member {
    circle: Arc<Circle>,
    /// Once they read their home feed.
    timeline: Option<Timeline>,
    /// The member's own state on the posts they were shown.
    states: HashMap<PostId, ViewerState>,
    built: Instant,
}

/// What [`HomeCache::page`] answers: a page, or where the database must take over.
pub enum Lookup {
    Page(Page<FeedItem>),
    /// The page lies past the kept entries (or none are kept); pass what the database answers
    /// to [`HomeCache::extend`].
    Deeper(Deeper),
}

/// A page left to the database, and whether its answer may extend the member's timeline.
pub struct Deeper {
    viewer: UserId,
    before: Option<FeedKey>,
    /// The cache's epoch when the timeline was looked at; `None` when nothing may be extended.
    epoch: Option<u64>,
}

/// The first entries of a member's home feed.
#[derive(Clone)]
struct Timeline {
    entries: Arc<[FeedEntry]>,
    /// Older entries exist past the last one kept.
    more: bool,
}

impl HomeCache {
    /// An empty cache. It starts following the outbox (from its end at that moment) on the
    /// first read or pass, and holds nothing before.
    pub fn new(
        feeds: Arc<dyn FeedRepo>,
        posts: Arc<dyn PostRepo>,
        outbox: Arc<dyn OutboxRepo>,
        config: HomeCacheConfig,
    ) -> Self {
        Self {
            feeds,
            posts,
            outbox,
            config,
            state: Mutex::new(State::default()),
            tail: tokio::sync::Mutex::new(None),
            // One change ahead of what was applied: the first read starts the cache.
            written: AtomicU64::new(1),
            applied: AtomicU64::new(0),
            stats: Counters::default(),
        }
    }

    /// Records that a change was committed through this instance: the next read applies the
    /// outbox first.
    pub fn note_write(&self) {
        self.written.fetch_add(1, Ordering::AcqRel);
    }

    pub fn config(&self) -> &HomeCacheConfig {
        &self.config
    }

    pub fn stats(&self) -> HomeCacheStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        HomeCacheStats {
            pages: read(&self.stats.pages),
            deep_pages: read(&self.stats.deep_pages),
            timelines_read: read(&self.stats.timelines_read),
            posts_read: read(&self.stats.posts_read),
            cards_read: read(&self.stats.cards_read),
            events: read(&self.stats.events),
            assembled: read(&self.stats.assembled),
            windows_read: read(&self.stats.windows_read),
        }
    }

    /// How many members and posts the cache holds.
    pub fn size(&self) -> (usize, usize) {
        let state = self.lock();
        (state.members.len(), state.posts.len())
    }

    /// Applies the events not applied yet; returns how many there were.
    pub async fn pass(&self) -> Result<usize> {
        let mut tail = self.tail.lock().await;
        let covered = self.written.load(Ordering::Acquire);
        let Some(checkpoint) = tail.as_mut() else {
            // Nothing is cached before this moment, so the events before it are not needed.
            let last = self.outbox.last_seq().await?;
            *tail = Some(Checkpoint::new(last, DEFAULT_GRACE));
            self.applied.fetch_max(covered, Ordering::AcqRel);
            return Ok(0);
        };
        let mut applied = 0;
        loop {
            let events = checkpoint
                .unapplied(self.outbox.as_ref(), self.config.batch)
                .await?;
            let now = Instant::now();
            if events.is_empty() {
                checkpoint.tick(now);
                break;
            }
            self.apply(&events);
            checkpoint.record(events.iter().map(|e| e.seq), now);
            applied += events.len();
            self.stats
                .events
                .fetch_add(events.len() as u64, Ordering::Relaxed);
            if events.len() < self.config.batch as usize {
                break;
            }
        }
        self.applied.fetch_max(covered, Ordering::AcqRel);
        Ok(applied)
    }

    /// Applies the outbox first when this instance made a change since the last pass.
    async fn catch_up(&self) -> Result<()> {
        if self.applied.load(Ordering::Acquire) < self.written.load(Ordering::Acquire) {
            self.pass().await?;
        }
        Ok(())
    }

    /// A page of `viewer`'s home feed from the cache, or [`Lookup::Deeper`] when the page lies
    /// past the kept entries (the caller reads it from the database, then calls
    /// [`HomeCache::extend`]).
    pub async fn page(
        &self,
        viewer: UserId,
        before: Option<FeedKey>,
        limit: Limit,
    ) -> Result<Lookup> {
        self.catch_up().await?;
        let Some((circle, timeline, epoch)) = self.timeline(viewer, before, limit).await? else {
            self.stats.deep_pages.fetch_add(1, Ordering::Relaxed);
            return Ok(Lookup::Deeper(Deeper {
                viewer,
                before,
                epoch: None,
            }));
        };
        let start = match before {
            Some(key) => timeline.entries.partition_point(|e| e.key >= key),
            None => 0,
        };
        let rest = &timeline.entries[start..];
        let limit = limit.get() as usize;
        if rest.len() < limit && timeline.more {
            self.stats.deep_pages.fetch_add(1, Ordering::Relaxed);
            // The database's answer continues the kept entries when the page starts inside
            // them or right after them.
            let contiguous = match (before, timeline.entries.last()) {
                (Some(key), Some(last)) => key >= last.key,
                _ => true,
            };
            return Ok(Lookup::Deeper(Deeper {
                viewer,
                before,
                epoch: contiguous.then_some(epoch),
            }));
        }
        self.stats.pages.fetch_add(1, Ordering::Relaxed);
        let entries = &rest[..rest.len().min(limit)];
        let next = (rest.len() > limit || (rest.len() == limit && timeline.more))
            .then(|| entries.last().map(|e| Cursor::encode(&e.key)))
            .flatten();
        let ids: Vec<PostId> = entries.iter().map(|e| e.key.post).collect();
        let mut posts = self.hydrate(Some(viewer), &circle, &ids).await?;
        let items = entries
            .iter()
            .filter_map(|entry| {
                Some(FeedItem {
                    post: posts.remove(&entry.key.post)?,
                    repost: entry.repost.clone(),
                    sponsored: None,
                })
            })
            .collect();
        Ok(Lookup::Page(Page {
            items,
            next_cursor: next,
        }))
    }

    /// Appends what the database answered for a [`Lookup::Deeper`] page to the member's kept
    /// entries, when nothing changed since and the page continues them (up to
    /// [`HomeCacheConfig::timeline`] entries).
    pub fn extend(&self, deeper: Deeper, merged: &Merged) {
        let Some(epoch) = deeper.epoch else { return };
        let cap = self.config.timeline.clamp(1, Limit::MAX) as usize;
        let mut state = self.lock();
        if state.epoch != epoch {
            return;
        }
        let Some(timeline) = state
            .members
            .get_mut(&deeper.viewer)
            .and_then(|m| m.timeline.as_mut())
        else {
            return;
        };
        let start = match deeper.before {
            Some(key) => {
                if timeline.entries.last().is_some_and(|last| key < last.key) {
                    return;
                }
                timeline.entries.partition_point(|e| e.key >= key)
            }
            None => 0,
        };
        let mut entries: Vec<FeedEntry> = timeline.entries[..start].to_vec();
        entries.extend(merged.entries.iter().cloned());
        let mut more = merged.next.is_some();
        if entries.len() > cap {
            entries.truncate(cap);
            more = true;
        }
        if entries.len() > timeline.entries.len() {
            *timeline = Timeline {
                entries: entries.into(),
                more,
            };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live posts among `ids` that `viewer` may see, in the order of `ids`, with their own
    /// state: [`PostRepo::posts_by_ids`] answered from the cache where it can be (search hits).
    pub async fn posts(&self, viewer: Option<UserId>, ids: &[PostId]) -> Result<Vec<Post>> {
        let circle = self.reader_circle(viewer).await?;
        let mut posts = self.hydrate(viewer, &circle, ids).await?;
        Ok(ids.iter().filter_map(|id| posts.remove(id)).collect())
    }

    /// The member and their accepted connections: whose `connections` posts they may see.
    pub async fn audience(&self, viewer: UserId) -> Result<Vec<UserId>> {
        let circle = self.circle(viewer).await?;
        let mut audience: Vec<UserId> = circle.connections.iter().copied().collect();
        audience.push(viewer);
        Ok(audience)
    }

    /// What a read of search hits starts with: the pending events applied, then the reader's
    /// circle (an empty one for an anonymous reader).
    async fn reader_circle(&self, viewer: Option<UserId>) -> Result<Arc<Circle>> {
        self.catch_up().await?;
        Ok(match viewer {
            Some(viewer) => self.circle(viewer).await?,
            None => Arc::new(Circle::default()),
        })
    }

    /// The member's cached circle, read when missing or expired.
    async fn circle(&self, viewer: UserId) -> Result<Arc<Circle>> {
        let (epoch, kept) = {
            let state = self.lock();
            match state.members.get(&viewer) {
                Some(member) if member.built.elapsed() < self.config.ttl => {
                    return Ok(Arc::clone(&member.circle))
                }
                _ => (state.epoch, state.circles.get(viewer)),
            }
        };
        let circle = match kept {
            Some(circle) => Arc::new(circle),
            None => Arc::new(self.feeds.circle(viewer).await?),
        };
        let mut state = self.lock();
        if state.epoch == epoch {
            make_room(&mut state.members, self.config.members);
            let member = Member {
                circle: Arc::clone(&circle),
                timeline: None,
                states: HashMap::new(),
                built: Instant::now(),
            };
            state.members.insert(viewer, member);
        }
        Ok(circle)
    }

    /// The member's circle, cached timeline and the epoch it was seen at. A missing or expired
    /// timeline is built for a first page (`before` is `None`) as that page (`limit` entries);
    /// for a deeper one there is none.
    async fn timeline(
        &self,
        viewer: UserId,
        before: Option<FeedKey>,
        limit: Limit,
    ) -> Result<Option<(Arc<Circle>, Timeline, u64)>> {
        let circle = self.circle(viewer).await?;
        let epoch = {
            let state = self.lock();
            let cached = state.members.get(&viewer).and_then(|m| m.timeline.clone());
            match cached {
                Some(timeline) => return Ok(Some((circle, timeline, state.epoch))),
                None if before.is_some() => return Ok(None),
                None => state.epoch,
            }
        };
        let keep = Limit::parse(limit.get().min(self.config.timeline).max(1))
            .expect("the timeline length is clamped to a valid limit");
        let merged = self.entries_in(viewer, &circle, None, keep).await?;
        self.stats.timelines_read.fetch_add(1, Ordering::Relaxed);
        let timeline = Timeline {
            entries: merged.entries.into(),
            more: merged.next.is_some(),
        };
        let mut state = self.lock();
        if state.epoch == epoch {
            if let Some(member) = state.members.get_mut(&viewer) {
                member.timeline = Some(timeline.clone());
            }
        }
        Ok(Some((circle, timeline, epoch)))
    }

    /// A page of `viewer`'s home feed's entries strictly before `before`, as
    /// [`merge`] makes them from the store's sources: assembled from the sources' windows where
    /// they settle it, else read from the store. For the pages [`HomeCache::page`] leaves to
    /// the database.
    pub async fn entries(
        &self,
        viewer: UserId,
        before: Option<FeedKey>,
        limit: Limit,
    ) -> Result<Merged> {
        let circle = self.circle(viewer).await?;
        self.entries_in(viewer, &circle, before, limit).await
    }

    async fn entries_in(
        &self,
        viewer: UserId,
        circle: &Circle,
        before: Option<FeedKey>,
        limit: Limit,
    ) -> Result<Merged> {
        if self.config.window > 0 {
            if let Some(merged) = self.assemble(viewer, circle, before, limit).await? {
                self.stats.assembled.fetch_add(1, Ordering::Relaxed);
                return Ok(merged);
            }
        }
        let sources = self
            .feeds
            .feed_entries(
                &Feed::Home(viewer),
                Some(viewer),
                before,
                limit.probe() as u32,
            )
            .await?;
        Ok(merge(sources, limit))
    }

    /// The page from the windows of `viewer`'s sources, reading those not kept in one query.
    async fn assemble(
        &self,
        viewer: UserId,
        circle: &Circle,
        before: Option<FeedKey>,
        limit: Limit,
    ) -> Result<Option<Merged>> {
        let mut people: Vec<UserId> =
            Vec::with_capacity(1 + circle.following.len() + circle.connections.len());
        people.push(viewer);
        people.extend(circle.following.iter().filter(|p| **p != viewer));
        people.extend(
            (circle.connections.iter()).filter(|p| **p != viewer && !circle.following.contains(*p)),
        );
        let topics: Vec<String> = circle.topics.iter().cloned().collect();
        let (mut drawn, wanted, epoch) = {
            let state = self.lock();
            let (drawn, wanted) = state.sources.draw(&people, &topics);
            (drawn, wanted, state.epoch)
        };
        if !wanted.is_empty() {
            let got = self.feeds.windows(&wanted, self.config.window).await?;
            let read = wanted.authors.len() + wanted.topics.len() + wanted.reposters.len();
            self.stats
                .windows_read
                .fetch_add(read as u64, Ordering::Relaxed);
            let mut state = self.lock();
            let keep = state.epoch == epoch;
            state
                .sources
                .take(wanted, got, &mut drawn, keep, self.config.sources);
        }
        let window = self.config.window as usize;
        Ok(sources::assemble(
            viewer, circle, &drawn, window, before, limit,
        ))
    }

    /// Reads every member's circle and posts and reposts windows, `page` members at a time, in
    /// id order, until the next page would pass [`HomeCacheConfig::sources`] entries or
    /// [`HomeCacheConfig::circles`] circles: so that a first read finds its circle and the
    /// windows of its sources already there. Starts following the outbox first, so a
    /// change made meanwhile drops what it touched (a page read across such a change is not
    /// kept). Returns the windows and entries kept.
    pub async fn preload(&self, page: u32) -> Result<(usize, usize)> {
        if self.config.window == 0 || self.config.members == 0 {
            return Ok((0, 0));
        }
        self.pass().await?;
        let mut after = None;
        loop {
            let members = self.feeds.members_after(after, page).await?;
            let Some(last) = members.last().copied() else {
                break;
            };
            after = Some(last);
            let epoch = self.lock().epoch;
            let wanted = WindowsWanted {
                authors: members.clone(),
                topics: Vec::new(),
                reposters: members,
            };
            let got = self.feeds.windows(&wanted, self.config.window).await?;
            let mut circles = self.feeds.circles(&wanted.authors).await?;
            let read = wanted.authors.len() + wanted.reposters.len();
            self.stats
                .windows_read
                .fetch_add(read as u64, Ordering::Relaxed);
            let mut state = self.lock();
            let weight = Sources::weight(&got) + read;
            let full = state.sources.size().0 + weight > self.config.sources
                || state.circles.len() + wanted.authors.len() > self.config.circles;
            if full {
                break;
            }
            let keep = state.epoch == epoch;
            if keep {
                for member in &wanted.authors {
                    let circle = circles.remove(member).unwrap_or_default();
                    state.circles.insert(*member, &circle);
                }
            }
            state.sources.take(
                wanted,
                got,
                &mut Default::default(),
                keep,
                self.config.sources,
            );
            if read < 2 * page as usize {
                break;
            }
        }
        Ok(self.sources_size())
    }

    /// How many source entries are kept, in how many windows.
    pub fn sources_size(&self) -> (usize, usize) {
        self.lock().sources.size()
    }

    /// How many members' compact circles are kept.
    pub fn circles_kept(&self) -> usize {
        self.lock().circles.len()
    }

    /// The posts among `ids` that `viewer` may see (anonymous: the public ones), with their own
    /// state, from the cache where it has them.
    async fn hydrate(
        &self,
        viewer: Option<UserId>,
        circle: &Circle,
        ids: &[PostId],
    ) -> Result<HashMap<PostId, Post>> {
        let (mut posts, mut states, epoch) = {
            let state = self.lock();
            let current = viewer.and_then(|v| state.members.get(&v));
            let posts: HashMap<PostId, Arc<Post>> = ids
                .iter()
                .filter_map(|id| Some((*id, Arc::clone(state.posts.get(id)?))))
                .collect();
            let states: HashMap<PostId, ViewerState> = ids
                .iter()
                .filter_map(|id| Some((*id, *current?.states.get(id)?)))
                .collect();
            (posts, states, state.epoch)
        };
        let missing_posts: Vec<PostId> = ids
            .iter()
            .filter(|id| !posts.contains_key(id))
            .copied()
            .collect();
        // The posts not kept come with the viewer's state on them (one statement); the
        // viewer's state on kept posts is read apart, when it is not kept either.
        let mut loaded_posts = if missing_posts.is_empty() {
            Vec::new()
        } else {
            self.posts
                .posts_by_ids_unchecked(&missing_posts, viewer)
                .await?
        };
        self.stats
            .posts_read
            .fetch_add(loaded_posts.len() as u64, Ordering::Relaxed);
        let mut loaded_states = Vec::new();
        if let Some(viewer) = viewer {
            for post in &mut loaded_posts {
                loaded_states.push((post.id, std::mem::take(&mut post.viewer)));
            }
            let missing: Vec<PostId> = ids
                .iter()
                .filter(|id| posts.contains_key(id) && !states.contains_key(id))
                .copied()
                .collect();
            if !missing.is_empty() {
                loaded_states.extend(self.posts.viewer_states(viewer, &missing).await?);
            }
        }
        {
            let mut state = self.lock();
            let keep = state.epoch == epoch;
            if keep {
                make_room(&mut state.posts, self.config.posts);
            }
            for post in loaded_posts {
                let post = Arc::new(post);
                if keep {
                    state.posts.insert(post.id, Arc::clone(&post));
                }
                posts.insert(post.id, post);
            }
            let kept = viewer
                .filter(|_| keep)
                .and_then(|v| state.members.get_mut(&v));
            if let Some(kept) = kept {
                kept.states.extend(loaded_states.iter().copied());
            }
            states.extend(loaded_states);
        }
        Ok(posts
            .into_iter()
            .filter(|(_, shared)| match viewer {
                Some(viewer) => circle.may_see(viewer, shared),
                None => shared.visibility == PostVisibility::Public,
            })
            .map(|(id, shared)| {
                let mut post = Post::clone(&shared);
                post.viewer = states.get(&id).copied().unwrap_or_default();
                (id, post)
            })
            .collect())
    }

    /// Drops what the events may have changed.
    fn apply(&self, events: &[OutboxEvent]) {
        let mut state = self.lock();
        let mut dropped = false;
        for event in events {
            match &event.event {
                Ok(domain) => dropped |= invalidation::drop_for(&mut state, domain),
                // Written by a newer version: it may have changed anything.
                Err(_) => {
                    state.members.clear();
                    state.posts.clear();
                    state.cards.clear();
                    state.sources.clear();
                    state.circles.clear();
                    dropped = true;
                }
            }
        }
        if dropped {
            state.epoch += 1;
        }
    }
}

/// Drops arbitrary entries until one more fits under `capacity`.
fn make_room<K: std::hash::Hash + Eq + Copy, V>(map: &mut HashMap<K, V>, capacity: usize) {
    if map.len() < capacity.max(1) {
        return;
    }
    let excess = map.len() + 1 - capacity.max(1);
    // A tenth more than needed, so that a full cache does not evict on every insertion.
    let evict = (excess + capacity / 10).min(map.len());
    let victims: Vec<K> = map.keys().take(evict).copied().collect();
    for key in victims {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_made_a_tenth_at_a_time() {
        let mut map: HashMap<u32, ()> = (0..100).map(|k| (k, ())).collect();
        make_room(&mut map, 200);
        assert_eq!(map.len(), 100);
        make_room(&mut map, 100);
        assert_eq!(map.len(), 89);
    }
}
