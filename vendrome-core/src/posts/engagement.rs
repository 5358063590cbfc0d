//! Engagement with posts: reactions, comments, reposts, shares and bookmarks, the
//! [`EngagementRepo`] port and [`EngagementService`].
//!
//! Every counter on `posts` changes in the same transaction as the row it counts, and only
//! when that row really changed, so counts stay exact under concurrent writers. Every action
//! needs a post the caller can see; anything else is [`Error::NotFound`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{is_moderator, AuthorSummary, Post, PostService};
use crate::access::Caller;
use crate::enums::{ReactionKind, ShareChannel};
use crate::ids::{CommentId, PostId, ShareId, UserId};
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::{Error, Result};

/// The text of a comment: 1 to 2,000 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX_CHARS: usize = 2000;

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
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A repost's optional commentary: at most 1,000 characters.
pub fn parse_quote(raw: Option<&str>) -> Result<Option<String>, ValidationErrors> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(q) if q.chars().count() > 1000 => {
            Err(invalid("too_long", "must be at most 1000 characters"))
        }
        Some(q) => Ok(Some(q.to_owned())),
    }
}

/// A live comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: CommentId,
    pub post_id: PostId,
    /// The top-level comment this one answers (one level of replies).
    pub parent_id: Option<CommentId>,
    pub author: AuthorSummary,
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Who reacted to a post, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub user: AuthorSummary,
    pub kind: ReactionKind,
    pub created_at: Timestamp,
}

/// Storage of engagement. Every write method MUST return [`Error::NotFound`] with `post` when
/// the post is unknown or deleted, changes the post's counter only when its row really changed,
/// and writes the outbox event of its change (none for bookmarks) in the same transaction.
#[async_trait]
pub trait EngagementRepo: Send + Sync {
    /// Sets (or changes the kind of) the user's one reaction.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_reaction(&self, post: PostId, user: UserId, kind: ReactionKind) -> Result<()>;
    /// Removes the user's reaction, if any.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn remove_reaction(&self, post: PostId, user: UserId) -> Result<()>;
    /// Who reacted, newest first; `after` is a cursor this method handed out.
    /// MUST return [`Error::Invalid`] for a cursor it did not hand out.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn reactions(
        &self,
        post: PostId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Reaction>>;

    /// Bookmarks the post for the user (again: nothing changes).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_bookmark(&self, post: PostId, user: UserId) -> Result<()>;
    /// Removes the user's bookmark, if any.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn remove_bookmark(&self, post: PostId, user: UserId) -> Result<()>;
    /// The user's bookmarked live posts, newest bookmark first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn bookmarks(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<PostId>>;

    /// Adds a comment. MUST return [`Error::Invalid`] on `parent_id` when the parent is not a
    /// live top-level comment of the same post.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Invalid`](crate::Error::Invalid) (`parent_id`) for a parent that is not a live
    /// top-level comment of the post; [`Error::Unexpected`](crate::Error::Unexpected) when the
    /// storage fails.
    async fn add_comment(
        &self,
        post: PostId,
        author: UserId,
        parent: Option<CommentId>,
        body: CommentBody,
    ) -> Result<Comment>;
    /// A live comment.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. A deleted or
    /// unknown comment is `Ok(None)`.
    async fn comment_by_id(&self, id: CommentId) -> Result<Option<Comment>>;
    /// MUST return [`Error::NotFound`] with `comment` when the comment is not live.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `comment` when the comment is not live;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn update_comment(&self, id: CommentId, body: CommentBody) -> Result<Comment>;
    /// Soft-deletes a comment (the post's count drops). MUST return [`Error::NotFound`] with
    /// `comment` when the comment is not live.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `comment` when the comment is not live;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn delete_comment(&self, id: CommentId, by: UserId) -> Result<()>;
    /// Live comments of a post, oldest first: the top-level ones, or the replies to `parent`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn comments(
        &self,
        post: PostId,
        parent: Option<CommentId>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Comment>>;

    /// Reposts (or changes the quote of the user's repost).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_repost(&self, post: PostId, user: UserId, quote: Option<String>) -> Result<()>;
    /// Removes the user's repost, if any.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn remove_repost(&self, post: PostId, user: UserId) -> Result<()>;
    /// Records a share: once per member, channel and post (a repeat answers the first share's
    /// id and counts nothing). MUST return [`Error::NotFound`] for a post that is not live.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `post` when the post is unknown or deleted;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn add_share(&self, post: PostId, user: UserId, channel: ShareChannel)
        -> Result<ShareId>;
}

/// The rules for engagement: the post must be visible to the caller; comments are changed by
/// their author (and deleted by a moderator too).
#[derive(Clone)]
pub struct EngagementService {
    repo: Arc<dyn EngagementRepo>,
    posts: PostService,
}

