//! Trending posts and topics: engagement weighted by kind and decayed with time, over a window,
//! with minimums so that a handful of likes does not trend.
//!
//! **The formula.** Each engagement `e` on a public, live post, by someone other than its author,
//! within the window, is worth `weight(kind) × 2^(−age / half_life)`: reactions 1, comments 3,
//! reposts 4, shares 5; the half-life is a third of the window (20 minutes for `1h`, 8 hours for
//! `24h`, 56 hours for `7d`). A post's score is the sum over its engagements; it trends when at
//! least [`MIN_ENGAGERS`] different members engaged with it and its score is at least
//! [`MIN_SCORE`]. A topic's score is the sum of its posts' scores (trending or not); it trends when
//! at least [`MIN_TOPIC_POSTS`] of its posts and [`MIN_ENGAGERS`] different members took part.
//! Ties break by the most recent engagement, then by id.
//!
//! **Maintenance.** A periodic job ([`TrendingService::refresh`], every minute inside `vendrome
//! serve`) reads the engagements of the longest window once, scores every window, and replaces
//! the stored top lists; a request reads a stored list and never scores anything.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::ids::{PostId, UserId};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::Result;

/// Different members who must have engaged for a post or topic to trend.
pub const MIN_ENGAGERS: usize = 5;
/// The least score a trending post has.
pub const MIN_SCORE: f64 = 5.0;
/// The least number of engaged posts a trending topic has.
pub const MIN_TOPIC_POSTS: usize = 2;
/// How many posts and topics each stored list keeps.
pub const LIST_SIZE: usize = 100;

/// The period trending looks back over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Hour,
    Day,
    Week,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Hour, Window::Day, Window::Week];

    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        match raw {
            "1h" => Ok(Self::Hour),
            "24h" => Ok(Self::Day),
            "7d" => Ok(Self::Week),
            _ => Err(invalid("invalid_value", "must be 1h, 24h or 7d")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    pub fn length(self) -> Duration {
        Duration::from_secs(match self {
            Self::Hour => 3600,
            Self::Day => 24 * 3600,
            Self::Week => 7 * 24 * 3600,
        })
    }

    /// A third of the window.
    pub fn half_life(self) -> Duration {
        self.length() / 3
    }
}

/// What was trending: posts or topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrendKind {
    Posts,
    Topics,
}

impl TrendKind {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        match raw {
            "posts" => Ok(Self::Posts),
            "topics" => Ok(Self::Topics),
            _ => Err(invalid("invalid_value", "must be posts or topics")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Posts => "posts",
            Self::Topics => "topics",
        }
    }
}

/// The kinds of engagement, by weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngagementKind {
    Reaction,
    Comment,
    Repost,
    Share,
}

impl EngagementKind {
    pub fn weight(self) -> f64 {
        match self {
            Self::Reaction => 1.0,
            Self::Comment => 3.0,
            Self::Repost => 4.0,
            Self::Share => 5.0,
        }
    }
}

/// One engagement with a public, live post, by someone other than its author.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    pub post: PostId,
    pub member: UserId,
    pub kind: EngagementKind,
    pub at: Timestamp,
    /// The post's topics (slugs).
    pub topics: Vec<String>,
}

/// One place on a trending list: a post id or a topic slug, with its score.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendingItem {
    pub id: String,
    pub score: f64,
    pub engagers: i64,
    /// Engaged posts (topics only; 1 for a post).
    pub posts: i64,
}

/// Storage of engagements to score and of the lists scored.
#[async_trait]
pub trait TrendingRepo: Send + Sync {
    /// Every engagement since `since` with a public, live post by someone other than its
    /// author, with the post's topics.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn engagements_since(&self, since: Timestamp) -> Result<Vec<Engagement>>;

    /// Replaces the stored list of `kind` for `window`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn store_trending(
        &self,
        window: Window,
        kind: TrendKind,
        items: &[TrendingItem],
        computed_at: Timestamp,
    ) -> Result<()>;

    /// The stored list, best first, from `offset`, at most `limit`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn trending(
        &self,
        window: Window,
        kind: TrendKind,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<TrendingItem>>;
}

#[derive(Default)]
struct Tally {
    score: f64,
    engagers: HashSet<UserId>,
    posts: HashSet<PostId>,
    latest: Option<Timestamp>,
}

impl Tally {
    fn add(&mut self, engagement: &Engagement, value: f64) {
        self.score += value;
        self.engagers.insert(engagement.member);
        self.posts.insert(engagement.post);
        self.latest = self.latest.max(Some(engagement.at));
    }
}

