//! Feeds: the home feed, an author's posts, a topic's posts and the typed listings, all newest
//! first on the keyset `(created_at, post id)` ([`FeedKey`]), through the [`FeedRepo`] port and
//! [`FeedService`].
//!
//! The home feed is assembled on read from several sources (the viewer's own posts and those of
//! the people they follow or are connected to, the posts of followed topics, and the reposts of
//! the same people). A post shows once in a home feed, at its newest entry (its latest repost by
//! those people, else its creation), so the sequence a member walks is the same at any page size
//! and whether its pages come from the home-feed cache or from the store. The store answers each
//! source's newest `limit + 1` entries before the cursor in one round trip, each its post's
//! newest entry and each post once per source; [`merge`] interleaves them, keeps each post once
//! (a post by a followed person in a followed topic is in two sources, at the same key) and stops
//! where the sources' answers stop being complete. A page then holds `limit` items whenever more
//! exist, and costs the same fixed number of queries, whatever its depth.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::home_cache::sources::{Windows, WindowsWanted};
use super::home_cache::{HomeCache, Lookup};
use super::listing::ListingFilter;
use super::{AuthorSummary, Post, PostRepo, TopicSlug};
use crate::access::Caller;
use crate::enums::PostVisibility;
use crate::ids::{CampaignId, PostId, UserId};
use crate::marketing::Delivery;
use crate::page::{Cursor, Limit, Page};
use crate::profiles::Relation;
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::{Error, Result};

/// Which list of posts.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// A member's home feed: their own posts, those of the people they follow or are connected
    /// to, the posts of the topics they follow, and the reposts of those people.
    Home(UserId),
    /// One member's posts.
    Author(UserId),
    /// The posts of a topic.
    Topic(TopicSlug),
    /// Posts by type, with type-specific filters (the marketplace, crowdfunding, investment
    /// and mentorship listings).
    Listing(ListingFilter),
}

/// A position in a feed: the entry's time and its post. Entries are ordered by both, newest
/// first, so the order is total even when many posts share a microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeedKey {
    pub at: Timestamp,
    pub post: PostId,
}

/// Who reposted an entry's post, and what they said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Repost {
    pub by: AuthorSummary,
    pub quote: Option<String>,
}

/// One entry of a source, as the store answers it: the post appears in the feed at `key.at`
/// (its creation, or the moment it was reposted).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub key: FeedKey,
    pub repost: Option<Repost>,
}

/// One item of a feed page.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    pub post: Post,
    /// Set when the post is in the feed because someone the viewer follows reposted it.
    pub repost: Option<Repost>,
    /// Set on a home feed's sponsored item: the campaign that promotes it.
    pub sponsored: Option<CampaignId>,
}

/// The people and topics around a member that decide what their home feed holds and shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Circle {
    /// The people they follow.
    pub following: HashSet<UserId>,
    /// Their accepted connections.
    pub connections: HashSet<UserId>,
    /// The slugs of the topics they follow.
    pub topics: HashSet<String>,
    /// The people they blocked or who blocked them.
    pub blocked: HashSet<UserId>,
    /// The people they asked to connect, with no answer yet.
    pub requests_sent: HashSet<UserId>,
    /// The people who asked them to connect, with no answer yet.
    pub requests_received: HashSet<UserId>,
}

impl Circle {
    /// Whether `person`'s posts and reposts belong in the feed of the circle's owner.
    pub fn includes(&self, owner: UserId, person: UserId) -> bool {
        person == owner || self.following.contains(&person) || self.connections.contains(&person)
    }

    /// Whether the circle's owner may see `post` (public, their own, or a connection's, and
    /// no block either way): the rule the store applies in SQL, for posts read without it.
    pub fn may_see(&self, owner: UserId, post: &Post) -> bool {
        let author = post.author.id;
        if self.blocked.contains(&author) {
            return false;
        }
        post.visibility == PostVisibility::Public
            || author == owner
            || self.connections.contains(&author)
    }

