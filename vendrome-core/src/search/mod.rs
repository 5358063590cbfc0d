//! Search over profiles, posts and topics.
//!
//! Two ports: a [`SearchEngine`] answers a query with ranked document keys (the embedded
//! tantivy index in `vendrome-search`, or PostgreSQL full-text search in `vendrome-store`), and a
//! [`SearchSource`] reads the documents an indexer keeps up to date. [`SearchService`] turns keys
//! into the same posts, directory entries and topics every other endpoint shows — read through
//! the usual visibility rules, so a stale index can never leak a deleted, hidden or disabled
//! thing — and highlights them with the same word rules the engines match with
//! ([`analysis`]).
//!
//! **Ranking.** Every engine multiplies its text relevance (BM25, or `ts_rank` on PostgreSQL) by
//! [`boost`]: `(1 + 0.1·ln(1 + engagement)) × (0.5 + 0.5·2^(−age / 30 days))`, where engagement
//! is a post's weighted engagement (the trending weights), a profile's connection count or a
//! topic's post count, and age counts from a post's creation (profiles and topics get no
//! recency term).

pub mod analysis;
mod documents;
pub mod highlight;
pub mod synonyms;

use std::sync::Arc;

use async_trait::async_trait;

pub use documents::{keys_for, DocKey, PostDoc, ProfileDoc};

use crate::access::Caller;
use crate::enums::{LookingFor, PostType, VerificationLevel};
use crate::graph::Topic;
use crate::ids::{PostId, UserId};
use crate::page::{Cursor, Limit, Page};
use crate::posts::home_cache::HomeCache;
use crate::posts::{Post, PostRepo};
use crate::profiles::{DirectoryEntry, DirectoryFilter, ProfileRepo};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::Result;
use analysis::QueryTerm;
use highlight::Highlight;

/// Results beyond this rank are not served (ask a narrower question).
pub const MAX_DEPTH: u32 = 1_000;
/// Half-life of the recency part of the ranking, in days.
pub const RECENCY_HALF_LIFE_DAYS: f64 = 30.0;

/// What a search looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchKind {
    Posts,
    Profiles,
    Topics,
}

impl SearchKind {
    pub fn parse(raw: &str) -> std::result::Result<Self, ValidationErrors> {
        match raw {
            "posts" => Ok(Self::Posts),
            "profiles" => Ok(Self::Profiles),
            "topics" => Ok(Self::Topics),
            _ => Err(invalid(
                "invalid_value",
                "must be posts, profiles or topics",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Posts => "posts",
            Self::Profiles => "profiles",
            Self::Topics => "topics",
        }
    }
}

/// Filters; each given one must hold. Post filters apply to posts, profile filters to
/// profiles; `min_verification` applies to both (a post's author).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilters {
    pub post_type: Option<PostType>,
    /// A topic slug.
    pub topic: Option<String>,
    pub industry: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: Option<String>,
    /// Lower case.
    pub city: Option<String>,
    /// Lower case.
    pub skill: Option<String>,
    pub looking_for: Option<LookingFor>,
    pub min_verification: Option<VerificationLevel>,
}

/// Whose `connections` posts a search may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// An anonymous viewer: public posts only.
    Public,
    /// A member: public posts, plus `connections` posts by these authors (the member and their
    /// accepted connections).
    Member(Vec<UserId>),
}

/// One query as an engine receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub terms: Vec<QueryTerm>,
    pub kind: SearchKind,
    pub filters: SearchFilters,
    pub audience: Audience,
    pub offset: u32,
    pub limit: u32,
    /// The moment recency is measured from.
    pub now: Timestamp,
}

/// A document an engine found.
#[derive(Debug, Clone, PartialEq)]
pub enum Hit {
    Post(PostId),
    Profile(UserId),
    Topic(String),
}

/// Answers queries with ranked keys, best first. Engines may return documents that have since
/// changed; the service re-reads every hit.
#[async_trait]
pub trait SearchEngine: Send + Sync {
    /// The hits ranked `offset..offset + limit`, with their scores.
    ///
    /// # Errors
    ///
    /// MUST return [`Error::Unavailable`](crate::Error::Unavailable) `search_unavailable` when the
    /// engine cannot answer yet (the embedded index is being built) and `search_timeout` when the
    /// search ran past the engine's time limit (the PostgreSQL path's statement timeout);
    /// [`Error::Unexpected`](crate::Error::Unexpected) for any other failure.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<(Hit, f32)>>;
}

