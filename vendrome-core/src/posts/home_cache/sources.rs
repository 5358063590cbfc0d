//! The home feed's sources, kept in memory and shared by every reader: each author's newest
//! posts, each topic's, and each member's newest reposts ([`Windows`], read through
//! [`FeedRepo::windows`](crate::posts::feed::FeedRepo::windows)). A member's first page is then
//! assembled from the windows of the people and topics of their circle ([`assemble`]), so a
//! first read costs the circle, the windows nobody read yet, and the posts not kept, instead of
//! scanning every source in the database.
//!
//! A window holds its source's newest [`HomeCacheConfig::window`](super::HomeCacheConfig)
//! entries, with no viewer's rules applied (only what holds for everyone: live posts, by members
//! who are not disabled). Below the oldest entry of a full window more may exist, so a page is
//! answered only where every window it draws on is exact: above the newest such oldest entry
//! (the horizon), and only when more than a page lies there or no window is full. Otherwise the
//! page is read from the database, as without the windows. The rules applied here are those of
//! the store's SQL (`feeds.rs`), one for one, and `vendrome-cli/tests/feed_walk.rs` walks both.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::feed::{Circle, FeedEntry, FeedKey, Merged, Repost};
use super::super::AuthorSummary;
use crate::enums::PostVisibility;
use crate::ids::{PostId, UserId};
use crate::page::Limit;
use crate::time::Timestamp;

/// A post in an author's or a topic's window: where it stands, whose it is, who may see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostMark {
    pub key: FeedKey,
    pub author: UserId,
    pub visibility: PostVisibility,
}

/// A repost in its member's window: `key` is the repost's time and the post; `author` and
/// `visibility` are the post's.
#[derive(Debug, Clone, PartialEq)]
pub struct RepostMark {
    pub key: FeedKey,
    pub author: UserId,
    pub visibility: PostVisibility,
    pub quote: Option<String>,
}

/// A member's newest reposts (of live posts by members not disabled, made after the post),
/// with the member as their reposts show them and whether the member is disabled (a disabled
/// member's reposts are not shown, but still make the post's older entries give way, as in the
/// store's SQL).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReposterMarks {
    /// `None` when they reposted nothing.
    pub by: Option<AuthorSummary>,
    pub disabled: bool,
    pub reposts: Vec<RepostMark>,
}

/// The sources whose windows are wanted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowsWanted {
    pub authors: Vec<UserId>,
    /// Slugs.
    pub topics: Vec<String>,
    pub reposters: Vec<UserId>,
}

impl WindowsWanted {
    pub fn is_empty(&self) -> bool {
        self.authors.is_empty() && self.topics.is_empty() && self.reposters.is_empty()
    }
}

/// The windows of the sources asked for, newest first. A source with nothing in it may be left
/// out: it is taken as empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows {
    pub authors: HashMap<UserId, Vec<PostMark>>,
    pub topics: HashMap<String, Vec<PostMark>>,
    pub reposters: HashMap<UserId, ReposterMarks>,
}

/// The windows kept, and how many entries they hold in all.
#[derive(Default)]
pub(super) struct Sources {
    authors: HashMap<UserId, Arc<Vec<PostMark>>>,
    topics: HashMap<String, Arc<Vec<PostMark>>>,
    reposters: HashMap<UserId, Arc<ReposterMarks>>,
    entries: usize,
}

/// The windows one page draws on, the author and reposter ones by their member.
#[derive(Default)]
pub(super) struct Drawn {
    pub authors: Vec<(UserId, Arc<Vec<PostMark>>)>,
    pub topics: Vec<Arc<Vec<PostMark>>>,
    pub reposters: Vec<(UserId, Arc<ReposterMarks>)>,
}

impl Sources {
    /// The windows kept of `people`'s posts and reposts and of `topics`, and the ones missing.
    pub fn draw(&self, people: &[UserId], topics: &[String]) -> (Drawn, WindowsWanted) {
        let mut drawn = Drawn::default();
        let mut wanted = WindowsWanted::default();
        for person in people {
            match self.authors.get(person) {
                Some(window) => drawn.authors.push((*person, Arc::clone(window))),
                None => wanted.authors.push(*person),
            }
            match self.reposters.get(person) {
                Some(window) => drawn.reposters.push((*person, Arc::clone(window))),
                None => wanted.reposters.push(*person),
            }
        }
        for topic in topics {
            match self.topics.get(topic) {
                Some(window) => drawn.topics.push(Arc::clone(window)),
                None => wanted.topics.push(topic.clone()),
            }
        }
        (drawn, wanted)
    }