    /// How `person` relates to the circle's owner, as the directory shows it.
    pub fn relation(&self, owner: UserId, person: UserId) -> Relation {
        if person == owner {
            Relation::Myself
        } else if self.connections.contains(&person) {
            Relation::Connected
        } else if self.requests_sent.contains(&person) {
            Relation::RequestSent
        } else if self.requests_received.contains(&person) {
            Relation::RequestReceived
        } else {
            Relation::None
        }
    }
}

/// Storage side of feeds.
#[async_trait]
pub trait FeedRepo: Send + Sync {
    /// For each source of `feed`, its newest `fetch` entries strictly before `before` (all when
    /// `None`), newest first; only live posts `viewer` may see (visibility, blocks). Each post
    /// at most once per source; in a home feed only the entry that is its post's newest in the
    /// whole feed (a post reposted since by someone in the circle shows at the newest repost,
    /// not at its creation nor at older reposts).
    ///
    /// MUST return [`Error::NotFound`] with `user` for an author feed of an unknown user and
    /// with `topic` for an unknown topic.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an author feed of an unknown user,
    /// `topic` for a topic feed of an unknown topic;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn feed_entries(
        &self,
        feed: &Feed,
        viewer: Option<UserId>,
        before: Option<FeedKey>,
        fetch: u32,
    ) -> Result<Vec<Vec<FeedEntry>>>;

    /// Whose posts and which topics make up `viewer`'s home feed, and whom they may not see.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// member has an empty circle.
    async fn circle(&self, viewer: UserId) -> Result<Circle>;

    /// [`FeedRepo::circle`] of each of `members`, in one query; members whose circle is empty
    /// may be left out.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn circles(&self, members: &[UserId]) -> Result<HashMap<UserId, Circle>>;

    /// The newest `window` entries of each source in `wanted`, newest first, with only the
    /// rules that hold for every viewer applied (see [`Windows`]):
    /// - an author's window: their live posts, on `(created_at, post id)`; none when the author
    ///   is disabled;
    /// - a topic's (by slug): its live posts by members not disabled, on the topic link's
    ///   `(created_at, post id)`; none for an unknown slug;
    /// - a member's reposts: their reposts of live posts by members not disabled, made after
    ///   the post, on `(repost created_at, post id)`, with the member's summary and whether they
    ///   are disabled.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn windows(&self, wanted: &WindowsWanted, window: u32) -> Result<Windows>;

    /// Up to `limit` members' ids after `after` (from the first when `None`), in id order: the
    /// pages the home-feed cache reads every member's windows by.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn members_after(&self, after: Option<UserId>, limit: u32) -> Result<Vec<UserId>>;
}

/// Where a page's sponsored item goes: after the third organic item.
const SPONSORED_SLOT: usize = 3;

/// Reads feeds.
#[derive(Clone)]
pub struct FeedService {
    repo: Arc<dyn FeedRepo>,
    posts: Arc<dyn PostRepo>,
    home: Option<Arc<HomeCache>>,
    delivery: Option<Arc<Delivery>>,
}

impl FeedService {
    pub fn new(repo: Arc<dyn FeedRepo>, posts: Arc<dyn PostRepo>) -> Self {
        Self {
            repo,
            posts,
            home: None,
            delivery: None,
        }
    }

    /// Adds a sponsored item to home-feed pages ([`Delivery`]).
    pub fn with_delivery(mut self, delivery: Arc<Delivery>) -> Self {
        self.delivery = Some(delivery);
        self
    }

    /// Serves home feeds from `cache` where it holds them.
    pub fn with_home_cache(mut self, cache: Arc<HomeCache>) -> Self {
        self.home = Some(cache);
        self
    }