impl EngagementService {
    pub fn new(repo: Arc<dyn EngagementRepo>, posts: PostService) -> Self {
        Self { repo, posts }
    }

    async fn visible(&self, caller: Option<&Caller>, post: PostId) -> Result<()> {
        self.posts.get(caller, post).await.map(drop)
    }

    pub async fn react(&self, caller: &Caller, post: PostId, kind: ReactionKind) -> Result<Post> {
        self.visible(Some(caller), post).await?;
        self.repo.set_reaction(post, caller.user_id, kind).await?;
        self.posts.get(Some(caller), post).await
    }

    pub async fn unreact(&self, caller: &Caller, post: PostId) -> Result<Post> {
        self.visible(Some(caller), post).await?;
        self.repo.remove_reaction(post, caller.user_id).await?;
        self.posts.get(Some(caller), post).await
    }

    pub async fn reactions(
        &self,
        viewer: Option<&Caller>,
        post: PostId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Reaction>> {
        self.visible(viewer, post).await?;
        self.repo.reactions(post, after, limit).await
    }

    pub async fn bookmark(&self, caller: &Caller, post: PostId) -> Result<Post> {
        self.visible(Some(caller), post).await?;
        self.repo.set_bookmark(post, caller.user_id).await?;
        self.posts.get(Some(caller), post).await
    }

    pub async fn unbookmark(&self, caller: &Caller, post: PostId) -> Result<Post> {
        self.visible(Some(caller), post).await?;
        self.repo.remove_bookmark(post, caller.user_id).await?;
        self.posts.get(Some(caller), post).await
    }

    /// The caller's bookmarks that they can still see, newest first.
    pub async fn bookmarks(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Post>> {
        let page = self.repo.bookmarks(caller.user_id, after, limit).await?;
        let posts = self.posts.many(Some(caller), &page.items).await?;
        Ok(Page {
            items: posts,
            next_cursor: page.next_cursor,
        })
    }

    pub async fn comment(
        &self,
        caller: &Caller,
        post: PostId,
        parent: Option<CommentId>,
        body: CommentBody,
    ) -> Result<Comment> {
        self.visible(Some(caller), post).await?;
        self.repo
            .add_comment(post, caller.user_id, parent, body)
            .await
    }

    pub async fn comments(
        &self,
        viewer: Option<&Caller>,
        post: PostId,
        parent: Option<CommentId>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Comment>> {
        self.visible(viewer, post).await?;
        self.repo.comments(post, parent, after, limit).await
    }

    /// A live comment on a post the caller can see, or [`Error::NotFound`].
    async fn visible_comment(&self, caller: &Caller, id: CommentId) -> Result<Comment> {
        let comment = self
            .repo
            .comment_by_id(id)
            .await?
            .ok_or(Error::not_found("comment"))?;
        if !is_moderator(caller) {
            self.visible(Some(caller), comment.post_id)
                .await
                .map_err(|_| Error::not_found("comment"))?;
        }
        Ok(comment)
    }

    /// Edits the caller's own comment. MUST return [`Error::Forbidden`] `not_author` otherwise.
    pub async fn edit_comment(
        &self,
        caller: &Caller,
        id: CommentId,
        body: CommentBody,
    ) -> Result<Comment> {
        let comment = self.visible_comment(caller, id).await?;
        if comment.author.id != caller.user_id {
            return Err(Error::forbidden(
                "not_author",
                "only the author may edit this comment",
            ));
        }
        self.repo.update_comment(id, body).await
    }

    /// Deletes a comment: its author or a moderator. MUST return [`Error::Forbidden`]
    /// `not_author` otherwise.
    pub async fn delete_comment(&self, caller: &Caller, id: CommentId) -> Result<()> {
        let comment = self.visible_comment(caller, id).await?;
        if comment.author.id != caller.user_id && !is_moderator(caller) {
            return Err(Error::forbidden(
                "not_author",
                "only the author may delete this comment",
            ));
        }
        self.repo.delete_comment(id, caller.user_id).await
    }

    pub async fn repost(
        &self,
        caller: &Caller,
        post: PostId,
        quote: Option<String>,
    ) -> Result<Post> {
        self.visible(Some(caller), post).await?;
        self.repo.set_repost(post, caller.user_id, quote).await?;
        self.posts.get(Some(caller), post).await
    }

    pub async fn unrepost(&self, caller: &Caller, post: PostId) -> Result<Post> {
        self.visible(Some(caller), post).await?;
        self.repo.remove_repost(post, caller.user_id).await?;
        self.posts.get(Some(caller), post).await
    }

    pub async fn share(
        &self,
        caller: &Caller,
        post: PostId,
        channel: ShareChannel,
    ) -> Result<ShareId> {
        self.visible(Some(caller), post).await?;
        self.repo.add_share(post, caller.user_id, channel).await
    }
}
