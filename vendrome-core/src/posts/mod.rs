//! Posts: typed posts with topics and visibility, the [`PostRepo`] port and [`PostService`],
//! which decides who may see, edit and delete a post. Engagement (reactions, comments, reposts,
//! shares, bookmarks) is in [`engagement`]; typed payloads are in [`payload`].
//!
//! # Outbox events
//!
//! Every post and engagement change writes one outbox event in its own transaction, built by
//! the functions of [`events`]; the payloads are [`crate::events::DomainEvent`]'s, listed in
//! ARCHITECTURE.md's events table. Bookmarks are private: their events keep the home-feed
//! cache's counts and viewer state right, and the realtime layer forwards none of them to
//! clients.

pub mod engagement;
pub mod events;
pub mod feed;
pub mod home_cache;
pub mod listing;
pub mod media;
pub mod payload;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::access::Caller;
use crate::enums::{PostType, PostVisibility, ReactionKind, UserRole, VerificationLevel};
use crate::ids::{PostId, UserId};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::{Error, Result};

pub use media::{Media, MediaItem};
pub use payload::{Currency, PostPayload};

/// The text of a post: 1 to 5,000 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostBody(String);

impl PostBody {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let body = raw.trim();
        if body.is_empty() {
            return Err(invalid("required", "must not be empty"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(invalid(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if body
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(invalid(
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A topic slug (`#renewable-energy`): 1 to 50 of a-z, 0-9 and `-`, lower-cased, a leading `#`
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicSlug(String);

impl TopicSlug {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let slug = raw.trim().trim_start_matches('#').to_lowercase();
        if slug.is_empty() || slug.len() > Self::MAX_CHARS {
            return Err(invalid(
                "invalid_length",
                format!("must be 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        if !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "invalid_format",
                "may only contain a-z, 0-9 and '-'",
            ));
        }
        Ok(Self(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most [`MAX_TOPICS`] distinct topics, in the order given.
pub const MAX_TOPICS: usize = 10;

/// Parses a topic list under `field`: each slug, at most [`MAX_TOPICS`], duplicates dropped.
///
/// A list over the bound is refused before any slug is looked at, and duplicates are found
/// with a set, so the work is linear in the (bounded) list whatever a client sends.
pub fn parse_topics(raw: &[String], field: &str, errors: &mut ValidationErrors) -> Vec<TopicSlug> {
    if raw.len() > MAX_TOPICS {
        errors.add(field, "too_many", format!("at most {MAX_TOPICS} topics"));
        return Vec::new();
    }
    let mut seen = std::collections::HashSet::with_capacity(raw.len());
    let mut topics: Vec<TopicSlug> = Vec::with_capacity(raw.len());
    for (i, slug) in raw.iter().enumerate() {
        if let Some(slug) = errors.check(&format!("{field}[{i}]"), TopicSlug::parse(slug)) {
            if seen.insert(slug.clone()) {
                topics.push(slug);
            }
        }
    }
    topics
}

/// Who wrote a post or a comment, as every post shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorSummary {
    pub id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub verification_level: VerificationLevel,
}

/// The denormalised engagement counters of a post.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostCounts {
    pub reactions: i64,
    pub comments: i64,
    pub reposts: i64,
    pub shares: i64,
    pub bookmarks: i64,
}

/// The viewer's own engagement with a post (all empty for an anonymous viewer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewerState {
    pub reaction: Option<ReactionKind>,
    pub bookmarked: bool,
    pub reposted: bool,
}

/// A live post as a viewer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: PostId,
    pub author: AuthorSummary,
    pub visibility: PostVisibility,
    pub body: String,
    pub topics: Vec<String>,
    pub payload: PostPayload,
    pub media: Vec<MediaItem>,
    pub counts: PostCounts,
    pub viewer: ViewerState,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub edited_at: Option<Timestamp>,
}

impl Post {
    pub fn post_type(&self) -> PostType {
        self.payload.post_type()
    }
}

/// A post to create; its payload already matches its type.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub author_id: UserId,
    pub body: PostBody,
    pub visibility: PostVisibility,
    pub topics: Vec<TopicSlug>,
    pub payload: PostPayload,
    pub media: Media,
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PostUpdate {
    pub body: Option<PostBody>,
    pub visibility: Option<PostVisibility>,
    pub topics: Option<Vec<TopicSlug>>,
    /// The whole new payload (same type as the post).
    pub payload: Option<PostPayload>,
    /// Replaces the attachments.
    pub media: Option<Media>,
}

impl PostUpdate {
    /// The names of the fields this update sets.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("body", self.body.is_some()),
            ("visibility", self.visibility.is_some()),
            ("topics", self.topics.is_some()),
            ("payload", self.payload.is_some()),
            ("media", self.media.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// An edit as a client sends it: the payload is a partial object merged into the current one.
#[derive(Debug, Clone, Default)]
pub struct PostChanges {
    pub body: Option<PostBody>,
    pub visibility: Option<PostVisibility>,
    pub topics: Option<Vec<TopicSlug>>,
    pub payload: Option<serde_json::Map<String, Value>>,
    pub media: Option<Media>,
}

/// Storage of posts.
#[async_trait]
pub trait PostRepo: Send + Sync {
    /// Stores the post, its payload row, its topics (creating unknown ones) and `post.created`
    /// in one transaction, and returns its id.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails (an unknown
    /// author included: the service passes the caller).
    async fn create_post(&self, new: NewPost) -> Result<PostId>;

    /// The live posts among `ids` that `viewer` may see (public ones, the viewer's own, and
    /// `connections` posts of authors with an accepted connection to the viewer), in the
    /// order of `ids`, with the viewer's own state. Deleted, unknown and hidden ids are left
    /// out. Costs a fixed number of queries whatever the length of `ids`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn posts_by_ids(&self, ids: &[PostId], viewer: Option<UserId>) -> Result<Vec<Post>>;

    /// The live posts among `ids` whatever their visibility, in the order of `ids`, with
    /// `viewer`'s own state (empty without one), in one query (for caches that check
    /// visibility themselves).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn posts_by_ids_unchecked(
        &self,
        ids: &[PostId],
        viewer: Option<UserId>,
    ) -> Result<Vec<Post>>;

    /// `viewer`'s own state for each of `ids` that exists, in one query.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn viewer_states(
        &self,
        viewer: UserId,
        ids: &[PostId],
    ) -> Result<Vec<(PostId, ViewerState)>>;

    /// A live post whatever its visibility (for authorisation checks and edits).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. A deleted or
    /// unknown post is `Ok(None)`.
    async fn post_by_id_unchecked(&self, id: PostId) -> Result<Option<Post>>;

    /// Applies `update` and writes `post.updated` (with `by`) in one transaction.
    /// MUST return [`Error::NotFound`] when the post is unknown or deleted.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn update_post(&self, id: PostId, update: PostUpdate, by: UserId) -> Result<()>;

    /// Soft-deletes the post (its topics' counts drop) and writes `post.deleted`.
    /// MUST return [`Error::NotFound`] when the post is unknown or already deleted.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or already
    /// deleted; [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn delete_post(&self, id: PostId, by: UserId) -> Result<()>;
}

/// Whether `caller` may edit or delete anyone's post.
pub fn is_moderator(caller: &Caller) -> bool {
    matches!(caller.role, UserRole::Moderator | UserRole::Admin)
}

/// The rules for posts.
#[derive(Clone)]
pub struct PostService {
    repo: Arc<dyn PostRepo>,
}

impl PostService {
    pub fn new(repo: Arc<dyn PostRepo>) -> Self {
        Self { repo }
    }

    /// Creates a post by the caller and returns it.
    pub async fn create(
        &self,
        caller: &Caller,
        body: PostBody,
        visibility: PostVisibility,
        topics: Vec<TopicSlug>,
        payload: PostPayload,
        media: Media,
    ) -> Result<Post> {
        let id = self
            .repo
            .create_post(NewPost {
                author_id: caller.user_id,
                body,
                visibility,
                topics,
                payload,
                media,
            })
            .await?;
        self.get(Some(caller), id).await
    }

    /// A post the viewer may see. MUST return [`Error::NotFound`] otherwise.
    pub async fn get(&self, viewer: Option<&Caller>, id: PostId) -> Result<Post> {
        self.repo
            .posts_by_ids(&[id], viewer.map(|c| c.user_id))
            .await?
            .pop()
            .ok_or(Error::not_found("post"))
    }

    /// Posts by id for a viewer, in order; hidden and deleted ones left out.
    pub async fn many(&self, viewer: Option<&Caller>, ids: &[PostId]) -> Result<Vec<Post>> {
        self.repo.posts_by_ids(ids, viewer.map(|c| c.user_id)).await
    }

    /// The post, if the caller may change it: [`Error::NotFound`] when they cannot see it,
    /// [`Error::Forbidden`] `not_author` when it is someone else's and they moderate nothing.
    async fn editable(&self, caller: &Caller, id: PostId) -> Result<Post> {
        // Moderators act on posts they could not otherwise see.
        let post = if is_moderator(caller) {
            self.repo.post_by_id_unchecked(id).await?
        } else {
            self.repo
                .posts_by_ids(&[id], Some(caller.user_id))
                .await?
                .pop()
        }
        .ok_or(Error::not_found("post"))?;
        if post.author.id != caller.user_id && !is_moderator(caller) {
            return Err(Error::forbidden(
                "not_author",
                "only the author or a moderator may change this post",
            ));
        }
        Ok(post)
    }

    /// Edits a post (its author, or a moderator). A payload change is merged into the current
    /// payload and validated as a whole; errors are named `payload.<field>`.
    pub async fn update(&self, caller: &Caller, id: PostId, changes: PostChanges) -> Result<Post> {
        let post = self.editable(caller, id).await?;
        let payload = match changes.payload {
            None => None,
            Some(patch) => {
                let mut fields = post.payload.fields();
                fields.extend(patch);
                Some(PostPayload::parse(
                    post.post_type(),
                    Some(&Value::Object(fields)),
                )?)
            }
        };
        let update = PostUpdate {
            body: changes.body,
            visibility: changes.visibility,
            topics: changes.topics,
            payload,
            media: changes.media,
        };
        if !update.fields().is_empty() {
            self.repo.update_post(id, update, caller.user_id).await?;
        }
        match self.get(Some(caller), id).await {
            Err(Error::NotFound { .. }) if is_moderator(caller) => self
                .repo
                .post_by_id_unchecked(id)
                .await?
                .ok_or(Error::not_found("post")),
            other => other,
        }
    }

    /// Soft-deletes a post (its author, or a moderator).
    pub async fn delete(&self, caller: &Caller, id: PostId) -> Result<()> {
        self.editable(caller, id).await?;
        self.repo.delete_post(id, caller.user_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_normalised_bounded_and_deduplicated() {
        let mut errors = ValidationErrors::new();
        let topics = parse_topics(
            &["#Fintech".into(), "fintech".into(), "agri-tech".into()],
            "topics",
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(
            topics.iter().map(TopicSlug::as_str).collect::<Vec<_>>(),
            ["fintech", "agri-tech"]
        );
        let mut errors = ValidationErrors::new();
        parse_topics(&["no spaces".into()], "topics", &mut errors);
        assert!(errors.fields().contains_key("topics[0]"));
        let mut errors = ValidationErrors::new();
        parse_topics(&vec!["a".to_owned(); 11], "topics", &mut errors);
        assert!(errors.fields().contains_key("topics"));
    }

    #[test]
    fn an_oversized_topic_list_is_refused_before_any_slug_is_parsed() {
        // 100,000 invalid slugs: checking each would name every one of them.
        let raw = vec!["not a slug".to_owned(); 100_000];
        let mut errors = ValidationErrors::new();
        assert!(parse_topics(&raw, "topics", &mut errors).is_empty());
        assert_eq!(
            errors.fields().keys().collect::<Vec<_>>(),
            [&"topics".to_owned()]
        );
    }

    #[test]
    fn body_is_trimmed_and_bounded() {
        assert_eq!(PostBody::parse("  hi ").unwrap().as_str(), "hi");
        assert!(PostBody::parse(" ").is_err());
        assert!(PostBody::parse(&"x".repeat(5001)).is_err());
    }
}