/// Scores `engagements` for `window` as of `now`: the posts and the topics that trend, best
/// first, at most [`LIST_SIZE`] each.
pub fn score(
    engagements: &[Engagement],
    window: Window,
    now: Timestamp,
) -> (Vec<TrendingItem>, Vec<TrendingItem>) {
    let since = now - chrono::Duration::from_std(window.length()).unwrap_or(chrono::Duration::MAX);
    let half_life = window.half_life().as_secs_f64();
    let mut posts: HashMap<String, Tally> = HashMap::new();
    let mut topics: HashMap<String, Tally> = HashMap::new();
    for engagement in engagements.iter().filter(|e| e.at > since && e.at <= now) {
        let age = (now - engagement.at).num_milliseconds() as f64 / 1000.0;
        let value = engagement.kind.weight() * 0.5f64.powf(age / half_life);
        posts
            .entry(engagement.post.to_string())
            .or_default()
            .add(engagement, value);
        for topic in &engagement.topics {
            topics
                .entry(topic.clone())
                .or_default()
                .add(engagement, value);
        }
    }
    let rank = |tallies: HashMap<String, Tally>, keep: &dyn Fn(&Tally) -> bool| {
        let mut ranked: Vec<(String, Tally)> =
            tallies.into_iter().filter(|(_, t)| keep(t)).collect();
        ranked.sort_by(|(a_id, a), (b_id, b)| {
            b.score
                .total_cmp(&a.score)
                .then(b.latest.cmp(&a.latest))
                .then(a_id.cmp(b_id))
        });
        ranked
            .into_iter()
            .take(LIST_SIZE)
            .map(|(id, t)| TrendingItem {
                id,
                score: (t.score * 1000.0).round() / 1000.0,
                engagers: t.engagers.len() as i64,
                posts: t.posts.len() as i64,
            })
            .collect::<Vec<_>>()
    };
    (
        rank(posts, &|t| {
            t.engagers.len() >= MIN_ENGAGERS && t.score >= MIN_SCORE
        }),
        rank(topics, &|t| {
            t.engagers.len() >= MIN_ENGAGERS && t.posts.len() >= MIN_TOPIC_POSTS
        }),
    )
}

/// Keeps the trending lists and answers them.
#[derive(Clone)]
pub struct TrendingService {
    repo: Arc<dyn TrendingRepo>,
}

impl TrendingService {
    pub fn new(repo: Arc<dyn TrendingRepo>) -> Self {
        Self { repo }
    }

    /// Scores every window as of `now` and stores the lists; the engagements are read once.
    pub async fn refresh(&self, now: Timestamp) -> Result<()> {
        let longest = chrono::Duration::from_std(Window::Week.length()).unwrap_or_default();
        let engagements = self.repo.engagements_since(now - longest).await?;
        for window in Window::ALL {
            let (posts, topics) = score(&engagements, window, now);
            self.repo
                .store_trending(window, TrendKind::Posts, &posts, now)
                .await?;
            self.repo
                .store_trending(window, TrendKind::Topics, &topics, now)
                .await?;
        }
        Ok(())
    }

    pub async fn list(
        &self,
        window: Window,
        kind: TrendKind,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<TrendingItem>> {
        self.repo.trending(window, kind, offset, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: Timestamp, minutes_ago: i64) -> Timestamp {
        now - chrono::Duration::minutes(minutes_ago)
    }

    fn engagement(
        post: PostId,
        member: UserId,
        kind: EngagementKind,
        when: Timestamp,
    ) -> Engagement {
        Engagement {
            post,
            member,
            kind,
            at: when,
            topics: vec!["agritech".into()],
        }
    }

    /// A fixed data set: the numbers below follow from the formula by hand.
    #[test]
    fn the_formula_on_a_fixed_data_set() {
        let now = crate::time::now();
        let members: Vec<UserId> = (0..6).map(|_| UserId::new()).collect();
        let (hot, cold, small) = (PostId::new(), PostId::new(), PostId::new());
        let mut data = Vec::new();
        // `hot`: five members just now, one comment each (5 × 3 = 15), and one share 20 minutes
        // ago, one half-life in the hour window (5 × 0.5 = 2.5): 17.5.
        for member in &members[..5] {
            data.push(engagement(hot, *member, EngagementKind::Comment, now));
        }
        data.push(engagement(
            hot,
            members[5],
            EngagementKind::Share,
            at(now, 20),
        ));
        // `cold`: six reactions 40 minutes ago, two half-lives: 6 × 0.25 = 1.5 (too low), and
        // in the day window (half-life 8 h): 6 × 2^(−1/12).
        for member in &members {
            data.push(engagement(
                cold,
                *member,
                EngagementKind::Reaction,
                at(now, 40),
            ));
        }
        // `small`: three members, weighty but too few people.
        for member in &members[..3] {
            data.push(engagement(small, *member, EngagementKind::Share, now));
        }
        // Outside every window.
        data.push(engagement(
            cold,
            members[0],
            EngagementKind::Share,
            at(now, 8 * 24 * 60),
        ));

        let (posts, topics) = score(&data, Window::Hour, now);
        assert_eq!(
            posts.len(),
            1,
            "only `hot` passes both minimums in the hour"
        );
        assert_eq!(posts[0].id, hot.to_string());
        assert!((posts[0].score - 17.5).abs() < 0.01, "{}", posts[0].score);
        assert_eq!(posts[0].engagers, 6);
        // The topic gathers all three posts: 17.5 + 1.5 + 15.
        assert_eq!(topics.len(), 1);
        assert_eq!(topics[0].posts, 3);
        assert!((topics[0].score - 34.0).abs() < 0.01, "{}", topics[0].score);

        let (posts, _) = score(&data, Window::Day, now);
        let cold_score = 6.0 * 0.5f64.powf(40.0 / 480.0);
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[1].id, cold.to_string());
        assert!(
            (posts[1].score - cold_score).abs() < 0.01,
            "{}",
            posts[1].score
        );
    }

    #[test]
    fn windows_and_kinds_parse() {
        for window in Window::ALL {
            assert_eq!(Window::parse(window.as_str()).unwrap(), window);
        }
        assert!(Window::parse("2h").is_err());
        assert_eq!(TrendKind::parse("topics").unwrap(), TrendKind::Topics);
        assert_eq!(Window::Hour.half_life(), Duration::from_secs(1200));
    }
}