    /// A page of `feed` as `viewer` sees it. The home feed needs a signed-in viewer; with
    /// delivery on, a home-feed page carries at most one sponsored item besides its organic
    /// ones (never the viewer's own campaign, placed fourth or last), so the organic sequence a
    /// member walks is the same with delivery on or off.
    pub async fn page(
        &self,
        viewer: Option<&Caller>,
        feed: &Feed,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FeedItem>> {
        let mut page = self.organic(viewer, feed, cursor, limit).await?;
        if let (Feed::Home(owner), Some(delivery)) = (feed, &self.delivery) {
            self.sponsor(&mut page, *owner, delivery).await?;
        }
        Ok(page)
    }

    async fn sponsor(
        &self,
        page: &mut Page<FeedItem>,
        viewer: UserId,
        delivery: &Delivery,
    ) -> Result<()> {
        let Some(chosen) = delivery.choose(viewer, crate::time::now()).await? else {
            return Ok(());
        };
        if page.items.iter().any(|i| i.post.id == chosen.post_id) {
            return Ok(());
        }
        // The home cache answers as `posts_by_ids` does, from memory where it has the post.
        let post = match &self.home {
            Some(cache) => cache.posts(Some(viewer), &[chosen.post_id]).await?,
            None => {
                self.posts
                    .posts_by_ids(&[chosen.post_id], Some(viewer))
                    .await?
            }
        };
        let Some(post) = post.into_iter().next() else {
            return Ok(());
        };
        let at = page.items.len().min(SPONSORED_SLOT);
        page.items.insert(
            at,
            FeedItem {
                post,
                repost: None,
                sponsored: Some(chosen.campaign_id),
            },
        );
        Ok(())
    }

    async fn organic(
        &self,
        viewer: Option<&Caller>,
        feed: &Feed,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<FeedItem>> {
        let viewer_id = viewer.map(|c| c.user_id);
        if let Feed::Home(owner) = feed {
            if viewer_id != Some(*owner) {
                return Err(Error::forbidden(
                    "not_owner",
                    "a home feed is its owner's alone",
                ));
            }
        }
        let before = cursor
            .map(|c| c.decode::<FeedKey>())
            .transpose()
            .map_err(|e| Error::Invalid(relabel(e)))?;
        let mut deeper = None;
        if let (Feed::Home(owner), Some(cache)) = (feed, &self.home) {
            match cache.page(*owner, before, limit).await? {
                Lookup::Page(page) => return Ok(page),
                Lookup::Deeper(d) => deeper = Some(d),
            }
        }
        let merged = match (feed, &self.home) {
            // The home feed's windows may settle a page past the kept entries.
            (Feed::Home(owner), Some(cache)) => cache.entries(*owner, before, limit).await?,
            _ => {
                let sources = self
                    .repo
                    .feed_entries(feed, viewer_id, before, limit.probe() as u32)
                    .await?;
                merge(sources, limit)
            }
        };
        if let (Some(deeper), Some(cache)) = (deeper, &self.home) {
            cache.extend(deeper, &merged);
        }
        let ids: Vec<PostId> = merged.entries.iter().map(|e| e.key.post).collect();
        let mut posts = self.posts.posts_by_ids(&ids, viewer_id).await?;
        let items = merged
            .entries
            .into_iter()
            .filter_map(|entry| {
                let at = posts.iter().position(|p| p.id == entry.key.post)?;
                Some(FeedItem {
                    post: posts.swap_remove(at),
                    repost: entry.repost,
                    sponsored: None,
                })
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: merged.next.map(|key| Cursor::encode(&key)),
        })
    }
}

fn relabel(errors: ValidationErrors) -> ValidationErrors {
    let mut out = ValidationErrors::new();
    out.check("cursor", Err::<(), _>(errors));
    out
}

/// A page's entries, and where the next page starts.
#[derive(Debug, PartialEq)]
pub struct Merged {
    pub entries: Vec<FeedEntry>,
    pub next: Option<FeedKey>,
}

/// Interleaves the sources' answers (each newest first, each at most `limit + 1` long, each post
/// at most once in each) into one page of at most `limit` entries, each post at most once.
/// Since a full source has `limit + 1` distinct posts down to the cut, the page is full
/// whenever more entries exist.
///
/// A source that answered in full (`limit + 1` entries) may hold more entries older than its
/// last one, so the merge is exact only down to the newest such last entry (the cut); entries
/// past the cut wait for the next page. The next cursor is the last entry examined, so a
/// duplicate skipped on this page is not served again on the next.
pub fn merge(sources: Vec<Vec<FeedEntry>>, limit: Limit) -> Merged {
    let fetch = limit.probe() as usize;
    let cut = sources
        .iter()
        .filter(|s| s.len() >= fetch)
        .filter_map(|s| s.last().map(|e| e.key))
        .max();
    let mut all: Vec<FeedEntry> = sources
        .into_iter()
        .flatten()
        .filter(|e| cut.is_none_or(|cut| e.key >= cut))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.key));

