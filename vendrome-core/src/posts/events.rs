//! Constructors of the post and engagement [`DomainEvent`]s (listed in ARCHITECTURE.md's events
//! table). Adapters call these inside the transaction of the change they announce.

use crate::enums::{PostType, PostVisibility, ReactionKind, ShareChannel};
use crate::events::{
    CommentCreated, CommentDeleted, CommentUpdated, DomainEvent, PostCreated, PostDeleted,
    PostUpdated, ReactionRemoved, ReactionSet, RepostCreated, ShareCreated, UserOnPost,
};
use crate::ids::{CommentId, PostId, ShareId, UserId};
use crate::outbox::NewEvent;

fn names(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

pub fn post_created(
    post_id: PostId,
    author_id: UserId,
    post_type: PostType,
    visibility: PostVisibility,
    topics: &[&str],
) -> NewEvent {
    NewEvent::new(DomainEvent::PostCreated(PostCreated {
        post_id,
        author_id,
        post_type,
        visibility,
        topics: names(topics),
    }))
}

pub fn post_updated(post_id: PostId, author_id: UserId, fields: &[&str], by: UserId) -> NewEvent {
    NewEvent::new(DomainEvent::PostUpdated(PostUpdated {
        post_id,
        author_id,
        fields: names(fields),
        updated_by: by,
    }))
}

pub fn post_deleted(post_id: PostId, author_id: UserId, by: UserId) -> NewEvent {
    NewEvent::new(DomainEvent::PostDeleted(PostDeleted {
        post_id,
        author_id,
        deleted_by: by,
    }))
}

pub fn reaction_set(
    post_id: PostId,
    user_id: UserId,
    kind: ReactionKind,
    previous: Option<ReactionKind>,
) -> NewEvent {
    NewEvent::new(DomainEvent::ReactionSet(ReactionSet {
        post_id,
        user_id,
        kind,
        previous_kind: previous,
    }))
}

pub fn reaction_removed(post_id: PostId, user_id: UserId, kind: ReactionKind) -> NewEvent {
    NewEvent::new(DomainEvent::ReactionRemoved(ReactionRemoved {
        post_id,
        user_id,
        kind,
    }))
}

pub fn comment_created(
    comment_id: CommentId,
    post_id: PostId,
    parent_id: Option<CommentId>,
    author_id: UserId,
) -> NewEvent {
    NewEvent::new(DomainEvent::CommentCreated(CommentCreated {
        comment_id,
        post_id,
        parent_id,
        author_id,
    }))
}

pub fn comment_updated(comment_id: CommentId, post_id: PostId, author_id: UserId) -> NewEvent {
    NewEvent::new(DomainEvent::CommentUpdated(CommentUpdated {
        comment_id,
        post_id,
        author_id,
    }))
}

pub fn comment_deleted(
    comment_id: CommentId,
    post_id: PostId,
    author_id: UserId,
    by: UserId,
) -> NewEvent {
    NewEvent::new(DomainEvent::CommentDeleted(CommentDeleted {
        comment_id,
        post_id,
        author_id,
        deleted_by: by,
    }))
}

pub fn repost_created(post_id: PostId, user_id: UserId, quote: Option<&str>) -> NewEvent {
    NewEvent::new(DomainEvent::RepostCreated(RepostCreated {
        post_id,
        user_id,
        quote: quote.map(str::to_owned),
    }))
}

pub fn repost_removed(post_id: PostId, user_id: UserId) -> NewEvent {
    NewEvent::new(DomainEvent::RepostRemoved(UserOnPost { post_id, user_id }))
}

pub fn share_created(
    share_id: ShareId,
    post_id: PostId,
    user_id: UserId,
    channel: ShareChannel,
) -> NewEvent {
    NewEvent::new(DomainEvent::ShareCreated(ShareCreated {
        share_id,
        post_id,
        user_id,
        channel,
    }))
}

pub fn bookmark_set(post_id: PostId, user_id: UserId) -> NewEvent {
    NewEvent::new(DomainEvent::BookmarkSet(UserOnPost { post_id, user_id }))
}

pub fn bookmark_removed(post_id: PostId, user_id: UserId) -> NewEvent {
    NewEvent::new(DomainEvent::BookmarkRemoved(UserOnPost {
        post_id,
        user_id,
    }))
}