/// Where indexers read documents from.
#[async_trait]
pub trait SearchSource: Send + Sync {
    /// The live posts among `ids` whose authors are not disabled (any visibility).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn post_docs(&self, ids: &[PostId]) -> Result<Vec<PostDoc>>;
    /// The live posts of these authors (those not disabled), in one statement.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn post_docs_by(&self, authors: &[UserId]) -> Result<Vec<PostDoc>>;
    /// The members among `ids` who are not disabled.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn profile_docs(&self, ids: &[UserId]) -> Result<Vec<ProfileDoc>>;
    /// The topics among `slugs`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn topic_docs(&self, slugs: &[String]) -> Result<Vec<Topic>>;
    /// Live posts after `after` in id order (for rebuilding an index).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn scan_posts(&self, after: Option<PostId>, limit: u32) -> Result<Vec<PostDoc>>;
    /// Members who are not disabled after `after` in id order.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn scan_profiles(&self, after: Option<UserId>, limit: u32) -> Result<Vec<ProfileDoc>>;
    /// Topics after `after` in slug order.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn scan_topics(&self, after: Option<&str>, limit: u32) -> Result<Vec<Topic>>;
    /// How many posts, profiles and topics a rebuild will read (for progress).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn doc_counts(&self) -> Result<[u64; 3]>;
    /// The member and everyone with an accepted connection to them.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn audience(&self, viewer: UserId) -> Result<Vec<UserId>>;
}

/// The multiplier every engine applies to its text relevance (see the module docs).
pub fn boost(engagement: i64, age_days: Option<f64>) -> f64 {
    let engagement = 1.0 + 0.1 * (1.0 + engagement.max(0) as f64).ln();
    let recency = age_days.map_or(1.0, |age| {
        0.5 + 0.5 * (-age.max(0.0) / RECENCY_HALF_LIFE_DAYS).exp2()
    });
    engagement * recency
}

/// A search as a client asks it.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub q: String,
    pub kind: SearchKind,
    pub filters: SearchFilters,
    /// Results to skip: the rank the previous page reached (its cursor).
    pub offset: u32,
    pub limit: Limit,
}

/// A found thing, read as every other endpoint shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Post(Box<Post>),
    Profile(Box<DirectoryEntry>),
    Topic(Topic),
}

/// One result with why it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub found: Found,
    pub score: f32,
    pub highlight: Option<Highlight>,
}

/// The rules of search.
#[derive(Clone)]
pub struct SearchService {
    engine: Arc<dyn SearchEngine>,
    source: Arc<dyn SearchSource>,
    posts: Arc<dyn PostRepo>,
    profiles: Arc<dyn ProfileRepo>,
    cache: Option<Arc<HomeCache>>,
}

impl SearchService {
    pub fn new(
        engine: Arc<dyn SearchEngine>,
        source: Arc<dyn SearchSource>,
        posts: Arc<dyn PostRepo>,
        profiles: Arc<dyn ProfileRepo>,
    ) -> Self {
        Self {
            engine,
            source,
            posts,
            profiles,
            cache: None,
        }
    }