    /// How many entries `got` would add, counting a window as one more (its own cost).
    pub fn weight(got: &Windows) -> usize {
        got.authors.values().map(|w| w.len() + 1).sum::<usize>()
            + got
                .reposters
                .values()
                .map(|w| w.reposts.len() + 1)
                .sum::<usize>()
            + got.topics.values().map(Vec::len).sum::<usize>()
    }

    /// Adds what the store answered for `wanted` to `drawn`, and keeps it when `keep` (making
    /// room first, so that at most `capacity` entries are kept).
    pub fn take(
        &mut self,
        wanted: WindowsWanted,
        mut got: Windows,
        drawn: &mut Drawn,
        keep: bool,
        capacity: usize,
    ) {
        if keep {
            self.make_room(Self::weight(&got), capacity);
        }
        for author in wanted.authors {
            let window = Arc::new(got.authors.remove(&author).unwrap_or_default());
            if keep {
                self.entries += window.len() + 1;
                if let Some(old) = self.authors.insert(author, Arc::clone(&window)) {
                    self.entries -= old.len() + 1;
                }
            }
            drawn.authors.push((author, window));
        }
        for reposter in wanted.reposters {
            let window = Arc::new(got.reposters.remove(&reposter).unwrap_or_default());
            if keep {
                self.entries += window.reposts.len() + 1;
                if let Some(old) = self.reposters.insert(reposter, Arc::clone(&window)) {
                    self.entries -= old.reposts.len() + 1;
                }
            }
            drawn.reposters.push((reposter, window));
        }
        for topic in wanted.topics {
            let window = Arc::new(got.topics.remove(&topic).unwrap_or_default());
            if keep {
                self.entries += window.len();
                if let Some(old) = self.topics.insert(topic, Arc::clone(&window)) {
                    self.entries -= old.len();
                }
            }
            drawn.topics.push(window);
        }
    }

    /// Drops arbitrary author and reposter windows (the topics are few) until `adding` more
    /// entries fit under `capacity`, and a tenth more, so a full index does not evict on every
    /// read.
    fn make_room(&mut self, adding: usize, capacity: usize) {
        if self.entries + adding <= capacity {
            return;
        }
        let target = capacity.saturating_sub(adding + capacity / 10);
        let authors: Vec<UserId> = self.authors.keys().copied().collect();
        for author in authors {
            if self.entries <= target {
                return;
            }
            self.drop_author(author);
        }
        let reposters: Vec<UserId> = self.reposters.keys().copied().collect();
        for reposter in reposters {
            if self.entries <= target {
                return;
            }
            self.drop_reposter(reposter);
        }
    }