    let limit = limit.get() as usize;
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(limit);
    let mut last_examined = None;
    let mut stopped_early = false;
    for entry in all {
        if seen.contains(&entry.key.post) {
            last_examined = Some(entry.key);
            continue;
        }
        if entries.len() == limit {
            stopped_early = true;
            break;
        }
        last_examined = Some(entry.key);
        seen.insert(entry.key.post);
        entries.push(entry);
    }
    let more = stopped_early || cut.is_some();
    Merged {
        entries,
        next: if more { last_examined } else { None },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use uuid::Uuid;

    use super::*;

    fn key(second: i64, post: u128) -> FeedKey {
        FeedKey {
            at: Utc.timestamp_opt(1_800_000_000, 0).unwrap() + Duration::seconds(second),
            post: PostId::from_uuid(Uuid::from_u128(post)),
        }
    }

    fn entry(second: i64, post: u128) -> FeedEntry {
        FeedEntry {
            key: key(second, post),
            repost: None,
        }
    }

    fn posts(merged: &Merged) -> Vec<u128> {
        merged
            .entries
            .iter()
            .map(|e| e.key.post.as_uuid().as_u128())
            .collect()
    }

    #[test]
    fn one_short_source_is_the_whole_feed() {
        let merged = merge(
            vec![vec![entry(3, 3), entry(2, 2)]],
            Limit::parse(5).unwrap(),
        );
        assert_eq!(posts(&merged), [3, 2]);
        assert_eq!(merged.next, None);
    }

    #[test]
    fn a_full_source_means_another_page() {
        let source = (0..4).rev().map(|i| entry(i, i as u128)).collect();
        let merged = merge(vec![source], Limit::parse(3).unwrap());
        assert_eq!(posts(&merged), [3, 2, 1]);
        assert_eq!(merged.next, Some(key(1, 1)));
    }

    #[test]
    fn sources_interleave_and_stop_at_the_cut() {
        // Limit 2, so a full source has 3 entries; its last (second 5) is the cut: the short
        // source's older entries wait for the next page even though they would fit.
        let full = vec![entry(9, 9), entry(7, 7), entry(5, 5)];
        let short = vec![entry(8, 8), entry(1, 1)];
        let merged = merge(vec![full, short], Limit::parse(2).unwrap());
        assert_eq!(posts(&merged), [9, 8]);
        assert_eq!(merged.next, Some(key(8, 8)));

        let full = vec![entry(9, 9), entry(7, 7), entry(5, 5)];
        let short = vec![entry(1, 1)];
        let merged = merge(vec![full, short], Limit::parse(4).unwrap());
        assert_eq!(posts(&merged), [9, 7, 5, 1]);
        assert_eq!(merged.next, None);
    }

    #[test]
    fn a_post_appears_once_per_page_at_its_newest_entry() {
        let authored = vec![entry(5, 1), entry(4, 2)];
        let mut reposted = entry(9, 1);
        reposted.repost = Some(Repost {
            by: AuthorSummary {
                id: UserId::from_uuid(Uuid::from_u128(77)),
                display_name: "Ada".into(),
                handle: None,
                avatar_url: None,
                verification_level: crate::enums::VerificationLevel::Unverified,
            },
            quote: None,
        });
        let merged = merge(vec![authored, vec![reposted]], Limit::parse(10).unwrap());
        assert_eq!(posts(&merged), [1, 2]);
        assert!(merged.entries[0].repost.is_some());
        assert_eq!(merged.next, None);
    }

    #[test]
    fn the_cursor_passes_duplicates_already_examined() {
        // Limit 1: post 1 shows at second 9; its older entry at second 8 is skipped on this page,
        // and the cursor lies past it so the next page does not serve post 1 again.
        let merged = merge(
            vec![vec![entry(9, 1), entry(8, 1), entry(2, 2)]],
            Limit::parse(1).unwrap(),
        );
        assert_eq!(posts(&merged), [1]);
        assert_eq!(merged.next, Some(key(8, 1)));
    }
}