    /// Reads hit posts and the viewer's audience through `cache` (the home feeds' cache, which
    /// holds posts and circles), which checks visibility as the store does.
    pub fn with_cache(mut self, cache: Arc<HomeCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// A page of results, best first. An empty query finds nothing. The next page's cursor
    /// encodes the rank reached; ranks past [`MAX_DEPTH`] are not served.
    pub async fn search(
        &self,
        viewer: Option<&Caller>,
        request: SearchRequest,
    ) -> Result<Page<SearchResult>> {
        let offset = request.offset;
        let terms = analysis::parse_query(&request.q);
        if terms.is_empty() || offset >= MAX_DEPTH {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let audience = match viewer {
            Some(caller) if request.kind == SearchKind::Posts => {
                Audience::Member(match &self.cache {
                    Some(cache) => cache.audience(caller.user_id).await?,
                    None => self.source.audience(caller.user_id).await?,
                })
            }
            _ => Audience::Public,
        };
        let limit = request.limit.get().min(MAX_DEPTH - offset);
        let query = SearchQuery {
            terms,
            kind: request.kind,
            filters: request.filters,
            audience,
            offset,
            limit: limit + 1,
            now: crate::time::now(),
        };
        let mut hits = self.engine.search(&query).await?;
        let has_more = hits.len() > limit as usize && offset + limit < MAX_DEPTH;
        hits.truncate(limit as usize);
        let items = self
            .hydrate(viewer.map(|c| c.user_id), &query.terms, hits)
            .await?;
        Ok(Page {
            items,
            next_cursor: has_more.then(|| Cursor::encode(&(offset + limit))),
        })
    }

    /// Reads every hit as the viewer may see it, in rank order; hits that are gone or hidden
    /// drop out.
    async fn hydrate(
        &self,
        viewer: Option<UserId>,
        terms: &[QueryTerm],
        hits: Vec<(Hit, f32)>,
    ) -> Result<Vec<SearchResult>> {
        let mut posts: Vec<PostId> = Vec::new();
        let mut users: Vec<UserId> = Vec::new();
        let mut slugs: Vec<String> = Vec::new();
        for (hit, _) in &hits {
            match hit {
                Hit::Post(id) => posts.push(*id),
                Hit::Profile(id) => users.push(*id),
                Hit::Topic(slug) => slugs.push(slug.clone()),
            }
        }
        let mut found_posts = match &self.cache {
            _ if posts.is_empty() => Vec::new(),
            Some(cache) => cache.posts(viewer, &posts).await?,
            None => self.posts.posts_by_ids(&posts, viewer).await?,
        };
        let mut found_profiles = if users.is_empty() {
            Vec::new()
        } else if let Some(cache) = &self.cache {
            cache
                .directory_entries(viewer, &users, self.profiles.as_ref())
                .await?
        } else {
            let filter = DirectoryFilter {
                only: Some(users.clone()),
                ..DirectoryFilter::default()
            };
            let limit = Limit::parse(users.len() as u32)?;
            self.profiles
                .directory(&filter, viewer, None, limit)
                .await?
                .items
        };
        let mut found_topics = if slugs.is_empty() {
            Vec::new()
        } else {
            self.source.topic_docs(&slugs).await?
        };
        let mut results = Vec::with_capacity(hits.len());
        for (hit, score) in hits {
            let result = match hit {
                Hit::Post(id) => take(&mut found_posts, |p| p.id == id).map(|post| {
                    let highlight = highlight::highlight(terms, &[("body", post.body.as_str())]);
                    (Found::Post(Box::new(post)), highlight)
                }),
                Hit::Profile(id) => {
                    take(&mut found_profiles, |e| e.card.user.id == id).map(|entry| {
                        let highlight = profile_highlight(terms, &entry);
                        (Found::Profile(Box::new(entry)), highlight)
                    })
                }
                Hit::Topic(slug) => take(&mut found_topics, |t| t.slug == slug).map(|topic| {
                    let highlight = highlight::highlight(
                        terms,
                        &[("name", &topic.name), ("description", &topic.description)],
                    );
                    (Found::Topic(topic), highlight)
                }),
            };
            if let Some((found, highlight)) = result {
                results.push(SearchResult {
                    found,
                    score,
                    highlight,
                });
            }
        }
        Ok(results)
    }
}

fn take<T>(items: &mut Vec<T>, wanted: impl Fn(&T) -> bool) -> Option<T> {
    let at = items.iter().position(wanted)?;
    Some(items.swap_remove(at))
}

fn profile_highlight(terms: &[QueryTerm], entry: &DirectoryEntry) -> Option<Highlight> {
    let card = &entry.card;
    let mut fields: Vec<(&'static str, &str)> =
        vec![("display_name", card.user.display_name.as_str())];
    let optional = [
        ("handle", &card.user.handle),
        ("headline", &card.headline),
        ("company", &card.company),
        ("job_title", &card.job_title),
        ("industry", &card.industry),
        ("city", &card.city),
    ];
    fields.extend(
        optional
            .iter()
            .filter_map(|(name, value)| value.as_deref().map(|v| (*name, v))),
    );
    highlight::highlight(terms, &fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boost_rewards_engagement_and_recency() {
        assert_eq!(boost(0, None), 1.0);
        assert!(boost(100, None) > boost(10, None));
        let fresh = boost(0, Some(0.0));
        let month = boost(0, Some(30.0));
        assert!((fresh - 1.0).abs() < 1e-9 && (month - 0.75).abs() < 1e-9);
    }
}