    /// How many entries are kept, in how many windows.
    pub fn size(&self) -> (usize, usize) {
        let windows = self.authors.len() + self.topics.len() + self.reposters.len();
        (self.entries, windows)
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    pub fn drop_author(&mut self, author: UserId) {
        if let Some(old) = self.authors.remove(&author) {
            self.entries -= old.len() + 1;
        }
    }

    pub fn drop_reposter(&mut self, reposter: UserId) {
        if let Some(old) = self.reposters.remove(&reposter) {
            self.entries -= old.reposts.len() + 1;
        }
    }

    pub fn drop_topic(&mut self, topic: &str) {
        if let Some(old) = self.topics.remove(topic) {
            self.entries -= old.len();
        }
    }

    /// Drops every window that shows `post`.
    pub fn drop_post(&mut self, post: PostId) {
        let shows = |marks: &[PostMark]| marks.iter().any(|m| m.key.post == post);
        let authors: Vec<UserId> = (self.authors.iter())
            .filter(|(_, w)| shows(w))
            .map(|(a, _)| *a)
            .collect();
        let topics: Vec<String> = (self.topics.iter())
            .filter(|(_, w)| shows(w))
            .map(|(t, _)| t.clone())
            .collect();
        let reposters: Vec<UserId> = (self.reposters.iter())
            .filter(|(_, w)| w.reposts.iter().any(|m| m.key.post == post))
            .map(|(r, _)| *r)
            .collect();
        authors.into_iter().for_each(|a| self.drop_author(a));
        topics.iter().for_each(|t| self.drop_topic(t));
        reposters.into_iter().for_each(|r| self.drop_reposter(r));
    }
}

/// The entries of `viewer`'s home feed strictly before `before`, at most `limit` of them, from
/// the windows of their circle's sources (`drawn`: the windows of `viewer`, the people they
/// follow and their connections, and of the topics they follow), as [`merge`](super::super::feed::merge)
/// makes them from the store's sources; `None` when the windows do not settle the page.
/// `window` is how many entries a full window holds.
pub(super) fn assemble(
    viewer: UserId,
    circle: &Circle,
    drawn: &Drawn,
    window: usize,
    before: Option<FeedKey>,
    limit: Limit,
) -> Option<Merged> {
    // Below the oldest entry of a full window, that source may have more: the windows are
    // exact down to the newest such entry.
    let floor = |len: usize, last: Option<FeedKey>| last.filter(|_| len >= window);
    let horizon = (drawn.authors.iter())
        .map(|(_, w)| floor(w.len(), w.last().map(|m| m.key)))
        .chain(
            drawn
                .topics
                .iter()
                .map(|w| floor(w.len(), w.last().map(|m| m.key))),
        )
        .chain(
            drawn
                .reposters
                .iter()
                .map(|(_, w)| floor(w.reposts.len(), w.reposts.last().map(|m| m.key))),
        )
        .max()
        .flatten();
    let in_range =
        |key: FeedKey| horizon.is_none_or(|h| key >= h) && before.is_none_or(|b| key < b);
    let visible = |author: UserId, visibility: PostVisibility| {
        !circle.blocked.contains(&author)
            && (visibility == PostVisibility::Public
                || author == viewer
                || circle.connections.contains(&author))
    };
    // Each post's newest repost by the people (a disabled member's too, as the SQL counts it).
    let mut newest: HashMap<PostId, (Timestamp, UserId)> = HashMap::new();
    for (reposter, marks) in &drawn.reposters {
        for mark in &marks.reposts {
            let candidate = (mark.key.at, *reposter);
            newest
                .entry(mark.key.post)
                .and_modify(|n| *n = (*n).max(candidate))
                .or_insert(candidate);
        }
    }
    let reposted_since = |post: PostId, at: Timestamp| newest.get(&post).is_some_and(|n| n.0 > at);

    let mut entries: Vec<FeedEntry> = Vec::new();
    let posts = (drawn.authors.iter().map(|(_, w)| w)).chain(drawn.topics.iter());
    for marks in posts {
        for mark in marks.iter() {
            if in_range(mark.key)
                && visible(mark.author, mark.visibility)
                && !reposted_since(mark.key.post, mark.key.at)
            {
                entries.push(FeedEntry {
                    key: mark.key,
                    repost: None,
                });
            }
        }
    }
    for (reposter, marks) in &drawn.reposters {
        let Some(by) = marks.by.as_ref().filter(|_| !marks.disabled) else {
            continue;
        };
        for mark in &marks.reposts {
            if in_range(mark.key)
                && visible(mark.author, mark.visibility)
                && newest.get(&mark.key.post) == Some(&(mark.key.at, *reposter))
            {
                entries.push(FeedEntry {
                    key: mark.key,
                    repost: Some(Repost {
                        by: by.clone(),
                        quote: mark.quote.clone(),
                    }),
                });
            }
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.key));
    let mut seen = std::collections::HashSet::new();
    entries.retain(|e| seen.insert(e.key.post));

    let limit = limit.get() as usize;
    if entries.len() > limit {
        entries.truncate(limit);
        let next = entries.last().map(|e| e.key);
        return Some(Merged { entries, next });
    }
    // Fewer than a page above the horizon: what lies below it is not known here.
    horizon.is_none().then_some(Merged {
        entries,
        next: None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::enums::VerificationLevel;

    fn at(second: i64) -> Timestamp {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap() + Duration::seconds(second)
    }

    fn id(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    fn post(second: i64, post: u128, author: u128) -> PostMark {
        PostMark {
            key: FeedKey {
                at: at(second),
                post: PostId::from_uuid(Uuid::from_u128(post)),
            },
            author: id(author),
            visibility: PostVisibility::Public,
        }
    }

    fn reposter(
        person: u128,
        disabled: bool,
        reposts: &[(i64, u128, u128)],
    ) -> (UserId, Arc<ReposterMarks>) {
        let by = AuthorSummary {
            id: id(person),
            display_name: format!("member {person}"),
            handle: None,
            avatar_url: None,
            verification_level: VerificationLevel::Unverified,
        };
        let reposts = reposts
            .iter()
            .map(|&(second, post_id, author)| RepostMark {
                key: FeedKey {
                    at: at(second),
                    post: PostId::from_uuid(Uuid::from_u128(post_id)),
                },
                author: id(author),
                visibility: PostVisibility::Public,
                quote: None,
            })
            .collect();
        (
            id(person),
            Arc::new(ReposterMarks {
                by: Some(by),
                disabled,
                reposts,
            }),
        )
    }

    fn seen(merged: &Merged) -> Vec<(u128, Option<u128>)> {
        (merged.entries.iter())
            .map(|e| {
                (
                    e.key.post.as_uuid().as_u128(),
                    e.repost.as_ref().map(|r| r.by.id.as_uuid().as_u128()),
                )
            })
            .collect()
    }

    fn limit(n: u32) -> Limit {
        Limit::parse(n).unwrap()
    }

    /// Viewer 1 follows 2 and 3.
    fn circle() -> Circle {
        Circle {
            following: [id(2), id(3)].into_iter().collect(),
            ..Circle::default()
        }
    }

    #[test]
    fn a_full_window_settles_only_the_pages_above_its_oldest_entry() {
        // Window 3: author 2's window is full (more may lie below second 7), author 3's is not.
        let drawn = Drawn {
            authors: vec![
                (
                    id(2),
                    Arc::new(vec![post(9, 90, 2), post(8, 80, 2), post(7, 70, 2)]),
                ),
                (id(3), Arc::new(vec![post(10, 100, 3), post(1, 10, 3)])),
            ],
            ..Drawn::default()
        };
        let page = assemble(id(1), &circle(), &drawn, 3, None, limit(2)).unwrap();
        assert_eq!(seen(&page), [(100, None), (90, None)]);
        assert_eq!(page.next, Some(post(9, 90, 2).key));
        // Four lie at or above the horizon: a page of four cannot tell whether more follow, as
        // the entry at second 1 lies below it.
        assert_eq!(assemble(id(1), &circle(), &drawn, 3, None, limit(4)), None);
        // Past the first page, from its cursor.
        let next = Some(post(9, 90, 2).key);
        let page = assemble(id(1), &circle(), &drawn, 3, next, limit(1)).unwrap();
        assert_eq!(seen(&page), [(80, None)]);
        assert_eq!(assemble(id(1), &circle(), &drawn, 3, next, limit(2)), None);
        // With author 2's window not full, everything is known.
        let page = assemble(id(1), &circle(), &drawn, 4, None, limit(5)).unwrap();
        assert_eq!(
            seen(&page),
            [(100, None), (90, None), (80, None), (70, None), (10, None)]
        );
        assert_eq!(page.next, None);
    }

    #[test]
    fn a_post_shows_once_at_its_newest_repost_and_the_member_id_breaks_a_tie() {
        // Post 50 by author 9 (not followed), reposted by 2 and 3 at the same second, and
        // post 80 by author 2, reposted later by 3.
        let drawn = Drawn {
            authors: vec![(id(2), Arc::new(vec![post(8, 80, 2)]))],
            reposters: vec![
                reposter(2, false, &[(20, 50, 9)]),
                reposter(3, false, &[(20, 50, 9), (12, 80, 2)]),
            ],
            ..Drawn::default()
        };
        let page = assemble(id(1), &circle(), &drawn, 10, None, limit(10)).unwrap();
        assert_eq!(seen(&page), [(50, Some(3)), (80, Some(3))]);
    }

    #[test]
    fn a_disabled_members_repost_is_not_shown_yet_hides_the_older_entries() {
        let drawn = Drawn {
            authors: vec![(id(2), Arc::new(vec![post(8, 80, 2), post(5, 50, 2)]))],
            reposters: vec![reposter(3, true, &[(12, 80, 2)])],
            ..Drawn::default()
        };
        let page = assemble(id(1), &circle(), &drawn, 10, None, limit(10)).unwrap();
        assert_eq!(seen(&page), [(50, None)]);
    }

    #[test]
    fn blocked_authors_and_connection_posts_follow_the_viewers_circle() {
        let mut only_connections = post(7, 70, 3);
        only_connections.visibility = PostVisibility::Connections;
        let drawn = Drawn {
            authors: vec![
                (id(2), Arc::new(vec![post(9, 90, 2)])),
                (id(3), Arc::new(vec![only_connections])),
            ],
            ..Drawn::default()
        };
        let mut circle = circle();
        circle.blocked.insert(id(2));
        assert!(seen(&assemble(id(1), &circle, &drawn, 10, None, limit(10)).unwrap()).is_empty());
        circle.connections.insert(id(3));
        assert_eq!(
            seen(&assemble(id(1), &circle, &drawn, 10, None, limit(10)).unwrap()),
            [(70, None)]
        );
    }
}
