//! The outbox events of posts and engagement; the payloads are documented in the table of
//! [`crate::posts`]. Adapters call these inside the transaction of the change they announce.

use serde_json::json;

use crate::enums::{PostType, PostVisibility, ReactionKind, ShareChannel};
use crate::ids::{CommentId, PostId, ShareId, UserId};
use crate::outbox::NewEvent;

pub fn post_created(
    post_id: PostId,
    author_id: UserId,
    post_type: PostType,
    visibility: PostVisibility,
    topics: &[&str],
) -> NewEvent {
    NewEvent::new(
        "post.created",
        "post",
        post_id,
        json!({ "post_id": post_id, "author_id": author_id, "type": post_type, "visibility": visibility, "topics": topics }),
    )
}

pub fn post_updated(post_id: PostId, author_id: UserId, fields: &[&str], by: UserId) -> NewEvent {
    NewEvent::new(
        "post.updated",
        "post",
        post_id,
        json!({ "post_id": post_id, "author_id": author_id, "fields": fields, "updated_by": by }),
    )
}

pub fn post_deleted(post_id: PostId, author_id: UserId, by: UserId) -> NewEvent {
    NewEvent::new(
        "post.deleted",
        "post",
        post_id,
        json!({ "post_id": post_id, "author_id": author_id, "deleted_by": by }),
    )
}

pub fn reaction_set(
    post_id: PostId,
    user_id: UserId,
    kind: ReactionKind,
    previous: Option<ReactionKind>,
) -> NewEvent {
    NewEvent::new(
        "reaction.set",
        "post",
        post_id,
        json!({ "post_id": post_id, "user_id": user_id, "kind": kind, "previous_kind": previous }),
    )
}

pub fn reaction_removed(post_id: PostId, user_id: UserId, kind: ReactionKind) -> NewEvent {
    NewEvent::new(
        "reaction.removed",
        "post",
        post_id,
        json!({ "post_id": post_id, "user_id": user_id, "kind": kind }),
    )
}

pub fn comment_created(
    comment_id: CommentId,
    post_id: PostId,
    parent_id: Option<CommentId>,
    author_id: UserId,
) -> NewEvent {
    NewEvent::new(
        "comment.created",
        "comment",
        comment_id,
        json!({ "comment_id": comment_id, "post_id": post_id, "parent_id": parent_id, "author_id": author_id }),
    )
}

pub fn comment_updated(comment_id: CommentId, post_id: PostId, author_id: UserId) -> NewEvent {
    NewEvent::new(
        "comment.updated",
        "comment",
        comment_id,
        json!({ "comment_id": comment_id, "post_id": post_id, "author_id": author_id }),
    )
}

pub fn comment_deleted(
    comment_id: CommentId,
    post_id: PostId,
    author_id: UserId,
    by: UserId,
) -> NewEvent {
    NewEvent::new(
        "comment.deleted",
        "comment",
        comment_id,
        json!({ "comment_id": comment_id, "post_id": post_id, "author_id": author_id, "deleted_by": by }),
    )
}

pub fn repost_created(post_id: PostId, user_id: UserId, quote: Option<&str>) -> NewEvent {
    NewEvent::new(
        "repost.created",
        "post",
        post_id,
        json!({ "post_id": post_id, "user_id": user_id, "quote": quote }),
    )
}

pub fn repost_removed(post_id: PostId, user_id: UserId) -> NewEvent {
    NewEvent::new(
        "repost.removed",
        "post",
        post_id,
        json!({ "post_id": post_id, "user_id": user_id }),
    )
}

pub fn share_created(
    share_id: ShareId,
    post_id: PostId,
    user_id: UserId,
    channel: ShareChannel,
) -> NewEvent {
    NewEvent::new(
        "share.created",
        "post",
        post_id,
        json!({ "share_id": share_id, "post_id": post_id, "user_id": user_id, "channel": channel }),
    )
}

pub fn bookmark_set(post_id: PostId, user_id: UserId) -> NewEvent {
    NewEvent::new(
        "bookmark.set",
        "post",
        post_id,
        json!({ "post_id": post_id, "user_id": user_id }),
    )
}

pub fn bookmark_removed(post_id: PostId, user_id: UserId) -> NewEvent {
    NewEvent::new(
        "bookmark.removed",
        "post",
        post_id,
        json!({ "post_id": post_id, "user_id": user_id }),
    )
}
