//! Payloads of the post and engagement events.

use serde::{Deserialize, Serialize};

use super::about;
use crate::enums::{PostType, PostVisibility, ReactionKind, ShareChannel};
use crate::ids::{CommentId, PostId, ShareId, UserId};

/// `post.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostCreated {
    pub post_id: PostId,
    pub author_id: UserId,
    #[serde(rename = "type")]
    pub post_type: PostType,
    pub visibility: PostVisibility,
    /// Slugs.
    pub topics: Vec<String>,
}

/// `post.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostUpdated {
    pub post_id: PostId,
    pub author_id: UserId,
    /// Names of the changed fields (`body`, `visibility`, `topics`, …).
    pub fields: Vec<String>,
    pub updated_by: UserId,
}

/// `post.deleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostDeleted {
    pub post_id: PostId,
    pub author_id: UserId,
    pub deleted_by: UserId,
}

/// `reaction.set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionSet {
    pub post_id: PostId,
    pub user_id: UserId,
    pub kind: ReactionKind,
    /// `None` for a new reaction.
    pub previous_kind: Option<ReactionKind>,
}

/// `reaction.removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionRemoved {
    pub post_id: PostId,
    pub user_id: UserId,
    pub kind: ReactionKind,
}

/// `comment.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentCreated {
    pub comment_id: CommentId,
    pub post_id: PostId,
    pub parent_id: Option<CommentId>,
    pub author_id: UserId,
}

/// `comment.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentUpdated {
    pub comment_id: CommentId,
    pub post_id: PostId,
    pub author_id: UserId,
}

/// `comment.deleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentDeleted {
    pub comment_id: CommentId,
    pub post_id: PostId,
    pub author_id: UserId,
    pub deleted_by: UserId,
}

/// `repost.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepostCreated {
    pub post_id: PostId,
    pub user_id: UserId,
    pub quote: Option<String>,
}

/// A member's private mark on a post, set or removed: `repost.removed`, `bookmark.set`,
/// `bookmark.removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserOnPost {
    pub post_id: PostId,
    pub user_id: UserId,
}

/// `share.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareCreated {
    pub share_id: ShareId,
    pub post_id: PostId,
    pub user_id: UserId,
    pub channel: ShareChannel,
}

about!("post" by post_id:
    PostCreated,
    PostUpdated,
    PostDeleted,
    ReactionSet,
    ReactionRemoved,
    RepostCreated,
    UserOnPost,
    ShareCreated,
);
about!("comment" by comment_id: CommentCreated, CommentUpdated, CommentDeleted);
